// Test plugin: jobs that go wrong without dying on their own, and crashes in plugin code, for
// the hang watchdog and failure records (tests/e2e/test_diagnosis.sh). A synthetic regression
// data set whose loader can get stuck, a small MLP whose step can sleep forever, freeze
// (SIGSTOP), crash (SIGSEGV, std::terminate) or run slowly on one rank, and a trainer whose
// ranks but one make an extra collective.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include "bolt/Plugin.h"

namespace faultkit {

// Blocks forever from the stuck_batch-th batch a loader asks for, on one rank.
class StuckDataset : public bolt::Dataset {
 public:
  StuckDataset(std::shared_ptr<bolt::TensorDataset> base, int64_t stuck_batch)
      : base_(std::move(base)), stuck_batch_(stuck_batch) {}
  int64_t size() const override { return base_->size(); }
  bolt::Batch get_batch(const std::vector<int64_t>& indices) const override {
    if (stuck_batch_ >= 0 && calls_.fetch_add(1) >= stuck_batch_) {
      while (true) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    return base_->get_batch(indices);
  }

 private:
  std::shared_ptr<bolt::TensorDataset> base_;
  int64_t stuck_batch_;
  mutable std::atomic<int64_t> calls_{0};
};

class FaultyData : public bolt::DataModule {
 public:
  explicit FaultyData(const bolt::Config& config) : bolt::DataModule(config) {}
  nlohmann::json link_to_model() const override { return {{"features", 8}}; }
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("train_size", 512, "training samples", 1)
        .add_int("stuck_rank", -1, "rank whose training loader gets stuck (-1: none)", -1)
        .add_int("stuck_batch", 3, "the batch it gets stuck at", 0);
  }
  bolt::DatasetSplits setup_dataset() override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto weights = at::randn({8, 1}, generator);
    auto make = [&](int64_t n) {
      auto x = at::randn({n, 8}, generator);
      return std::make_shared<bolt::TensorDataset>(x, x.matmul(weights));
    };
    bolt::DatasetSplits splits;
    auto train = make(config().get_int("train_size"));
    const bool stuck = context().rank == config().get_int("stuck_rank");
    splits.train = std::make_shared<StuckDataset>(train, stuck ? config().get_int("stuck_batch") : -1);
    splits.val = make(64);
    splits.test = make(64);
    return splits;
  }
};

// Hidden (the plugin's default visibility) and not inlined: the crash record must name it
// from the plugin file's own symbol table. Not checked by UBSan (scripts/sanitize.sh): the null
// write is the point, and it must reach the kernel as SIGSEGV.
__attribute__((noinline, no_sanitize("null"))) void write_through_null_pointer(volatile int* where) { *where = 42; }

class FaultyMlp : public bolt::Module {
 public:
  explicit FaultyMlp(const bolt::Config& config) : config_(config) {
    fc1_ = register_module("fc1", torch::nn::Linear(config.get_int("features"), 16));
    fc2_ = register_module("fc2", torch::nn::Linear(16, 1));
  }
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("features", 8, "input features", 1)
        .add_string("fault", "none", "what fault_rank does at fault_step",
                    {"none", "sleep", "sigstop", "segv", "terminate", "throw", "slow"})
        .add_int("fault_rank", 1, "the rank that misbehaves", 0)
        .add_int("fault_step", 3, "the training step (counted in this process) it starts at", 0)
        .add_int("slow_ms", 20, "fault slow: extra milliseconds per step", 0);
  }
  at::Tensor forward(const at::Tensor& inputs) override {
    if (is_training() && context().rank == config_.get_int("fault_rank")) misbehave();
    return fc2_->forward(torch::relu(fc1_->forward(inputs)));
  }
  bolt::Criterion configure_criterion() override {
    return [](const at::Tensor& out, const at::Tensor& target) { return torch::nn::functional::mse_loss(out, target); };
  }
  bolt::Metric configure_metric() override {
    return [](const at::Tensor& out, const at::Tensor& target) { return -(out - target).pow(2).mean(); };
  }
  bolt::OptimizerSetup configure_optimizer() override {
    bolt::OptimizerSetup setup;
    setup.optimizer = std::make_shared<torch::optim::SGD>(parameters_to_update(), torch::optim::SGDOptions(0.01));
    return setup;
  }

 private:
  void misbehave() {
    const auto fault = config_.get_string("fault");
    if (fault == "slow") {
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.get_int("slow_ms")));
      return;
    }
    if (step_++ != config_.get_int("fault_step")) return;
    if (fault == "sleep") {
      while (true) std::this_thread::sleep_for(std::chrono::hours(1));
    } else if (fault == "sigstop") {
      ::raise(SIGSTOP);
    } else if (fault == "segv") {
      write_through_null_pointer(nullptr);
    } else if (fault == "throw") {
      throw std::runtime_error("faultkit: a planned exception");
    } else if (fault == "terminate") {
      std::thread([] { throw std::runtime_error("faultkit: an exception escaping a thread"); }).join();
    }
  }
  bolt::Config config_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  int64_t step_ = 0;
};

// Every rank but skip_rank reduces its tracker once more at skip_step: a collective that one
// rank never makes.
class SkippingTrainer : public bolt::Trainer {
 public:
  using bolt::Trainer::Trainer;
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("skip_rank", 1, "the rank that skips the extra collective", 0)
        .add_int("skip_step", 3, "the global step after which the others make it", 0);
  }

 protected:
  void training_step_end(int64_t batch_idx, const bolt::Batch& batch, const bolt::StepOutput& out) override {
    bolt::Trainer::training_step_end(batch_idx, batch, out);
    if (global_step() == config().get_int("skip_step") && context_rank() != config().get_int("skip_rank")) {
      reduce_tracker();
    }
  }

 private:
  int64_t context_rank() { return model().context().rank; }
};

}  // namespace faultkit

BOLT_PLUGIN("faultkit");
BOLT_REGISTER_DATA(faultkit::FaultyData, "faulty_data");
BOLT_REGISTER_MODEL(faultkit::FaultyMlp, "faulty_mlp");
BOLT_REGISTER_TRAINER(faultkit::SkippingTrainer, "skipping");
