#pragma once
// What the trainer needs from a process group, independent of the c10d version and backend
// (c10d's classes moved between libtorch 1.13 and 2.x; only this folder sees them).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include "bolt/WorkerEnvironment.h"

namespace bolt::dist {

class PendingWork {
 public:
  virtual ~PendingWork() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t size() const = 0;
  virtual const char* backend() const = 0;
  // Sums `tensor` over ranks in place; the work runs on the backend's threads. `purpose`
  // names the collective in diagnoses ("gradient bucket 2/3"); every rank passes the same.
  virtual std::unique_ptr<PendingWork> allreduce_sum_async(at::Tensor& tensor, std::string_view purpose) = 0;
  void allreduce_sum(at::Tensor& tensor, std::string_view purpose) { allreduce_sum_async(tensor, purpose)->wait(); }
  // The mean over ranks, in place (floating-point tensors): each rank's tensor divided by the
  // world size, then summed. A backend may fold the division into its reduction.
  virtual std::unique_ptr<PendingWork> allreduce_mean_async(at::Tensor& tensor, std::string_view purpose) {
    tensor.div_(static_cast<double>(size()));
    return allreduce_sum_async(tensor, purpose);
  }
  virtual void broadcast(at::Tensor& tensor, int64_t root, std::string_view purpose) = 0;
  virtual void barrier(std::string_view purpose) = 0;
  // The rendezvous store: small values all ranks must agree on.
  virtual void store_set(const std::string& key, const std::string& value) = 0;
  virtual std::string store_get(const std::string& key) = 0;
};

// The rendezvous store alone (rank 0 hosts it): bolt-launch --check compares what the ranks
// believe the job is before any of them joins a process group, then joins through it.
class Rendezvous {
 public:
  struct Store;
  explicit Rendezvous(std::unique_ptr<Store> store);
  ~Rendezvous();
  Rendezvous(const Rendezvous&) = delete;
  Rendezvous& operator=(const Rendezvous&) = delete;
  void set(const std::string& key, const std::string& value);
  std::string get(const std::string& key);  // waits for the key up to the store's timeout
  bool has(const std::string& key);          // without waiting
  int64_t add(const std::string& key, int64_t delta);
  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};
std::unique_ptr<Rendezvous> open_rendezvous(const WorkerEnvironment& env, std::chrono::seconds timeout);
std::unique_ptr<Communicator> connect(const WorkerEnvironment& env, const c10::Device& device,
                                      const std::string& backend, Rendezvous& rendezvous,
                                      std::chrono::seconds collective_timeout);

// Joins the process group described by `env` (rank 0 hosts the TCP store): gloo for CPU
// devices, NCCL for CUDA ones where the found libtorch has it. `backend` is "auto", "gloo"
// or "nccl". `timeout` bounds the rendezvous, `collective_timeout` each collective. Throws
// DistributedError with the address and what to check.
std::unique_ptr<Communicator> connect(const WorkerEnvironment& env, const c10::Device& device,
                                      const std::string& backend, std::chrono::seconds timeout,
                                      std::chrono::seconds collective_timeout);

// Replaces every tensor with rank 0's values (one flat broadcast per dtype and device).
void broadcast_from_rank0(Communicator& comm, const std::vector<at::Tensor>& tensors, std::string_view purpose);

}  // namespace bolt::dist
