#pragma once
// One local rank as the supervisor sees it: its plan, process and how it ended.
#include <sys/types.h>

#include <cstddef>
#include <deque>
#include <string>

#include "bolt/launch/LaunchPlan.h"

namespace bolt::launch {

// Lines of a failed rank's stderr kept for the summary.
constexpr std::size_t kTailLines = 15;

struct SupervisedRank {
  RankPlan plan;
  pid_t pid = -1;
  bool running = false;
  int exit_code = 0;   // exit status, or -signal
  bool stopped_by_us = false;
  std::deque<std::string> stderr_tail;
};

}  // namespace bolt::launch
