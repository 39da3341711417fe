#pragma once
// The seed's Module: the model, its loss, its score and its optimizer(s).
//
// A one-tensor model overrides forward(inputs), configure_criterion(), configure_metric() and
// configure_optimizer(). A model that needs several batch fields (a mask, lengths, a second
// input) overrides forward_batch(batch) instead, and compute_loss / compute_metrics to see
// the whole batch. What the default Trainer step runs, in order:
//   forward_batch(batch) → compute_loss(outputs, batch) → compute_metrics(outputs, batch)
// Every name compute_metrics returns (declared in metric_names()) can be tracked per epoch.
#include "bolt/Export.h"
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include "bolt/Config.h"
#include "bolt/Dataset.h"
#include "bolt/RunContext.h"

namespace bolt {

// (outputs, targets) -> a scalar: the batch's mean loss, or its mean score.
using Criterion = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;
using Metric = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

// When the trainer steps a scheduler: after every epoch (the seed's behaviour; like Python,
// an epoch scheduler also takes one step before the first epoch) or after every optimizer
// step (warm-up and cosine schedules; no step before the first).
enum class SchedulerInterval { Epoch, Step };

struct BOLT_API OptimizerSetup {
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  std::shared_ptr<torch::optim::LRScheduler> scheduler;  // optional
  SchedulerInterval interval = SchedulerInterval::Epoch;
};

class BOLT_API Module : public torch::nn::Module {
 public:
  // A subclass hides this to declare its own keys (the seed's add_argparse_args).
  static void declare_options(OptionSet&) {}

  // One-tensor models: outputs from batch.inputs.
  virtual at::Tensor forward(const at::Tensor& inputs);
  // Models of several inputs: outputs from the whole batch (default: forward(batch.inputs)).
  virtual at::Tensor forward_batch(const Batch& batch);
  // Parameters the optimizer updates; by default those with requires_grad.
  virtual std::vector<at::Tensor> parameters_to_update();

  virtual Criterion configure_criterion() { return {}; }
  virtual Metric configure_metric() { return {}; }
  // The batch's mean loss (default: configure_criterion()(outputs, batch.targets)).
  virtual at::Tensor compute_loss(const at::Tensor& outputs, const Batch& batch);
  // Values tracked beside "loss" (default: {"score": configure_metric()(outputs, targets)}),
  // computed without gradients. Each a batch mean, or a sum with loggers.tracker_reduction sum.
  virtual std::map<std::string, at::Tensor> compute_metrics(const at::Tensor& outputs, const Batch& batch);
  // The names compute_metrics returns: checked against loggers.tracker_keys before a run starts.
  virtual std::vector<std::string> metric_names();

  // One optimizer (automatic optimization) ...
  virtual OptimizerSetup configure_optimizer();
  // ... or several, for a Trainer that steps them itself (manual optimization, e.g. a GAN).
  // Default: {configure_optimizer()}.
  virtual std::vector<OptimizerSetup> configure_optimizers();

  // trainer.export: whether export_to() can write the trained model in a form Python loads
  // (the torchscript model writes TorchScript), and writing it.
  virtual bool can_export() const { return false; }
  virtual void export_to(const std::filesystem::path& file);

  // Rank, world size and device of this process; set by the Trainer before it moves the model.
  const RunContext& context() const { return context_; }
  void set_context(const RunContext& context) { context_ = context; }
  // The logger "bolt.model": rank 0's console and this rank's rank-<r>.log.
  spdlog::logger& log() const;
  // "model 'name' (plugin p)", set by bolt-worker: errors during a step name it.
  const std::string& origin() const { return origin_; }
  void set_origin(std::string origin) { origin_ = std::move(origin); }

 private:
  RunContext context_;
  std::string origin_;
  mutable std::shared_ptr<spdlog::logger> logger_;
  Criterion criterion_;
  Metric metric_;
  bool configured_ = false;
  void configure_loss_and_metric();
};

// Metric helper: fraction of rows whose arg-max equals the target class.
BOLT_API at::Tensor accuracy(const at::Tensor& logits, const at::Tensor& targets);

}  // namespace bolt
