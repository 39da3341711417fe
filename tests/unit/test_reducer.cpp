// The bucketed reducer over a real gloo process group: two ranks as two threads sharing an
// in-process store.
#include <catch2/catch.hpp>

#include <thread>

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include "dist/Communicator.h"
#include "dist/GradientReducer.h"

namespace {
class GlooPair : public bolt::dist::Communicator {
 public:
  GlooPair(c10::intrusive_ptr<c10d::Store> store, int rank) : rank_(rank) {
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(30));
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, 2, options);
  }
  int64_t rank() const override { return rank_; }
  int64_t size() const override { return 2; }
  const char* backend() const override { return "gloo"; }
  struct Pending : bolt::dist::PendingWork {
    c10::intrusive_ptr<c10d::Work> work;
    void wait() override { work->wait(); }
  };
  std::unique_ptr<bolt::dist::PendingWork> allreduce_sum_async(at::Tensor& t, std::string_view) override {
    std::vector<at::Tensor> v{t};
    auto p = std::make_unique<Pending>();
    p->work = group_->allreduce(v);
    return p;
  }
  void broadcast(at::Tensor&, int64_t, std::string_view) override {}
  void barrier(std::string_view) override {}
  void store_set(const std::string&, const std::string&) override {}
  std::string store_get(const std::string&) override { return {}; }

 private:
  int rank_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};
}  // namespace

TEST_CASE("bucketed reducer leaves the mean of both ranks' gradients, with several buckets", "[dist]") {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<at::Tensor> grads[2];
  std::vector<at::Tensor> inputs = {at::randn({8, 6}), at::randn({8, 6})};
  size_t buckets = 0;
  double side_means[2][2] = {};
  // Built before the threads start: the global generator must not be shared by racing seeds.
  std::vector<torch::nn::Sequential> nets;
  for (int rank = 0; rank < 2; ++rank) {
    torch::manual_seed(0);  // same weights on both ranks
    nets.emplace_back(torch::nn::Linear(6, 5), torch::nn::Linear(5, 3), torch::nn::Linear(3, 1));
  }
  auto run = [&](int rank) {
    auto& net = nets[static_cast<std::size_t>(rank)];
    GlooPair comm(store, rank);
    bolt::dist::BucketedGradientReducer reducer(net->parameters(), comm, /*bucket_bytes=*/64);
    if (rank == 0) buckets = reducer.num_buckets();
    for (int step = 0; step < 2; ++step) {
      for (auto& p : net->parameters()) p.mutable_grad() = at::Tensor();
      reducer.set_side_value(rank == 1 && step == 1 ? 1.0 : 0.0);  // rank 1 raises a flag in step 2
      net->forward(inputs[rank]).sum().backward();
      reducer.finalize();
      side_means[rank][step] = reducer.side_mean().item<double>();
    }
    for (auto& p : net->parameters()) grads[rank].push_back(p.grad().clone());
  };
  std::thread other(run, 1);
  run(0);
  other.join();
  CHECK(buckets >= 3);
  // The side value rides on the last bucket: both ranks see the same mean, step by step.
  CHECK(side_means[0][0] == 0.0);
  CHECK(side_means[1][0] == 0.0);
  CHECK(side_means[0][1] == 0.5);
  CHECK(side_means[1][1] == 0.5);

  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(6, 5), torch::nn::Linear(5, 3), torch::nn::Linear(3, 1));
  (net->forward(inputs[0]).sum() + net->forward(inputs[1]).sum()).div(2).backward();
  auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CHECK(at::allclose(grads[0][i], params[i].grad(), 1e-5, 1e-6));
    CHECK(at::equal(grads[0][i], grads[1][i]));
  }
}

TEST_CASE("accumulation: no allreduce on intermediate micro-batches, the mean of all of them after the last", "[dist]") {
  auto store = c10::make_intrusive<c10d::HashStore>();
  // inputs[rank][micro]
  std::vector<std::vector<at::Tensor>> inputs(2);
  for (auto& per_rank : inputs) per_rank = {at::randn({4, 6}), at::randn({4, 6}), at::randn({4, 6})};
  std::vector<at::Tensor> grads[2];
  int64_t allreduces[2][2] = {};
  std::vector<torch::nn::Sequential> nets;
  for (int rank = 0; rank < 2; ++rank) {
    torch::manual_seed(0);
    nets.emplace_back(torch::nn::Linear(6, 5), torch::nn::Linear(5, 1));
  }
  auto run = [&](int rank) {
    auto& net = nets[static_cast<std::size_t>(rank)];
    GlooPair comm(store, rank);
    bolt::dist::BucketedGradientReducer reducer(net->parameters(), comm, /*bucket_bytes=*/1 << 20);
    for (int micro = 0; micro < 3; ++micro) {
      const bool last = micro == 2;
      reducer.set_sync(last, micro > 0);
      net->forward(inputs[rank][micro]).sum().backward();
      if (micro == 1) allreduces[rank][0] = reducer.allreduces();
    }
    reducer.finalize();
    allreduces[rank][1] = reducer.allreduces();
    for (auto& p : net->parameters()) grads[rank].push_back(p.grad().clone());
  };
  std::thread other(run, 1);
  run(0);
  other.join();
  CHECK(allreduces[0][0] == 0);  // nothing sent while accumulating
  CHECK(allreduces[0][1] == 1);  // one bucket, once
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(6, 5), torch::nn::Linear(5, 1));
  at::Tensor total = at::zeros({});
  for (int rank = 0; rank < 2; ++rank) {
    for (const auto& x : inputs[rank]) total = total + net->forward(x).sum();
  }
  total.div(2).backward();
  auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    CHECK(at::allclose(grads[0][i], params[i].grad(), 1e-5, 1e-6));
    CHECK(at::equal(grads[0][i], grads[1][i]));
  }
}

TEST_CASE("gradients live in their buckets: optimizer steps with zero_grad and accumulation train as one process would", "[dist]") {
  auto store = c10::make_intrusive<c10d::HashStore>();
  // Micro-batches per step: 1, then 2 (the first one accumulates into the bucket without a
  // sync), then 1.
  const std::vector<int> micro_batches = {1, 2, 1};
  std::vector<std::vector<at::Tensor>> inputs(2);  // inputs[rank][k], k over all micro-batches
  for (auto& per_rank : inputs) {
    for (int k = 0; k < 4; ++k) per_rank.push_back(at::randn({4, 6}));
  }
  std::vector<torch::nn::Sequential> nets;
  for (int rank = 0; rank < 2; ++rank) {
    torch::manual_seed(0);
    nets.emplace_back(torch::nn::Linear(6, 5), torch::nn::Linear(5, 1));
  }
  bool grads_in_bucket[2] = {};
  auto run = [&](int rank) {
    auto& net = nets[static_cast<std::size_t>(rank)];
    GlooPair comm(store, rank);
    bolt::dist::BucketedGradientReducer reducer(net->parameters(), comm, /*bucket_bytes=*/1 << 20);
    torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
    std::vector<void*> first_grads;
    int k = 0;
    for (int micro : micro_batches) {
      sgd.zero_grad();
      for (int m = 0; m < micro; ++m) {
        reducer.set_sync(m == micro - 1, m > 0);
        net->forward(inputs[rank][k++]).sum().backward();
      }
      reducer.finalize();
      if (first_grads.empty()) {
        for (auto& p : net->parameters()) first_grads.push_back(p.grad().data_ptr());
      }
      sgd.step();
    }
    // One bucket: every .grad is a part of it, the same memory from step to step.
    std::vector<void*> last_grads;
    bool one_bucket = true;
    for (auto& p : net->parameters()) {
      last_grads.push_back(p.grad().data_ptr());
      one_bucket = one_bucket && p.grad().is_alias_of(net->parameters().front().grad());
    }
    grads_in_bucket[rank] = one_bucket && last_grads == first_grads;
  };
  std::thread other(run, 1);
  run(0);
  other.join();

  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Linear(6, 5), torch::nn::Linear(5, 1));
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(0.1));
  int k = 0;
  for (int micro : micro_batches) {
    sgd.zero_grad();
    at::Tensor total = at::zeros({});
    for (int m = 0; m < micro; ++m, ++k) {
      for (int rank = 0; rank < 2; ++rank) total = total + net->forward(inputs[rank][k]).sum();
    }
    total.div(2).backward();
    sgd.step();
  }
  auto expected = net->parameters();
  for (int rank = 0; rank < 2; ++rank) {
    auto params = nets[static_cast<std::size_t>(rank)]->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) CHECK(at::allclose(params[i], expected[i], 1e-5, 1e-6));
  }
  CHECK(grads_in_bucket[0]);
  CHECK(grads_in_bucket[1]);
}
