#pragma once
// One thread per rank that watches the trainer's ActivityLog. When the rank has made no
// progress (no step, no batch, no collective started or finished) for half of
// trainer.hang_timeout_s it writes diagnosis/rank-<r>.json ("stall"): every rank of a hung
// job does, the stuck one and those waiting for it, before any of them ends. At the full
// timeout it adds the main thread's stack, rewrites the record ("hang"), says so on stderr
// and ends the rank with kHangExitCode: the job ends in seconds instead of waiting for a
// collective timeout, and bolt-launch reads the records to name the rank that is behind.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "ActivityLog.h"

namespace bolt::diagnosis {

class HangWatchdog {
 public:
  HangWatchdog(const ActivityLog& log, double timeout_s);
  ~HangWatchdog();
  HangWatchdog(const HangWatchdog&) = delete;
  HangWatchdog& operator=(const HangWatchdog&) = delete;

 private:
  void watch();
  [[noreturn]] void end_rank(const ActivitySnapshot& activity);

  const ActivityLog& log_;
  const double timeout_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bolt::diagnosis
