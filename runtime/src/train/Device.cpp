// Stage and device names, and seeding: the small parsers the Trainer's public API offers.

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include "bolt/Error.h"
#include "bolt/WorkerContract.h"
#include "bolt/Trainer.h"

namespace bolt {

Stage parse_stage(const std::string& text) {
  if (text == "fit") return Stage::Fit;
  if (text == "validate") return Stage::Validate;
  if (text == "test") return Stage::Test;
  throw UsageError(fmt::format("unknown stage '{}': expected fit, validate or test", text));
}

const char* to_string(Stage stage) {
  switch (stage) {
    case Stage::Fit: return "fit";
    case Stage::Validate: return "validate";
    case Stage::Test: return "test";
  }
  return "?";
}

c10::Device parse_device(const std::string& text) {
  const auto name = contract::parse_device_name(text);
  if (!name) {
    throw ConfigError(
        fmt::format("device '{}' is not one of cpu, cuda, cuda:N (N a GPU index)", text));
  }
  if (!name->cuda) return c10::Device(c10::kCPU);
  const int index = name->index;
  if (!torch::cuda::is_available()) {
    throw EnvironmentError(fmt::format(
        "device {} asked for, but this libtorch ({}) has no CUDA support or sees no GPU; use "
        "--device cpu, or build Bolt against a CUDA libtorch (CMAKE_PREFIX_PATH)",
        text, TORCH_VERSION));
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw EnvironmentError(fmt::format("device {} does not exist: {} GPU(s) visible (cuda:0..cuda:{})",
                                       text, count, count - 1));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace bolt
