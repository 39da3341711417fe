#include "FashionSequence.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/adamw.h>

#include "bolt/Gradients.h"
#include "bolt/Plugin.h"
#include "bolt/Schedules.h"

namespace fashion_sequence {

namespace {
// Drops the image channel: [N, 1, 28, 28] batches become [N, 28, 28] sequences of rows.
class Rows : public bolt::Dataset {
 public:
  explicit Rows(std::shared_ptr<const bolt::Dataset> images) : images_(std::move(images)) {}
  int64_t size() const override { return images_->size(); }
  bolt::Batch get_batch(const std::vector<int64_t>& indices) const override {
    auto batch = images_->get_batch(indices);
    batch.inputs = batch.inputs.squeeze(1);
    return batch;
  }

 private:
  std::shared_ptr<const bolt::Dataset> images_;
};
}  // namespace

bolt::DatasetSplits FashionRows::setup_dataset() {
  auto splits = FashionMnistData::setup_dataset();
  return {std::make_shared<Rows>(splits.train), nullptr, std::make_shared<Rows>(splits.test)};
}

RowGru::RowGru(const bolt::Config& config) : config_(config) {
  const auto hidden = config.get_int("hidden");
  gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(config.get_int("input_size"), hidden)
                                                   .num_layers(config.get_int("layers"))
                                                   .batch_first(true)));
  head_ = register_module("head", torch::nn::Linear(hidden, config.get_int("num_classes")));
}

void RowGru::declare_options(bolt::OptionSet& options) {
  options.add_int("input_size", 28, "features per time step (linked from the data)", 1)
      .add_int("num_classes", 10, "classes (linked from the data)", 2)
      .add_int("hidden", 128, "GRU hidden units", 1)
      .add_int("layers", 1, "stacked GRU layers", 1)
      .add_float("lr", 0.003, "AdamW peak learning rate", 0.0)
      .add_float("weight_decay", 0.01, "AdamW weight decay", 0.0);
  bolt::declare_schedule_options(options);
}

at::Tensor RowGru::forward(const at::Tensor& rows) {
  auto [outputs, last_hidden] = gru_->forward(rows);
  return head_->forward(last_hidden[-1]);
}

bolt::Criterion RowGru::configure_criterion() {
  return [](const at::Tensor& logits, const at::Tensor& targets) {
    return torch::nn::functional::cross_entropy(logits, targets);
  };
}

bolt::Metric RowGru::configure_metric() { return bolt::accuracy; }

bolt::OptimizerSetup RowGru::configure_optimizer() {
  auto optimizer = std::make_shared<torch::optim::AdamW>(
      parameters_to_update(),
      torch::optim::AdamWOptions(config_.get_float("lr")).weight_decay(config_.get_float("weight_decay")));
  return bolt::configure_schedule(optimizer, config_);
}

void SequenceTrainer::on_before_optimizer_step(torch::optim::Optimizer&) {
  const double clip = options().gradient_clip_val;
  if (clip <= 0) return;
  // The gradients are averaged across ranks here, so every rank counts the same steps.
  const auto above = (bolt::total_grad_norm(model().parameters_to_update()) > clip).to(at::kLong);
  clipped_ = clipped_.defined() ? clipped_ + above : above;
  ++steps_;
}

bolt::EpochMetrics SequenceTrainer::training_epoch_end() {
  auto metrics = bolt::Trainer::training_epoch_end();
  if (steps_ > 0) {
    metrics["clipped_share"] = clipped_.item<double>() / static_cast<double>(steps_);
    log().info("sequence trainer: {} of {} optimizer steps were clipped", clipped_.item<int64_t>(), steps_);
  }
  clipped_ = at::Tensor();
  steps_ = 0;
  return metrics;
}

}  // namespace fashion_sequence

BOLT_PLUGIN("fashion_sequence");
BOLT_REGISTER_DATA(fashion_sequence::FashionRows, "fashion_rows");
BOLT_REGISTER_MODEL(fashion_sequence::RowGru, "row_gru");
BOLT_REGISTER_TRAINER(fashion_sequence::SequenceTrainer, "sequence");
