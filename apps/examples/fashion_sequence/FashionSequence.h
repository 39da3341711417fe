#pragma once
// The second example: Fashion-MNIST images read row by row as 28-step sequences into a GRU,
// with the loop features a sequence model needs — a custom Trainer from the plugin, gradient
// clipping by norm, a per-step warm-up + cosine schedule, and gradient accumulation (keys in
// configs/fashion_sequence.json).
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include "FashionMnistData.h"
#include "bolt/Module.h"
#include "bolt/Trainer.h"

namespace fashion_sequence {

// Fashion-MNIST as [batch, 28 rows, 28 pixels]; tells the model its input width and classes.
class FashionRows : public fashion_mnist::FashionMnistData {
 public:
  using FashionMnistData::FashionMnistData;
  bolt::DatasetSplits setup_dataset() override;
  nlohmann::json link_to_model() const override { return {{"input_size", 28}, {"num_classes", 10}}; }
};

// GRU over the rows, a linear classifier on the last hidden state, AdamW.
class RowGru : public bolt::Module {
 public:
  explicit RowGru(const bolt::Config& config);
  static void declare_options(bolt::OptionSet& options);
  at::Tensor forward(const at::Tensor& rows) override;
  bolt::Criterion configure_criterion() override;
  bolt::Metric configure_metric() override;
  bolt::OptimizerSetup configure_optimizer() override;

 private:
  bolt::Config config_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear head_{nullptr};
};

// The default loop, plus what a sequence model's author watches: the share of optimizer steps
// whose averaged gradient norm exceeded trainer.gradient_clip_val (reported as clipped_share).
class SequenceTrainer : public bolt::Trainer {
 public:
  using bolt::Trainer::Trainer;

 protected:
  void on_before_optimizer_step(torch::optim::Optimizer& optimizer) override;
  bolt::EpochMetrics training_epoch_end() override;

 private:
  at::Tensor clipped_;  // steps above the clip value this epoch (on the device: no sync per step)
  int64_t steps_ = 0;
};

}  // namespace fashion_sequence
