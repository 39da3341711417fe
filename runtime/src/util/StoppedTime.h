#pragma once
// How long a process was stopped (SIGSTOP, `scontrol suspend` then resume, a debugger), as seen
// by a thread that slept: waking more than a second later than it asked means the process did
// not run in between (a loaded machine delays a sleeping thread by milliseconds, not seconds).
// Timeouts and stall clocks leave that time out: no peer was late and no rank hung.
#include <chrono>

namespace bolt {

inline std::chrono::steady_clock::duration time_stopped(std::chrono::steady_clock::time_point asleep_since,
                                                        std::chrono::steady_clock::time_point now,
                                                        std::chrono::steady_clock::duration slept) {
  const auto late = now - asleep_since - slept;
  return late > std::chrono::seconds(1) ? late : std::chrono::steady_clock::duration{};
}

}  // namespace bolt
