#pragma once
// The rank's black box, process-wide because signal handlers need it: who this rank is, where
// its run directory is, and what it is doing (the trainer's ActivityLog). On a fatal signal
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) or std::terminate it writes
// errors/rank-<r>.json with a backtrace from an async-signal-safe handler, then dies of the
// same signal; the worker's main records exceptions the same way.
#include <filesystem>
#include <string>
#include <vector>

#include "RankReport.h"

namespace bolt::diagnosis {

// Once, at the worker's start: the handlers, and who this rank is.
void install_failure_recorder(const RankIdentity& who);
const RankIdentity& rank_identity();

// The trainer's log while one runs; when the trainer ends (an exception unwinding it), its
// last state stays for the failure record.
void watch_activity(const ActivityLog* log);
void forget_activity(const ActivityLog& log);
ActivitySnapshot current_activity();

// Records go under `run_dir` from now on. A supervising bolt-launch (BOLT_SUPERVISOR_FD) is
// told, so that its summary can read them.
void set_run_directory(const std::filesystem::path& run_dir);
std::filesystem::path run_directory();

// errors/rank-<r>.json for an exception that ends the rank; returns its path or empty.
std::filesystem::path record_exception(const std::string& type, const std::string& message, int exit_code);
std::filesystem::path record_exception(const std::exception& e, const std::string& message, int exit_code);

// The rank ends with this error: its record is written now, before unwinding closes its
// connections and its peers notice, and from now on SIGTERM, SIGINT and SIGHUP are ignored, so
// that the stop signals its peers' failure brings (Slurm ends the whole step once another task
// exits) cannot replace its exit status. A rank that does not leave is killed by the
// launcher's or Slurm's SIGKILL. Signals change only where install_failure_recorder ran.
void begin_leaving(const std::exception& e, const std::string& message, int exit_code);

// The main thread's stack, symbolized, taken from another thread (a signal makes the main
// thread record its own frames). Empty when it does not answer within `wait_ms`.
std::vector<std::string> main_thread_stack(int wait_ms = 1000);

}  // namespace bolt::diagnosis
