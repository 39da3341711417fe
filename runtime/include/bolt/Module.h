#pragma once
// The seed's Module: the model, its loss, its score and its optimizer.
#include "bolt/Export.h"
#include <functional>
#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include "bolt/Config.h"

namespace bolt {

// (outputs, targets) -> a scalar: the batch's mean loss, or its mean score.
using Criterion = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;
using Metric = std::function<at::Tensor(const at::Tensor&, const at::Tensor&)>;

struct BOLT_API OptimizerSetup {
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  std::shared_ptr<torch::optim::LRScheduler> scheduler;  // optional, stepped once per epoch
};

class BOLT_API Module : public torch::nn::Module {
 public:
  // A subclass hides this to declare its own keys (the seed's add_argparse_args).
  static void declare_options(OptionSet&) {}

  virtual at::Tensor forward(const at::Tensor& inputs) = 0;
  // Parameters the optimizer updates; by default those with requires_grad.
  virtual std::vector<at::Tensor> parameters_to_update();
  virtual Criterion configure_criterion() = 0;
  virtual Metric configure_metric() = 0;
  virtual OptimizerSetup configure_optimizer() = 0;
};

// Metric helper: fraction of rows whose arg-max equals the target class.
at::Tensor accuracy(const at::Tensor& logits, const at::Tensor& targets);

}  // namespace bolt
