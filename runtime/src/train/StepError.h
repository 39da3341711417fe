#pragma once
// Turns what a step threw (libtorch's c10::Error, std::exception, a plugin's bolt::Error) into
// one Bolt error naming where it happened: stage, epoch, step, rank and the model's plugin.
#include <cstdint>
#include <string>

namespace bolt {

struct StepPlace {
  const char* stage;
  int64_t epoch;       // 0-based; shown 1-based
  int64_t batch_idx;   // 0-based; shown 1-based
  int64_t global_step;
  int64_t rank;
  std::string origin;  // "model 'x' (plugin y)"
};

// Call inside a catch block. Errors that are already a verdict (a peer died: exit 3; a usage
// or configuration error: exit 2) pass unchanged. The rank is leaving: the error is recorded
// before the stack unwinds (diagnosis::begin_leaving).
[[noreturn]] void rethrow_with_place(const StepPlace& place);

}  // namespace bolt
