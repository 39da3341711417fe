#pragma once
// A checkpoint's bolt_meta record (JSON text stored beside the tensors) and the training
// position a fit reads from it. Torch-free: the fuzz harnesses build it without libtorch.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace bolt {

// Where a fit checkpoint stands.
struct FitPosition {
  int64_t epoch = 0;       // full epochs done
  int64_t epoch_step = 0;  // batches done in the next one
  int64_t steps_per_epoch = -1;
  int64_t global_step = 0;
  int64_t world_size = 0;
  std::optional<double> best;
  int64_t epochs_without_improvement = 0;
  double epoch_lr = 0;  // the rate at the start of the epoch it stands in
};

// Throws CheckpointError naming the file when the text is not a JSON object of sane depth.
nlohmann::json parse_checkpoint_record(const std::string& text, const std::filesystem::path& checkpoint);

// Throws CheckpointError naming the file when the record was not written by fit, or holds
// values of the wrong type or out of range.
FitPosition read_fit_position(const nlohmann::json& record, const std::filesystem::path& checkpoint);

}  // namespace bolt
