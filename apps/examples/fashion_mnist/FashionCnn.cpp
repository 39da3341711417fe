#include "FashionCnn.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/pooling.h>
#include <torch/optim/schedulers/step_lr.h>
#include <torch/optim/sgd.h>

namespace fashion_mnist {

namespace F = torch::nn::functional;

FashionCnn::FashionCnn(const bolt::Config& config) : config_(config) {
  conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)));
  conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)));
  fc1_ = register_module("fc1", torch::nn::Linear(1600, 128));
  fc2_ = register_module("fc2", torch::nn::Linear(128, 10));
}

void FashionCnn::declare_options(bolt::OptionSet& options) {
  options.add_float("lr", 0.01, "SGD learning rate", 0.0)
      .add_float("momentum", 0.9, "SGD momentum", 0.0)
      .add_float("weight_decay", 0.0, "SGD weight decay", 0.0)
      .add_int("lr_step_size", 2, "epochs between learning-rate decays", 1)
      .add_float("lr_gamma", 0.5, "learning-rate decay factor", 0.0);
}

at::Tensor FashionCnn::forward(const at::Tensor& inputs) {
  auto x = F::max_pool2d(torch::relu(conv1_->forward(inputs)), F::MaxPool2dFuncOptions(2));
  x = F::max_pool2d(torch::relu(conv2_->forward(x)), F::MaxPool2dFuncOptions(2));
  x = torch::relu(fc1_->forward(x.flatten(1)));
  return fc2_->forward(x);
}

bolt::Criterion FashionCnn::configure_criterion() {
  return [](const at::Tensor& logits, const at::Tensor& targets) {
    return F::cross_entropy(logits, targets);
  };
}

bolt::Metric FashionCnn::configure_metric() { return bolt::accuracy; }

bolt::OptimizerSetup FashionCnn::configure_optimizer() {
  auto optimizer = std::make_shared<torch::optim::SGD>(
      parameters_to_update(), torch::optim::SGDOptions(config_.get_float("lr"))
                                  .momentum(config_.get_float("momentum"))
                                  .weight_decay(config_.get_float("weight_decay")));
  auto scheduler = std::make_shared<torch::optim::StepLR>(
      *optimizer, static_cast<unsigned>(config_.get_int("lr_step_size")), config_.get_float("lr_gamma"));
  return {optimizer, scheduler};
}

}  // namespace fashion_mnist
