#pragma once
// Where a Module or DataModule runs: set by the Trainer before it prepares data or moves the
// model, so plugin code can shard work, pick a device or log once per job (rank 0).
#include "bolt/Export.h"
#include <cstdint>

#include <c10/core/Device.h>

namespace bolt {

struct BOLT_API RunContext {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  c10::Device device{c10::kCPU};
};

}  // namespace bolt
