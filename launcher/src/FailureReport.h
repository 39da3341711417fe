#pragma once
// What a local group's end means, as data: which rank failed first (the root cause, not a rank
// that died of a peer's death or of the launcher's stop), the summary table with the first
// rank's last stderr lines, and the launcher's exit code.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "SupervisedRank.h"
#include "diagnosis/Diagnosis.h"

namespace bolt::launch {

struct GroupEnd {
  bool killed = false;                 // the launcher had to SIGKILL ranks after term_timeout
  std::optional<int> interrupted_by;   // the signal that interrupted the launcher, if any
};

std::string signal_name(int sig);
bool is_root_cause(const SupervisedRank& rank, const GroupEnd& end);
// Prints the outcome (nothing when all succeeded) to stderr; returns the launcher's exit code:
// 0, 75 when every rank stopped for requeue, the first failure's code (128+signal), or
// 128+signal of an interruption. A diagnosis from the ranks' records, when there is one,
// names the root cause instead of the first rank that exited (in a hang, the ranks waiting
// for a stuck one often exit first).
int report_group(const std::vector<SupervisedRank>& ranks, std::optional<std::size_t> first_failure,
                 const GroupEnd& end, const std::string& host, const std::string& log_dir,
                 const Diagnosis& diagnosis = {});

}  // namespace bolt::launch
