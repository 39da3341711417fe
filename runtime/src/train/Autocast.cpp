#include "Autocast.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

void check_precision(Precision precision, const c10::Device& device) {
  if (precision == Precision::Fp16Mixed && !device.is_cuda()) {
    throw ConfigError(fmt::format(
        "trainer.precision 16-mixed needs a CUDA device (float16 autocast and loss scaling), but "
        "this rank runs on {}: use bf16-mixed on CPU, or 32", device.str()));
  }
}

AutocastGuard::AutocastGuard(Precision precision, const c10::Device& device) {
  if (precision == Precision::Full32) return;
  active_ = true;
  cuda_ = device.is_cuda();
  const auto dtype = precision == Precision::Fp16Mixed ? at::kHalf : at::kBFloat16;
  if (cuda_) {
    previous_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
  } else {
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The cast-weights cache lives as long as the outermost autocast region, as in Python.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(previous_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

}  // namespace bolt
