#include "Autocast.h"

#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "bolt/Error.h"

namespace bolt {

namespace {
// libtorch 2.4 replaced the per-device autocast functions with ones taking the device type (the
// old ones are deprecated there); 1.13 has only the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_enabled(bool cuda, bool on) { at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on); }
at::ScalarType autocast_dtype(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_dtype(bool cuda, at::ScalarType dtype) { at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, dtype); }
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast_enabled(bool cuda, bool on) {
  if (cuda) {
    at::autocast::set_enabled(on);
  } else {
    at::autocast::set_cpu_enabled(on);
  }
}
at::ScalarType autocast_dtype(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(bool cuda, at::ScalarType dtype) {
  if (cuda) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
}
#endif
}  // namespace

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
  previous_enabled_ = autocast_enabled(cuda_);
  previous_dtype_ = autocast_dtype(cuda_);
  set_autocast_dtype(cuda_, dtype);
  set_autocast_enabled(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The cast-weights cache lives as long as the outermost autocast region, as in Python.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(cuda_, previous_enabled_);
  set_autocast_dtype(cuda_, previous_dtype_);
}

}  // namespace bolt
