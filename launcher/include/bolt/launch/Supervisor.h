#pragma once
// Starts the local ranks of a plan and watches them: forwards SIGINT/SIGTERM/SIGUSR1/SIGUSR2,
// stops every rank when one fails (SIGTERM, SIGKILL after term_timeout), prints one summary
// table and returns the first failure's exit code (128+signal for a signal). After a failure
// it starts the whole group again, up to max_restarts times, with BOLT_RESTART_COUNT counting
// up. Ranks that all exit 75 stopped for requeue: not a failure, no restart. Children get
// PR_SET_PDEATHSIG so none outlives a killed launcher.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bolt/launch/LaunchPlan.h"

namespace bolt::launch {

struct SupervisorOptions {
  std::string worker;
  std::vector<std::string> worker_args;
  std::string log_dir;  // empty: "[rank N] " prefixed lines on the launcher's stdout/stderr
  double term_timeout_s = 10.0;
  std::map<std::string, std::string> extra_env;
  int max_restarts = 0;
  bool repick_port = false;  // the launcher chose the port (--standalone): choose anew per restart
  std::set<int64_t> log_ranks;  // --log-ranks: the ranks whose lines the console shows (empty: all)
};

int supervise(const LaunchPlan& plan, const SupervisorOptions& options);

// Replaces this process with the worker (single local rank); returns only on failure.
[[noreturn]] void exec_worker(const LaunchPlan& plan, const std::string& worker,
                              const std::vector<std::string>& worker_args,
                              const std::map<std::string, std::string>& extra_env);

}  // namespace bolt::launch
