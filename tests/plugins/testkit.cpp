// Test plugin: a synthetic regression data set, a small MLP, and a model that fails on
// purpose (throws, or SIGKILLs itself) at a chosen step on a chosen rank.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include "bolt/Plugin.h"
#include "bolt/Schedules.h"

namespace testkit {

// y = x·w + 0.1·noise, from a fixed generator so every rank and run sees the same data.
class SyntheticRegression : public bolt::DataModule {
 public:
  explicit SyntheticRegression(const bolt::Config& config) : bolt::DataModule(config) {}
  // The model's input width is the data's: set once, under data.
  nlohmann::json link_to_model() const override { return {{"features", config().get_int("features")}}; }
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("features", 16, "input features", 1)
        .add_int("train_size", 640, "training samples", 1)
        .add_int("val_size", 333, "validation samples (0: split off train)", 0)
        .add_int("test_size", 101, "test samples", 1);
  }
  bolt::DatasetSplits setup_dataset() override {
    const auto features = config().get_int("features");
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1234);
    const auto weights = at::randn({features, 1}, generator);
    auto make = [&](int64_t n) {
      auto x = at::randn({n, features}, generator);
      auto y = x.matmul(weights) + 0.1 * at::randn({n, 1}, generator);
      return std::make_shared<bolt::TensorDataset>(x, y);
    };
    bolt::DatasetSplits splits;
    splits.train = make(config().get_int("train_size"));
    if (config().get_int("val_size") > 0) splits.val = make(config().get_int("val_size"));
    splits.test = make(config().get_int("test_size"));
    return splits;
  }
};

class Mlp : public bolt::Module {
 public:
  explicit Mlp(const bolt::Config& config) : config_(config) {
    fc1_ = register_module("fc1", torch::nn::Linear(config.get_int("features"), config.get_int("hidden")));
    fc2_ = register_module("fc2", torch::nn::Linear(config.get_int("hidden"), 1));
  }
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("features", 16, "input features", 1)
        .add_int("hidden", 32, "hidden units", 1)
        .add_float("lr", 0.05, "SGD learning rate", 0.0)
        .add_float("momentum", 0.9, "SGD momentum", 0.0)
        .add_int("fail_step", -1,
                 "training step (counted in this process) at which fail_rank fails, in the first "
                 "attempt only (BOLT_RESTART_COUNT unset or 0); -1: never")
        .add_int("fail_rank", 1, "rank that fails", 0)
        .add_string("fail_mode", "throw",
                    "how it fails (torch: an index error inside libtorch; slow_unwind: throws, then "
                    "its destructor takes 3 s, as a rank tearing down a process group can)",
                    {"throw", "sigkill", "torch", "slow_unwind"})
        .add_int("step_sleep_ms", 0, "sleep in every training forward (slow runs for signal tests)", 0)
        .add_int("eval_sleep_ms", 0, "sleep in every evaluation forward (slow validation)", 0);
    bolt::declare_schedule_options(options);
  }
  ~Mlp() override {
    if (!failed_ || config_.get_string("fail_mode") != "slow_unwind") return;
    std::cerr << "testkit: unwinding slowly" << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(3));
  }
  at::Tensor forward(const at::Tensor& inputs) override {
    if (is_training()) {
      maybe_fail();
    } else if (const auto ms = config_.get_int("eval_sleep_ms"); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    return fc2_->forward(torch::relu(fc1_->forward(inputs)));
  }
  bolt::Criterion configure_criterion() override {
    return [](const at::Tensor& out, const at::Tensor& target) {
      return torch::nn::functional::mse_loss(out, target);
    };
  }
  // Higher is better: the negative mean squared error.
  bolt::Metric configure_metric() override {
    return [](const at::Tensor& out, const at::Tensor& target) { return -(out - target).pow(2).mean(); };
  }
  bolt::OptimizerSetup configure_optimizer() override {
    log().info("mlp: SGD for rank {} of {} on {}", context().rank, context().world_size, context().device.str());
    return bolt::configure_schedule(
        std::make_shared<torch::optim::SGD>(
            parameters_to_update(),
            torch::optim::SGDOptions(config_.get_float("lr")).momentum(config_.get_float("momentum"))),
        config_);
  }

 private:
  void maybe_fail() {
    if (const auto ms = config_.get_int("step_sleep_ms"); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    const char* rank = std::getenv("RANK");
    const int64_t my_rank = rank ? std::atoll(rank) : 0;
    const char* restarts = std::getenv("BOLT_RESTART_COUNT");
    if (restarts && std::atoll(restarts) > 0) return;
    if (step_++ != config_.get_int("fail_step") || my_rank != config_.get_int("fail_rank")) return;
    if (config_.get_string("fail_mode") == "sigkill") ::kill(::getpid(), SIGKILL);
    if (config_.get_string("fail_mode") == "torch") {
      at::embedding(at::zeros({2, 2}), at::full({1}, 5, at::kLong));  // throws c10::IndexError
    }
    failed_ = true;
    throw std::runtime_error("testkit: planned failure at step " + std::to_string(step_ - 1) +
                             " on rank " + std::to_string(my_rank));
  }
  bolt::Config config_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  int64_t step_ = 0;
  bool failed_ = false;
};

}  // namespace testkit

BOLT_PLUGIN("testkit");
BOLT_REGISTER_DATA(testkit::SyntheticRegression, "synthetic");
BOLT_REGISTER_MODEL(testkit::Mlp, "mlp");
