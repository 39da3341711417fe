// Test plugin for the training API beyond one tensor and one optimizer:
//  - "masked": a three-field batch (inputs, a second input "extra", a "mask") and the model
//    "masked_mlp" that needs all three (forward_batch, compute_loss, extra tracked values);
//  - "tiny_gan" with two optimizers and the trainer "gan" that steps them itself (manual
//    optimization under DDP);
//  - the trainer "seedlike": the seed's customised-trainer template (step, step end and epoch
//    end hooks calling the defaults and adding to them) with a key of its own.
#include <chrono>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <spdlog/spdlog.h>

#include "bolt/Gradients.h"
#include "bolt/Plugin.h"
#include "bolt/Schedules.h"

namespace loopkit {

namespace F = torch::nn::functional;

class MaskedData : public bolt::DataModule {
 public:
  explicit MaskedData(const bolt::Config& config) : bolt::DataModule(config) {}
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("train_size", 480, "training samples", 1).add_int("val_size", 160, "validation samples", 1);
  }
  bolt::DatasetSplits setup_dataset() override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(99);
    const auto w = at::randn({12, 1}, generator);
    auto make = [&](int64_t n) {
      auto x = at::randn({n, 8}, generator);
      auto extra = at::randn({n, 4}, generator);
      auto mask = (at::rand({n}, generator) > 0.25).to(at::kFloat);
      auto y = at::cat({x, extra}, 1).matmul(w);
      return std::make_shared<bolt::TensorDataset>(
          std::map<std::string, at::Tensor>{{"inputs", x}, {"extra", extra}, {"mask", mask}, {"targets", y}});
    };
    log().info("masked data: rank {} of {} builds its splits", context().rank, context().world_size);
    // spdlog's registry is libbolt's: a plugin finds Bolt's loggers by name too.
    if (auto root = spdlog::get("bolt")) root->info("loopkit: spdlog::get(\"bolt\") works in a plugin");
    return {make(config().get_int("train_size")), make(config().get_int("val_size")), make(64)};
  }
};

class MaskedMlp : public bolt::Module {
 public:
  explicit MaskedMlp(const bolt::Config& config) : config_(config) {
    fc1_ = register_module("fc1", torch::nn::Linear(12, 16));
    fc2_ = register_module("fc2", torch::nn::Linear(16, 1));
  }
  static void declare_options(bolt::OptionSet& options) { options.add_float("lr", 0.05, "SGD rate", 0.0); }
  at::Tensor forward_batch(const bolt::Batch& batch) override {
    return fc2_->forward(torch::relu(fc1_->forward(at::cat({batch.inputs, batch["extra"]}, 1))));
  }
  // A per-sample mean (masked samples count as zero), so that N ranks average to one rank.
  at::Tensor compute_loss(const at::Tensor& outputs, const bolt::Batch& batch) override {
    return ((outputs.squeeze(1) - batch.targets.squeeze(1)).pow(2) * batch["mask"]).mean();
  }
  std::map<std::string, at::Tensor> compute_metrics(const at::Tensor& outputs, const bolt::Batch& batch) override {
    return {{"score", -compute_loss(outputs, batch)}, {"kept", batch["mask"].mean()}};
  }
  std::vector<std::string> metric_names() override { return {"score", "kept"}; }
  bolt::OptimizerSetup configure_optimizer() override {
    log().info("masked_mlp: optimizer for rank {}", context().rank);
    return {std::make_shared<torch::optim::SGD>(parameters_to_update(),
                                                torch::optim::SGDOptions(config_.get_float("lr")).momentum(0.9)),
            nullptr};
  }

 private:
  bolt::Config config_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// Real samples: points on a noisy ring; the generator maps 4-d noise to 2-d points.
class RingData : public bolt::DataModule {
 public:
  explicit RingData(const bolt::Config& config) : bolt::DataModule(config) {}
  bolt::DatasetSplits setup_dataset() override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    auto make = [&](int64_t n) {
      auto angle = at::rand({n}, generator) * 6.283185;
      auto points = at::stack({angle.cos(), angle.sin()}, 1) + 0.05 * at::randn({n, 2}, generator);
      return std::make_shared<bolt::TensorDataset>(points, at::ones({n, 1}));
    };
    return {make(512), make(128), make(128)};
  }
};

class TinyGan : public bolt::Module {
 public:
  explicit TinyGan(const bolt::Config& config) : config_(config) {
    generator_ = register_module("generator", torch::nn::Linear(4, 2));
    discriminator_ = register_module("discriminator", torch::nn::Linear(2, 1));
    hidden_ = register_module("hidden", torch::nn::Linear(2, 2));
  }
  static void declare_options(bolt::OptionSet& options) {
    options.add_float("lr_g", 0.01, "generator Adam rate", 0.0).add_float("lr_d", 0.02, "discriminator SGD rate", 0.0);
  }
  at::Tensor generate(int64_t n) {
    return hidden_->forward(torch::tanh(generator_->forward(at::randn({n, 4}))));
  }
  at::Tensor discriminate(const at::Tensor& points) { return discriminator_->forward(points); }
  at::Tensor forward(const at::Tensor& inputs) override { return discriminate(inputs); }
  // Evaluation: how well the discriminator tells real points (label 1) from generated ones.
  at::Tensor compute_loss(const at::Tensor& outputs, const bolt::Batch& batch) override {
    return F::binary_cross_entropy_with_logits(outputs, batch.targets);
  }
  std::map<std::string, at::Tensor> compute_metrics(const at::Tensor& outputs, const bolt::Batch&) override {
    return {{"score", torch::sigmoid(outputs).mean()}};
  }
  std::vector<std::string> metric_names() override { return {"score"}; }
  std::vector<bolt::OptimizerSetup> configure_optimizers() override {
    std::vector<at::Tensor> g_params = generator_->parameters();
    for (auto& p : hidden_->parameters()) g_params.push_back(p);
    return {{std::make_shared<torch::optim::Adam>(g_params, torch::optim::AdamOptions(config_.get_float("lr_g"))), nullptr},
            {std::make_shared<torch::optim::SGD>(discriminator_->parameters(),
                                                 torch::optim::SGDOptions(config_.get_float("lr_d")).momentum(0.5)),
             nullptr}};
  }

 private:
  bolt::Config config_;
  torch::nn::Linear generator_{nullptr}, discriminator_{nullptr}, hidden_{nullptr};
};

// Manual optimization: a discriminator step, then a generator step, each averaged across ranks.
class GanTrainer : public bolt::Trainer {
 public:
  using bolt::Trainer::Trainer;
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("d_steps", 1, "discriminator steps per generator step", 1)
        .add_int("step_sleep_ms", 0, "sleep in every step (slow runs for signal tests)", 0);
  }
  bool automatic_optimization() const override { return false; }
  std::vector<std::string> step_output_names() override { return {"loss", "score", "d_loss", "g_loss"}; }

  bolt::StepOutput training_step(int64_t, const bolt::Batch& batch) override {
    auto& gan = dynamic_cast<TinyGan&>(model());
    std::this_thread::sleep_for(std::chrono::milliseconds(config().get_int("step_sleep_ms")));
    auto opts = optimizers();
    auto& opt_g = *opts.at(0);
    auto& opt_d = *opts.at(1);
    const auto n = batch.size();
    const auto real = at::ones({n, 1});
    const auto fake_label = at::zeros({n, 1});
    at::Tensor d_loss;
    for (int64_t i = 0; i < config().get_int("d_steps"); ++i) {
      const auto fake = gan.generate(n).detach();
      d_loss = F::binary_cross_entropy_with_logits(gan.discriminate(batch.inputs), real) +
               F::binary_cross_entropy_with_logits(gan.discriminate(fake), fake_label);
      opt_d.zero_grad();
      manual_backward(d_loss);
      opt_d.step();
    }
    const auto g_loss = F::binary_cross_entropy_with_logits(gan.discriminate(gan.generate(n)), real);
    opt_g.zero_grad();
    manual_backward(g_loss);
    clip_gradients(1.0, bolt::ClipAlgorithm::Norm);
    opt_g.step();
    const auto loss = (d_loss + g_loss).detach();
    return {loss,
            {{"loss", loss}, {"score", torch::sigmoid(gan.discriminate(batch.inputs)).mean().detach()},
             {"d_loss", d_loss.detach()}, {"g_loss", g_loss.detach()}},
            n};
  }
  bolt::StepOutput validation_step(int64_t batch_idx, const bolt::Batch& batch) override {
    auto out = bolt::Trainer::validation_step(batch_idx, batch);
    out.values["d_loss"] = out.loss;
    out.values["g_loss"] = at::zeros({});
    return out;
  }
};

// The seed's template: each hook calls the default and adds to it.
class SeedlikeTrainer : public bolt::Trainer {
 public:
  using bolt::Trainer::Trainer;
  static void declare_options(bolt::OptionSet& options) {
    options.add_float("extra_scale", 2.0, "factor of the extra tracked value", 0.0);
  }
  std::vector<std::string> step_output_names() override {
    auto names = bolt::Trainer::step_output_names();
    names.push_back("scaled_loss");
    return names;
  }

 protected:
  bolt::StepOutput training_step(int64_t batch_idx, const bolt::Batch& batch) override {
    auto out = bolt::Trainer::training_step(batch_idx, batch);
    out.values["scaled_loss"] = out.loss.detach() * config().get_float("extra_scale");
    out.values["undeclared"] = out.loss.detach();  // not in step_output_names: warned about, not tracked
    return out;
  }
  bolt::StepOutput validation_step(int64_t batch_idx, const bolt::Batch& batch) override {
    auto out = bolt::Trainer::validation_step(batch_idx, batch);
    out.values["scaled_loss"] = out.loss.detach() * config().get_float("extra_scale");
    return out;
  }
  void training_step_end(int64_t batch_idx, const bolt::Batch& batch, const bolt::StepOutput& out) override {
    bolt::Trainer::training_step_end(batch_idx, batch, out);
    ++steps_seen_;
  }
  void on_before_optimizer_step(torch::optim::Optimizer&) override {
    // Averaged across ranks by now: every rank sees the same norm.
    const auto norm = bolt::total_grad_norm(model().parameters_to_update());
    if (norm.defined()) ++hook_calls_;
  }
  // Its own map, without the "samples" count the default returns.
  bolt::EpochMetrics validation_epoch_end() override {
    const auto reduced = bolt::Trainer::validation_epoch_end();
    return {{"loss", reduced.at("loss")}, {"score", reduced.at("score")}, {"scaled_loss", reduced.at("scaled_loss")}};
  }
  bolt::EpochMetrics training_epoch_end() override {
    auto metrics = bolt::Trainer::training_epoch_end();
    metrics["steps_seen"] = static_cast<double>(std::exchange(steps_seen_, 0));
    metrics["hook_calls"] = static_cast<double>(std::exchange(hook_calls_, 0));
    log().info("seedlike: epoch {} done at global step {}", current_epoch() + 1, global_step());
    return metrics;
  }

 private:
  int64_t steps_seen_ = 0;
  int64_t hook_calls_ = 0;
};

}  // namespace loopkit

BOLT_PLUGIN("loopkit");
BOLT_REGISTER_DATA(loopkit::MaskedData, "masked");
BOLT_REGISTER_MODEL(loopkit::MaskedMlp, "masked_mlp");
BOLT_REGISTER_DATA(loopkit::RingData, "ring");
BOLT_REGISTER_MODEL(loopkit::TinyGan, "tiny_gan");
BOLT_REGISTER_TRAINER(loopkit::GanTrainer, "gan");
BOLT_REGISTER_TRAINER(loopkit::SeedlikeTrainer, "seedlike");
