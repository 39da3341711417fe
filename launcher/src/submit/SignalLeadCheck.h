#pragma once
// Is --signal-lead long enough for the stop it announces (finish a step, write last.pt,
// requeue)? Answered from earlier runs of the same run names: each fit records its longest
// last.pt write in <run dir>/checkpoint_timing.json. Prints a warning or a note; never fails.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace bolt::launch {

// Seconds granted beyond the longest write: the step in flight, the stop's barrier, scontrol.
inline constexpr double kStopMarginS = 10.0;

// The longest last.pt write recorded under logs_dir/<name>/version_*/ for any of the names.
std::optional<double> longest_checkpoint_write(const std::filesystem::path& logs_dir,
                                               const std::vector<std::string>& run_names);

void check_signal_lead(int signal_lead_s, const std::filesystem::path& logs_dir,
                       const std::vector<std::string>& run_names);

}  // namespace bolt::launch
