#include "CheckpointRecord.h"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "../util/StrictJson.h"
#include "bolt/Error.h"

namespace bolt {

nlohmann::json parse_checkpoint_record(const std::string& text, const std::filesystem::path& checkpoint) {
  nlohmann::json record;
  try {
    // Bolt writes a flat object; duplicates are tolerated (nlohmann keeps the last).
    record = parse_strict_json(text, "its bolt_meta record", {8, false, nullptr});
  } catch (const Error& e) {
    throw CheckpointError(fmt::format("checkpoint {}: {}", checkpoint.string(), e.what()));
  }
  if (!record.is_object()) {
    throw CheckpointError(fmt::format("checkpoint {}: its bolt_meta record is not a JSON object", checkpoint.string()));
  }
  return record;
}

namespace {

// nlohmann converts any number to int64_t, a float out of range with undefined behaviour:
// counters must be JSON integers that fit.
int64_t integer_field(const nlohmann::json& record, const char* key, int64_t fallback,
                      const std::filesystem::path& checkpoint) {
  if (!record.contains(key)) return fallback;
  const auto& value = record.at(key);
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    throw CheckpointError(fmt::format("checkpoint {}: {} in its record is out of range", checkpoint.string(), key));
  }
  if (!value.is_number_integer()) {
    throw CheckpointError(fmt::format("checkpoint {}: {} in its record is not an integer ({})", checkpoint.string(),
                                      key, value.dump().substr(0, 40)));
  }
  return value.get<int64_t>();
}

}  // namespace

FitPosition read_fit_position(const nlohmann::json& record, const std::filesystem::path& checkpoint) {
  const auto fail = [&](const std::string& why) {
    return CheckpointError(fmt::format("checkpoint {}: {}", checkpoint.string(), why));
  };
  if (!record.is_object() || !record.contains("epoch") || !record.contains("global_step")) {
    throw fail("not written by fit (no epoch/global_step)");
  }
  try {
    FitPosition position;
    position.epoch = integer_field(record, "epoch", 0, checkpoint);
    position.global_step = integer_field(record, "global_step", 0, checkpoint);
    position.epoch_step = integer_field(record, "epoch_step", 0, checkpoint);
    position.steps_per_epoch = integer_field(record, "steps_per_epoch", -1, checkpoint);
    position.world_size = integer_field(record, "world_size", 0, checkpoint);
    position.epochs_without_improvement = integer_field(record, "epochs_without_improvement", 0, checkpoint);
    position.epoch_lr = record.value("epoch_lr", 0.0);
    if (record.contains("best_val_score")) position.best = record.at("best_val_score").get<double>();
    if (position.epoch < 0 || position.epoch_step < 0 || position.global_step < 0 ||
        position.epochs_without_improvement < 0) {
      throw fail("negative epoch or step in its record");
    }
    if (!std::isfinite(position.epoch_lr) || (position.best && std::isnan(*position.best))) {
      throw fail("a learning rate or best score in its record is not a number");
    }
    return position;
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("malformed training position ({})", json_error_text(e)));
  }
}

}  // namespace bolt
