#pragma once
// The records a rank leaves in its run directory when something goes wrong, read back by
// bolt-launch (its summary and `bolt-launch why`):
//   diagnosis/rank-<r>.json  the hang watchdog's record ("stall" at half the hang timeout,
//                            "hang" when it ended the rank)
//   errors/rank-<r>.json     a failure: "error" (an exception), "crash" (a fatal signal or
//                            std::terminate, with a backtrace)
// Each holds who (rank, host, pid), when, where (stage/epoch/step), what the rank was doing
// and its recent collectives. Written to a temporary name and renamed: a reader never sees
// half a record. Torch-free.
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "ActivityLog.h"

namespace bolt::diagnosis {

// The worker's exit code when its hang watchdog ended it (not 1, 2, 3 or 75).
inline constexpr int kHangExitCode = 4;

struct RankIdentity {
  int64_t rank = 0;
  int64_t local_rank = 0;
  int64_t world_size = 1;
  std::string host;
  int pid = 0;
};

nlohmann::json to_json(const ActivitySnapshot& snapshot);
nlohmann::json make_record(const std::string& kind, const RankIdentity& who, const ActivitySnapshot& activity);
// Writes <run_dir>/<folder>/rank-<r>.json; returns its path (empty when it could not).
std::filesystem::path write_record(const std::filesystem::path& run_dir, const char* folder,
                                   const nlohmann::json& record);

}  // namespace bolt::diagnosis
