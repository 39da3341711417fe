#pragma once
// Mixed precision for forward passes: autocast on while the guard lives (bf16 on CPU or CUDA,
// float16 on CUDA), as torch.autocast does in Python. Backward runs outside it.
#include <ATen/ATen.h>
#include <c10/core/Device.h>

#include "bolt/TrainerOptions.h"

namespace bolt {

// ConfigError when `precision` cannot run on `device` (16-mixed needs CUDA).
void check_precision(Precision precision, const c10::Device& device);

class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const c10::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

}  // namespace bolt
