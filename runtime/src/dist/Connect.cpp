#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/version.h>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "../util/ErrorText.h"
#include "BoltStore.h"
#include "Communicator.h"
#include "ShmCommunicator.h"
#include "StoreValues.h"
#include "bolt/Error.h"

namespace bolt::dist {

namespace {

class WorkHandle : public PendingWork {
 public:
  explicit WorkHandle(c10::intrusive_ptr<c10d::Work> work) : work_(std::move(work)) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      throw PeerFailureError(fmt::format("collective failed (a peer rank probably died): {}",
                                         first_line(e.what())));
    }
  }

 private:
  c10::intrusive_ptr<c10d::Work> work_;
};

template <class Group>
class C10dCommunicator : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Group> group,
                   int64_t rank, int64_t size, const char* backend, c10::Device device)
      : store_(std::move(store)), group_(std::move(group)), rank_(rank), size_(size),
        backend_(backend), device_(device) {}

  int64_t rank() const override { return rank_; }
  int64_t size() const override { return size_; }
  const char* backend() const override { return backend_; }

  std::unique_ptr<PendingWork> allreduce_sum_async(at::Tensor& tensor, std::string_view) override {
    std::vector<at::Tensor> tensors{tensor};
    return std::make_unique<WorkHandle>(group_->allreduce(tensors));
  }

  void broadcast(at::Tensor& tensor, int64_t root, std::string_view) override {
    std::vector<at::Tensor> tensors{tensor};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    WorkHandle(group_->broadcast(tensors, options)).wait();
  }

  void barrier(std::string_view purpose) override {
    auto token = at::zeros({1}, at::TensorOptions().device(device_));
    allreduce_sum(token, purpose);
  }

  void store_set(const std::string& key, const std::string& value) override {
    set_store_value(*store_, key, value);
  }
  std::string store_get(const std::string& key) override { return get_store_value(*store_, key); }

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Group> group_;
  int64_t rank_, size_;
  const char* backend_;
  c10::Device device_;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Rank 0 serves the store where the plan puts the master; every rank (rank 0 too) connects.
c10::intrusive_ptr<c10d::Store> make_store(const WorkerEnvironment& env, std::chrono::seconds timeout) {
  std::shared_ptr<StoreServer> server;
  if (env.rank == 0) {
    const bool spans_nodes = env.nnodes > 1 || env.world_size > env.local_world_size;
    server = std::make_shared<StoreServer>(env.master_addr, static_cast<int>(env.master_port), spans_nodes);
  }
  return c10::make_intrusive<BoltStore>(server, env.master_addr, server ? server->port() : static_cast<int>(env.master_port),
                                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const WorkerEnvironment& env) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME")) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(env.master_addr)) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<c10d::ProcessGroupGloo> make_gloo_group(c10::intrusive_ptr<c10d::Store> store,
                                                           int rank, int size,
                                                           const WorkerEnvironment& env,
                                                           std::chrono::seconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  options->devices.push_back(gloo_device(env));
  return c10::make_intrusive<c10d::ProcessGroupGloo>(std::move(store), rank, size, options);
}

std::string choose_backend(const WorkerEnvironment& env, const c10::Device& device,
                           const std::string& backend) {
  if (backend == "auto") {
    if (device.is_cuda()) return "nccl";
    // Shared memory wins wherever ranks share a node (scripts/bench/ddp.sh).
    return env.local_world_size > 1 && shm_layout_supported(env) ? "shm" : "gloo";
  }
  if (backend == "nccl" && !device.is_cuda()) {
    throw ConfigError("trainer.dist_backend nccl needs a CUDA device (trainer.device cuda:N)");
  }
  if (backend == "shm" && !device.is_cpu()) {
    throw ConfigError(
        "trainer.dist_backend shm reduces in host memory: it needs trainer.device cpu (use nccl "
        "or auto on CUDA)");
  }
  if (backend == "shm" && !shm_layout_supported(env)) {
    throw ConfigError(fmt::format(
        "trainer.dist_backend shm needs the same number of ranks on every node, numbered node "
        "by node (this rank: rank {} of {}, local rank {} of {}, node {} of {}); use gloo",
        env.rank, env.world_size, env.local_rank, env.local_world_size, env.node_rank, env.nnodes));
  }
  return backend;
}

std::unique_ptr<Communicator> join(const WorkerEnvironment& env, const c10::Device& device,
                                   const std::string& chosen, c10::intrusive_ptr<c10d::Store> store,
                                   std::chrono::seconds timeout) {
  // `timeout` here: the collectives' (the store keeps the rendezvous timeout).
  if (chosen == "gloo") {
    auto group = make_gloo_group(store, static_cast<int>(env.rank), static_cast<int>(env.world_size),
                                 env, timeout);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(
        store, group, env.rank, env.world_size, "gloo", c10::Device(c10::kCPU));
  }
  if (chosen == "shm") {
    // Between nodes: one gloo group per local rank, of the ranks with that local rank.
    c10::intrusive_ptr<c10d::ProcessGroupGloo> between_nodes;
    if (env.nnodes > 1) {
      auto prefixed = c10::make_intrusive<c10d::PrefixStore>(
          fmt::format("bolt/shm/between/{}", env.local_rank), store);
      between_nodes = make_gloo_group(prefixed, static_cast<int>(env.node_rank),
                                      static_cast<int>(env.nnodes), env, timeout);
    }
    return make_shm_communicator(env, store, between_nodes, timeout);
  }
#ifdef USE_C10D_NCCL
  if (chosen == "nccl") {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
        store, static_cast<int>(env.rank), static_cast<int>(env.world_size), options);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(
        store, group, env.rank, env.world_size, "nccl", device);
  }
#endif
  return nullptr;
}

}  // namespace

struct Rendezvous::Store {
  c10::intrusive_ptr<c10d::Store> store;
};

Rendezvous::Rendezvous(std::unique_ptr<Store> store) : store_(std::move(store)) {}
Rendezvous::~Rendezvous() = default;
void Rendezvous::set(const std::string& key, const std::string& value) { set_store_value(*store_->store, key, value); }
std::string Rendezvous::get(const std::string& key) { return get_store_value(*store_->store, key); }
bool Rendezvous::has(const std::string& key) { return store_->store->check({key}); }
int64_t Rendezvous::add(const std::string& key, int64_t delta) { return store_->store->add(key, delta); }

std::unique_ptr<Rendezvous> open_rendezvous(const WorkerEnvironment& env, std::chrono::seconds timeout) {
  return std::make_unique<Rendezvous>(std::make_unique<Rendezvous::Store>(Rendezvous::Store{make_store(env, timeout)}));
}

std::unique_ptr<Communicator> connect(const WorkerEnvironment& env, const c10::Device& device,
                                      const std::string& backend, Rendezvous& rendezvous,
                                      std::chrono::seconds collective_timeout) {
  const std::string chosen = choose_backend(env, device, backend);
  auto store = rendezvous.store().store;
  try {
    if (auto comm = join(env, device, chosen, store, collective_timeout)) return comm;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(fmt::format("cannot join the {} process group via {}:{}: {}", chosen,
                                       env.master_addr, env.master_port, first_line(e.what())));
  }
  throw ConfigError(fmt::format(
      "trainer.dist_backend '{}' is not available in this build (libtorch {} has: gloo, shm{})",
      chosen, TORCH_VERSION,
#ifdef USE_C10D_NCCL
      ", nccl"
#else
      ""
#endif
      ));
}

std::unique_ptr<Communicator> connect(const WorkerEnvironment& env, const c10::Device& device,
                                      const std::string& backend, std::chrono::seconds timeout,
                                      std::chrono::seconds collective_timeout) {
  (void)choose_backend(env, device, backend);  // a config error before anything connects
  auto rendezvous = open_rendezvous(env, timeout);
  return connect(env, device, backend, *rendezvous, collective_timeout);
}

void broadcast_from_rank0(Communicator& comm, const std::vector<at::Tensor>& tensors, std::string_view purpose) {
  // Group by (dtype, device) so each group travels as one flat buffer.
  std::vector<std::vector<at::Tensor>> groups;
  for (const auto& t : tensors) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return g.front().scalar_type() == t.scalar_type() && g.front().device() == t.device();
    });
    if (it == groups.end()) {
      groups.push_back({t});
    } else {
      it->push_back(t);
    }
  }
  at::NoGradGuard no_grad;
  for (auto& group : groups) {
    std::vector<at::Tensor> flat_parts;
    for (const auto& t : group) flat_parts.push_back(t.detach().reshape({-1}));
    auto flat = at::cat(flat_parts);
    comm.broadcast(flat, 0, purpose);
    int64_t offset = 0;
    for (auto& t : group) {
      const auto n = t.numel();
      t.detach().copy_(flat.narrow(0, offset, n).view_as(t));
      offset += n;
    }
  }
}

}  // namespace bolt::dist
