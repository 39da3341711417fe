#pragma once
// Averages gradients over ranks (flashlight's Reducer shape): gradients are added as autograd
// produces them, finalize() runs before the optimizer step and leaves every parameter's
// .grad equal to the mean over ranks, as a part of its bucket (no copy back; the next backward
// accumulates there).
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "Communicator.h"

namespace bolt::dist {

class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual void finalize() = 0;
  // One number that travels with a step's gradients, at no extra collective: set it before
  // the step's backward; after finalize() side_mean() holds its mean over ranks (a 1-element
  // tensor on the gradients' device, read only when needed: on CUDA reading synchronises).
  // The trainer agrees on stopping for a requeue through it.
  virtual void set_side_value(double value) = 0;
  virtual at::Tensor side_mean() const = 0;
  // Gradient accumulation (PyTorch's no_sync): with sync false, backward only accumulates
  // into .grad locally and nothing is sent; with `accumulated` true, the next synchronised
  // backward adds what .grad holds from earlier micro-batches before averaging.
  virtual void set_sync(bool sync, bool accumulated) = 0;
  // Collectives launched so far (tests count them).
  virtual int64_t allreduces() const = 0;
  // Seconds finalize() spent waiting for collectives to complete: what DDP costs beyond
  // compute, overlapped communication excluded.
  virtual double wait_seconds() const = 0;
};

// Packs gradients into flat buckets of about `bucket_bytes` (in reverse parameter order, the
// order backward produces them) and starts each bucket's allreduce as soon as it is full,
// while backward is still running. Buckets launch in index order on every rank, as the
// collectives must match across ranks. The last bucket carries the side value.
class BucketedGradientReducer : public GradientReducer {
 public:
  BucketedGradientReducer(std::vector<at::Tensor> parameters, Communicator& comm,
                          int64_t bucket_bytes);
  ~BucketedGradientReducer() override;
  void finalize() override;
  void set_side_value(double value) override { side_value_ = value; }
  at::Tensor side_mean() const override;
  void set_sync(bool sync, bool accumulated) override {
    sync_ = sync;
    accumulated_ = accumulated;
  }
  int64_t allreduces() const override { return allreduces_; }
  double wait_seconds() const override { return wait_seconds_; }
  std::size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Slot {
    std::size_t bucket;
    std::size_t entry;  // position in the bucket's params
    int64_t offset;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<std::size_t> params;
    std::vector<bool> filled;  // per entry of params
    std::size_t pending = 0;
    std::unique_ptr<PendingWork> work;
    std::string purpose;  // "gradient bucket 2/3", for diagnoses
  };
  void on_gradient(std::size_t param, const at::Tensor& grad);
  at::Tensor region(std::size_t param) const;   // this parameter's part of its bucket, in its shape
  bool grad_in_bucket(std::size_t param) const;  // .grad is that part
  void launch_ready();
  void launch(Bucket& bucket);

  std::vector<at::Tensor> parameters_;
  Communicator& comm_;
  std::vector<Slot> slots_;
  std::vector<unsigned> hooks_;
  std::vector<Bucket> buckets_;
  std::size_t next_to_launch_ = 0;
  std::optional<std::size_t> awaiting_accumulation_;  // a bucket whose last gradient autograd has yet to add
  double side_value_ = 0;
  bool sync_ = true;
  bool accumulated_ = false;
  int64_t allreduces_ = 0;
  double wait_seconds_ = 0;
  int64_t side_offset_ = 0;  // the side value's place: one element past the last bucket's gradients
};

}  // namespace bolt::dist
