#pragma once
// The built-in `torchscript` model: a module scripted or traced in Python
// (torch.jit.script(model).save(path)), trained by Bolt like any C++ model. Its parameters and
// buffers are registered as this Module's own (the same tensors), so DDP, checkpoints and
// resume see them; train/eval modes reach the script. Loss, score and optimizer come from keys.
#include <filesystem>

#include <torch/script.h>

#include "bolt/Module.h"

namespace bolt::builtin {

class TorchScriptModel : public Module {
 public:
  explicit TorchScriptModel(const Config& config);
  static void declare_options(OptionSet& options);

  at::Tensor forward_batch(const Batch& batch) override;
  at::Tensor compute_loss(const at::Tensor& outputs, const Batch& batch) override;
  std::map<std::string, at::Tensor> compute_metrics(const at::Tensor& outputs, const Batch& batch) override;
  std::vector<std::string> metric_names() override;
  OptimizerSetup configure_optimizer() override;
  void train(bool on = true) override;
  bool can_export() const override { return true; }
  void export_to(const std::filesystem::path& file) override;

 private:
  [[noreturn]] void fail_step(const std::string& what, const std::exception& e, const at::Tensor& outputs,
                              const Batch& batch) const;
  Config config_;
  std::string path_;
  torch::jit::Module script_;
};

}  // namespace bolt::builtin
