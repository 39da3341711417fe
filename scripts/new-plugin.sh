#!/usr/bin/env bash
# Writes a starter Bolt plugin: a DataModule and a Module in the shape of the seed's practical
# templates, a CMakeLists.txt using find_package(Bolt) and a config. As written it trains a
# small regression MLP on synthetic data; the comments mark where your own code goes.
#   scripts/new-plugin.sh DIR NAME
# then:   cmake -S DIR -B DIR/build -DCMAKE_PREFIX_PATH=<Bolt install prefix> && cmake --build DIR/build
#         cd DIR && <prefix>/bin/bolt-launch --nproc-per-node 2 -- fit --config NAME.json
set -euo pipefail
if [[ $# -ne 2 ]]; then echo "usage: $0 DIR NAME" >&2; exit 2; fi
dir=$1
name=$2
if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "new-plugin: NAME '$name' must be a C identifier (letters, digits, _)" >&2; exit 2
fi
if [[ -e $dir/CMakeLists.txt ]]; then echo "new-plugin: $dir/CMakeLists.txt exists; not overwriting" >&2; exit 1; fi
mkdir -p "$dir"

cat > "$dir/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(${name} LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release)
endif()
# Finds Bolt (and through it libtorch); give its install prefix in CMAKE_PREFIX_PATH.
find_package(Bolt 0.1 REQUIRED)
bolt_add_plugin(${name} SOURCES ${name}.cpp)
EOF

cat > "$dir/${name}.json" <<EOF
{
  "plugins": ["build/lib${name}.so"],
  "trainer": {"max_epochs": 8, "seed": 42},
  "data": {"name": "${name}_data", "batch_size": 32, "samples": 4096},
  "model": {"name": "${name}_model", "hidden": 64, "lr": 0.05},
  "loggers": {"logs_dir": "logs"}
}
EOF

cat > "$dir/${name}.cpp" <<EOF
// ${name}: a Bolt plugin. Build: see CMakeLists.txt; run: bolt-launch -- fit --config ${name}.json
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/schedulers/step_lr.h>
#include <torch/optim/sgd.h>

#include "bolt/Plugin.h"

namespace ${name} {

// The seed's DataModule template: give train/val/test in setup_dataset().
class Data : public bolt::DataModule {
 public:
  explicit Data(const bolt::Config& config) : bolt::DataModule(config) {
    // Read your own keys here (declared below), e.g. config.get_int("samples").
  }

  // The seed's add_argparse_args: keys of the "data" section (--data.<key> on the command line).
  static void declare_options(bolt::OptionSet& options) {
    options.add_int("samples", 4096, "synthetic samples to make", 1);
    // TODO: your keys (paths, sizes, augmentation switches, ...).
  }

  // Optional, runs once on local rank 0 before setup_dataset(): download, unpack, index, ...
  void prepare_data() override {}

  bolt::DatasetSplits setup_dataset() override {
    // TODO: load your data (from data_dir()) instead of this synthetic regression:
    // y = sin(x . w) + noise, the same on every rank (fixed generator).
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    const int64_t n = config().get_int("samples");
    const auto w = at::randn({8, 1}, generator);
    auto make = [&](int64_t count) {
      auto x = at::randn({count, 8}, generator);
      auto y = at::sin(x.matmul(w)) + 0.05 * at::randn({count, 1}, generator);
      return std::make_shared<bolt::TensorDataset>(x, y);
    };
    // A null val set is split off train (1/num_splits, fixed seed).
    return {make(n), nullptr, make(n / 4)};
  }
};

// The seed's Module template: the network, its criterion, metric and optimizer.
class Model : public bolt::Module {
 public:
  explicit Model(const bolt::Config& config) : config_(config) {
    // TODO: your layers.
    const auto hidden = config.get_int("hidden");
    fc1_ = register_module("fc1", torch::nn::Linear(8, hidden));
    fc2_ = register_module("fc2", torch::nn::Linear(hidden, 1));
  }

  static void declare_options(bolt::OptionSet& options) {
    options.add_int("hidden", 64, "hidden units", 1)
        .add_float("lr", 0.05, "SGD learning rate", 0.0)
        .add_float("momentum", 0.9, "SGD momentum", 0.0);
  }

  at::Tensor forward(const at::Tensor& inputs) override {
    return fc2_->forward(torch::tanh(fc1_->forward(inputs)));
  }

  // parameters_to_update() defaults to every parameter with requires_grad; override it to
  // freeze a backbone for transfer learning.

  bolt::Criterion configure_criterion() override {
    return [](const at::Tensor& outputs, const at::Tensor& targets) {
      return torch::nn::functional::mse_loss(outputs, targets);
    };
  }

  // The score is "higher is better" (best.pt keeps the best val score): here -MSE.
  bolt::Metric configure_metric() override {
    return [](const at::Tensor& outputs, const at::Tensor& targets) {
      return -(outputs - targets).pow(2).mean();
    };
  }

  bolt::OptimizerSetup configure_optimizer() override {
    auto optimizer = std::make_shared<torch::optim::SGD>(
        parameters_to_update(),
        torch::optim::SGDOptions(config_.get_float("lr")).momentum(config_.get_float("momentum")));
    auto scheduler = std::make_shared<torch::optim::StepLR>(*optimizer, 3, 0.5);  // optional
    return {optimizer, scheduler};
  }

 private:
  bolt::Config config_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

}  // namespace ${name}

BOLT_PLUGIN("${name}");
BOLT_REGISTER_DATA(${name}::Data, "${name}_data");
BOLT_REGISTER_MODEL(${name}::Model, "${name}_model");
EOF
echo "new-plugin: wrote $dir/{CMakeLists.txt,${name}.cpp,${name}.json}"
echo "  build: cmake -S $dir -B $dir/build -DCMAKE_PREFIX_PATH=<Bolt prefix> && cmake --build $dir/build"
echo "  train: cd $dir && <Bolt prefix>/bin/bolt-launch --nproc-per-node 2 -- fit --config ${name}.json"
