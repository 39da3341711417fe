#include "SignalLeadCheck.h"

#include <cmath>
#include <iostream>

#include <fmt/format.h>

#include "SubmitRecord.h"

namespace fs = std::filesystem;

namespace bolt::launch {

std::optional<double> longest_checkpoint_write(const fs::path& logs_dir, const std::vector<std::string>& run_names) {
  std::optional<double> longest;
  for (const auto& name : run_names) {
    std::error_code ec;
    for (fs::directory_iterator it(logs_dir / name, ec), end; !ec && it != end; it.increment(ec)) {
      const auto timing = read_json_file(it->path() / "checkpoint_timing.json");
      if (!timing || !timing->is_object() || !(*timing)["longest_last_pt_write_s"].is_number()) continue;
      const double seconds = (*timing)["longest_last_pt_write_s"].get<double>();
      if (!longest || seconds > *longest) longest = seconds;
    }
  }
  return longest;
}

void check_signal_lead(int signal_lead_s, const fs::path& logs_dir, const std::vector<std::string>& run_names) {
  const auto longest = longest_checkpoint_write(logs_dir, run_names);
  if (!longest) {
    std::cerr << fmt::format("bolt-launch submit: note: no earlier run of '{}' under {} recorded a checkpoint's "
                             "write time, so --signal-lead {} s is not checked against one\n",
                             run_names.front(), logs_dir.string(), signal_lead_s);
    return;
  }
  const double needed = *longest + kStopMarginS;
  if (signal_lead_s < needed) {
    std::cerr << fmt::format("bolt-launch submit: warning: --signal-lead {} s may be too short: an earlier run "
                             "of '{}' took {:.1f} s to write last.pt, and the stop also finishes a step and "
                             "requeues (~{:.0f} s more); give --signal-lead {:.0f} or more\n",
                             signal_lead_s, run_names.front(), *longest, kStopMarginS, std::ceil(needed));
  }
}

}  // namespace bolt::launch
