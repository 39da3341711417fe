#pragma once
// Whether the launcher restarts its ranks after a group ended, and after how long: pure, so
// that the rule is a table in the unit tests (torch elastic keeps it in the agent, apart
// from starting and stopping processes).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "bolt/Error.h"

namespace bolt::launch {

struct RestartDecision {
  bool restart = false;
  double delay_s = 0;
  std::string note;  // why not, when it matters to the user
};

// `code`: the group's exit code; `restarts_done`: restarts so far; `interrupted`: the launcher
// got SIGINT/SIGTERM/SIGHUP.
inline RestartDecision decide_restart(int code, int restarts_done, int max_restarts, bool interrupted) {
  const bool failed = code != 0 && code != kStoppedForRequeueExitCode && !interrupted;
  if (!failed || restarts_done >= max_restarts) return {};
  if (code == UsageError::kExitCode) {
    return {false, 0, "not restarting: exit code 2 is a usage or configuration error, which a restart would repeat"};
  }
  // Backing off (0.5 s, 1 s, 2 s, ... up to 30 s): a rank that fails at once must not spin
  // through every restart in a fraction of a second.
  return {true, std::min(30.0, 0.5 * std::pow(2.0, restarts_done)), {}};
}

}  // namespace bolt::launch
