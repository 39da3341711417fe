#include "bolt/Module.h"

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/Loggers.h"

namespace bolt {

at::Tensor Module::forward(const at::Tensor&) {
  throw PluginError(fmt::format("{} overrides neither forward(inputs) nor forward_batch(batch)",
                                origin_.empty() ? std::string("the model") : origin_));
}

at::Tensor Module::forward_batch(const Batch& batch) { return forward(batch.inputs); }

std::vector<at::Tensor> Module::parameters_to_update() {
  std::vector<at::Tensor> out;
  for (auto& p : parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

void Module::configure_loss_and_metric() {
  if (configured_) return;
  criterion_ = configure_criterion();
  metric_ = configure_metric();
  configured_ = true;
}

at::Tensor Module::compute_loss(const at::Tensor& outputs, const Batch& batch) {
  configure_loss_and_metric();
  if (!criterion_) {
    throw PluginError("the model has no loss: override configure_criterion() or compute_loss()");
  }
  return criterion_(outputs, batch.targets);
}

std::map<std::string, at::Tensor> Module::compute_metrics(const at::Tensor& outputs, const Batch& batch) {
  configure_loss_and_metric();
  if (!metric_) return {};
  return {{"score", metric_(outputs, batch.targets)}};
}

std::vector<std::string> Module::metric_names() {
  configure_loss_and_metric();
  return metric_ ? std::vector<std::string>{"score"} : std::vector<std::string>{};
}

OptimizerSetup Module::configure_optimizer() {
  throw PluginError("the model configures no optimizer: override configure_optimizer() (or "
                    "configure_optimizers() for several)");
}

std::vector<OptimizerSetup> Module::configure_optimizers() { return {configure_optimizer()}; }

void Module::export_to(const std::filesystem::path&) {
  throw ConfigError(fmt::format("{} cannot be exported (trainer.export works for the torchscript model)",
                                origin_.empty() ? std::string("this model") : origin_));
}

spdlog::logger& Module::log() const {
  if (!logger_) logger_ = get_logger("model");
  return *logger_;
}

at::Tensor accuracy(const at::Tensor& logits, const at::Tensor& targets) {
  return logits.argmax(1).eq(targets).to(at::kFloat).mean();
}

}  // namespace bolt
