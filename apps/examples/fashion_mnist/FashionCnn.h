#pragma once
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "bolt/Module.h"

namespace fashion_mnist {

// conv(1→32,3)+ReLU+maxpool2 → conv(32→64,3)+ReLU+maxpool2 → fc(1600→128)+ReLU → fc(128→10),
// cross-entropy, accuracy, SGD with momentum and a step LR schedule.
class FashionCnn : public bolt::Module {
 public:
  explicit FashionCnn(const bolt::Config& config);
  static void declare_options(bolt::OptionSet& options);

  at::Tensor forward(const at::Tensor& inputs) override;
  bolt::Criterion configure_criterion() override;
  bolt::Metric configure_metric() override;
  bolt::OptimizerSetup configure_optimizer() override;

 private:
  bolt::Config config_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

}  // namespace fashion_mnist
