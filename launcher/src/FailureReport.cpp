#include "FailureReport.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "LastLines.h"
#include "bolt/Error.h"

namespace bolt::launch {

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

bool is_root_cause(const SupervisedRank& w, const GroupEnd& end) {
  if (w.exit_code == bolt::PeerFailureError::kExitCode) return false;
  if (w.exit_code == kStoppedForRequeueExitCode) return false;
  if (w.stopped_by_us && (w.exit_code == -SIGTERM || (end.killed && w.exit_code == -SIGKILL))) return false;
  if (end.interrupted_by && w.exit_code == -*end.interrupted_by) return false;
  return true;
}

namespace {

std::string describe(const SupervisedRank& w) {
  if (w.exit_code == 0) return "exited 0";
  if (w.exit_code < 0) return fmt::format("killed by {}", signal_name(-w.exit_code));
  return fmt::format("exit code {}", w.exit_code);
}

int as_exit_code(const SupervisedRank& w) { return w.exit_code < 0 ? 128 - w.exit_code : w.exit_code; }

std::vector<std::string> tail_of(const SupervisedRank& w, const std::string& log_dir) {
  if (log_dir.empty()) return {w.stderr_tail.begin(), w.stderr_tail.end()};
  return last_lines(fmt::format("{}/rank-{}.stderr", log_dir, w.plan.rank), kTailLines);
}

}  // namespace

int report_group(const std::vector<SupervisedRank>& ranks, std::optional<std::size_t> failure,
                 const GroupEnd& end, const std::string& host, const std::string& log_dir,
                 const Diagnosis& diagnosis) {
  // After an interruption, only a real cause counts as a failure.
  const std::size_t none = ranks.size();
  std::size_t first = failure.value_or(none);
  // The diagnosed root cause, where it is one of ours and ended by itself.
  if (!diagnosis.empty() && first < none) {
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      if (ranks[i].plan.rank == diagnosis.culprits.front() && ranks[i].exit_code != 0 && is_root_cause(ranks[i], end)) {
        first = i;
      }
    }
  }
  const bool has_failure = first < none && (!end.interrupted_by || is_root_cause(ranks[first], end));
  const bool all_stopped_for_requeue = std::all_of(ranks.begin(), ranks.end(), [](const SupervisedRank& w) {
    return w.exit_code == kStoppedForRequeueExitCode;
  });
  if (!has_failure && all_stopped_for_requeue) {
    std::cerr << fmt::format("bolt-launch: all {} ranks stopped at a checkpoint for requeue "
                             "(exit {}); the next run resumes from last.pt\n",
                             ranks.size(), kStoppedForRequeueExitCode);
    return kStoppedForRequeueExitCode;
  }
  if (!has_failure && !end.interrupted_by) return 0;
  std::string table = fmt::format("{:<6} {:<6} {:<20} {:<8} {}\n", "rank", "local", "host", "pid", "status");
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    const auto& w = ranks[i];
    std::string status = describe(w);
    const bool culprit = std::find(diagnosis.culprits.begin(), diagnosis.culprits.end(),
                                   static_cast<int64_t>(w.plan.rank)) != diagnosis.culprits.end();
    if (culprit) status += "   <- root cause (diagnosis below)";
    else if (has_failure && first == i && diagnosis.empty()) status += "   <- first failure";
    else if (w.exit_code == bolt::PeerFailureError::kExitCode) status += " (a peer failed)";
    else if (w.exit_code != 0 && !is_root_cause(w, end)) status += " (stopped by bolt-launch)";
    table += fmt::format("{:<6} {:<6} {:<20} {:<8} {}\n", w.plan.rank, w.plan.local_rank, host, w.pid, status);
  }
  int code;
  std::string headline;
  if (has_failure) {
    const auto& w = ranks[first];
    code = as_exit_code(w);
    headline = diagnosis.empty()
                   ? fmt::format("rank {} (local rank {}, host {}, pid {}) failed: {}", w.plan.rank,
                                 w.plan.local_rank, host, w.pid, describe(w))
                   : diagnosis.headline;
  } else {
    code = 128 + *end.interrupted_by;
    headline = fmt::format("interrupted by {}: stopped all {} ranks", signal_name(*end.interrupted_by),
                           ranks.size());
  }
  std::string text = fmt::format("bolt-launch: error: {}\n{}", headline, table);
  text += format_diagnosis(diagnosis, false);
  if (has_failure) {
    const auto& w = ranks[first];
    const auto tail = tail_of(w, log_dir);
    if (!tail.empty()) {
      text += fmt::format("last stderr lines of rank {}:\n", w.plan.rank);
      for (const auto& line : tail) text += "  " + line + "\n";
    }
  }
  std::cerr << text;
  std::cerr.flush();
  return code;
}

}  // namespace bolt::launch
