#include "TorchScriptModel.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "../util/ErrorText.h"
#include "bolt/Error.h"
#include "bolt/Schedules.h"

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace bolt::builtin {

namespace {
// torch::nn::Module names may not contain '.': "conv1.weight" is registered as "conv1/weight".
std::string local_name(const std::string& dotted) {
  std::string out = dotted;
  std::replace(out.begin(), out.end(), '.', '/');
  return out;
}


// "[32, 3] Float"
std::string describe(const at::Tensor& t) {
  return t.defined() ? fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type())) : "none";
}
}  // namespace

void TorchScriptModel::declare_options(OptionSet& options) {
  options.add_string("path", "", "the TorchScript file (torch.jit.script(model).save(path) in Python)")
      .add_string_list("inputs", {"inputs"}, "batch fields passed to forward, in order")
      .add_string("loss", "cross_entropy", "loss of (outputs, targets); method: the script's loss_method",
                  {"cross_entropy", "mse", "l1", "bce_with_logits", "nll", "method"})
      .add_string("loss_method", "loss", "with loss method: the scripted method (outputs, targets) -> loss")
      .add_string("metric", "accuracy", "score of (outputs, targets); method: the script's metric_method",
                  {"accuracy", "neg_mse", "none", "method"})
      .add_string("metric_method", "metric", "with metric method: the scripted method (outputs, targets) -> score")
      .add_string("optimizer", "sgd", "optimizer", {"sgd", "adam", "adamw"})
      .add_float("lr", 0.01, "learning rate", 0.0)
      .add_float("momentum", 0.0, "sgd momentum", 0.0)
      .add_float("weight_decay", 0.0, "weight decay", 0.0)
      .add_float("beta1", 0.9, "adam/adamw beta1", 0.0)
      .add_float("beta2", 0.999, "adam/adamw beta2", 0.0);
  declare_schedule_options(options);
}

TorchScriptModel::TorchScriptModel(const Config& config) : config_(config), path_(config.get_string("path")) {
  if (path_.empty()) {
    throw ConfigError("model.path is empty: give the file torch.jit.script(model).save(path) wrote");
  }
  std::error_code ec;
  if (!fs::is_regular_file(path_, ec)) {
    throw ConfigError(fmt::format("model.path {} is not a readable file", path_));
  }
  try {
    script_ = torch::jit::load(path_);
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("model.path {} is not a TorchScript module ({}); write one with "
                                  "torch.jit.script(model).save(path) or torch.jit.trace", path_,
                                  library_message(e)));
  }
  for (const auto& [key, name] : {std::pair{"loss", "loss_method"}, std::pair{"metric", "metric_method"}}) {
    if (config.get_string(key) == "method" && !script_.find_method(config.get_string(name))) {
      throw ConfigError(fmt::format("model.{} method: {} has no method '{}' (mark it @torch.jit.export, or "
                                    "set model.{})", key, path_, config.get_string(name), name));
    }
  }
  for (const auto& parameter : script_.named_parameters(/*recurse=*/true)) {
    register_parameter(local_name(parameter.name), parameter.value, parameter.value.requires_grad());
  }
  for (const auto& buffer : script_.named_buffers(/*recurse=*/true)) {
    register_buffer(local_name(buffer.name), buffer.value);
  }
}

void TorchScriptModel::train(bool on) {
  Module::train(on);
  script_.train(on);
}

at::Tensor TorchScriptModel::forward_batch(const Batch& batch) {
  std::vector<c10::IValue> inputs;
  std::vector<std::string> shapes;
  for (const auto& name : config_.get_string_list("inputs")) {
    inputs.emplace_back(batch[name]);
    shapes.push_back(name + " " + describe(batch[name]));
  }
  c10::IValue output;
  try {
    output = script_.forward(inputs);
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("{}: forward failed on {} ({}): check the model, model.inputs, or the "
                                  "data's dtypes (NumPy's default float64 needs .astype('float32'))",
                                  path_, fmt::join(shapes, ", "), library_message(e)));
  }
  if (!output.isTensor()) {
    throw PluginError(fmt::format("{}: forward returned a {}, but Bolt needs one tensor of outputs", path_,
                                  output.tagKind()));
  }
  return output.toTensor();
}

void TorchScriptModel::fail_step(const std::string& what, const std::exception& e, const at::Tensor& outputs,
                                 const Batch& batch) const {
  throw PluginError(fmt::format(
      "{}: the {} does not fit forward's outputs {} and targets {} ({}): check the model's output "
      "or model.{}", path_, what, describe(outputs), describe(batch.targets),
      library_message(e), what.substr(0, what.find(' '))));
}

at::Tensor TorchScriptModel::compute_loss(const at::Tensor& outputs, const Batch& batch) {
  const auto kind = config_.get_string("loss");
  try {
    const auto& targets = batch.targets;
    if (kind == "cross_entropy") return F::cross_entropy(outputs, targets);
    if (kind == "nll") return F::nll_loss(outputs, targets);
    if (kind == "mse") return F::mse_loss(outputs, targets);
    if (kind == "l1") return F::l1_loss(outputs, targets);
    if (kind == "bce_with_logits") return F::binary_cross_entropy_with_logits(outputs, targets);
    return script_.get_method(config_.get_string("loss_method"))({outputs, targets}).toTensor();
  } catch (const std::exception& e) {
    fail_step("loss " + kind, e, outputs, batch);
  }
}

std::map<std::string, at::Tensor> TorchScriptModel::compute_metrics(const at::Tensor& outputs, const Batch& batch) {
  const auto kind = config_.get_string("metric");
  try {
    if (kind == "none") return {};
    if (kind == "accuracy") return {{"score", accuracy(outputs, batch.targets)}};
    if (kind == "neg_mse") return {{"score", -F::mse_loss(outputs, batch.targets)}};
    return {{"score", script_.get_method(config_.get_string("metric_method"))({outputs, batch.targets}).toTensor()}};
  } catch (const std::exception& e) {
    fail_step("metric " + kind, e, outputs, batch);
  }
}

std::vector<std::string> TorchScriptModel::metric_names() {
  if (config_.get_string("metric") == "none") return {};
  return {"score"};
}

OptimizerSetup TorchScriptModel::configure_optimizer() {
  const auto kind = config_.get_string("optimizer");
  const double lr = config_.get_float("lr");
  const double decay = config_.get_float("weight_decay");
  const auto betas = std::make_tuple(config_.get_float("beta1"), config_.get_float("beta2"));
  std::shared_ptr<torch::optim::Optimizer> optimizer;
  if (kind == "adam") {
    optimizer = std::make_shared<torch::optim::Adam>(parameters_to_update(),
                                                     torch::optim::AdamOptions(lr).betas(betas).weight_decay(decay));
  } else if (kind == "adamw") {
    optimizer = std::make_shared<torch::optim::AdamW>(parameters_to_update(),
                                                      torch::optim::AdamWOptions(lr).betas(betas).weight_decay(decay));
  } else {
    optimizer = std::make_shared<torch::optim::SGD>(
        parameters_to_update(),
        torch::optim::SGDOptions(lr).momentum(config_.get_float("momentum")).weight_decay(decay));
  }
  return configure_schedule(optimizer, config_);
}

void TorchScriptModel::export_to(const fs::path& file) {
  // Written aside and renamed: a reader never sees half a file.
  const auto temp = file.string() + ".tmp";
  try {
    script_.save(temp);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw EnvironmentError(fmt::format("cannot write {}: {}", file.string(), library_message(e)));
  }
  fs::rename(temp, file);
}

}  // namespace bolt::builtin
