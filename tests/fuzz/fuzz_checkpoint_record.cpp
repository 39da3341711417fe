// A checkpoint's bolt_meta record → the training position a fit resumes from: a position with
// non-negative counters and finite numbers, or Bolt's error naming the checkpoint.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "FuzzSupport.h"
#include "checkpoint/CheckpointRecord.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bolt::fuzz::expect_only_bolt_errors(text, [&] {
    const auto record = bolt::parse_checkpoint_record(text, "fuzz/last.pt");
    const auto position = bolt::read_fit_position(record, "fuzz/last.pt");
    if (position.epoch < 0 || position.epoch_step < 0 || position.global_step < 0 || !std::isfinite(position.epoch_lr)) {
      bolt::fuzz::defect("a position outside its range", text);
    }
  });
  return 0;
}
