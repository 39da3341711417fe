#include "HangWatchdog.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "FailureRecorder.h"
#include "RankReport.h"
#include "../util/StoppedTime.h"

namespace bolt::diagnosis {

HangWatchdog::HangWatchdog(const ActivityLog& log, double timeout_s)
    : log_(log), timeout_s_(timeout_s), thread_([this] { watch(); }) {}

HangWatchdog::~HangWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HangWatchdog::watch() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::clamp(timeout_s_ / 20, 0.05, 1.0)));
  bool stall_written = false;
  // Time this process spent stopped (SIGSTOP, `scontrol suspend`, a debugger) since the rank's
  // last progress does not count as a stall: on SIGCONT the rank carries on, and a rank resumed
  // after its peers ended must not write a record that hides that it was the one stopped.
  auto last_wake = Clock::now();
  Clock::time_point last_progress{};
  Clock::duration stopped{};
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, tick, [this] { return stopping_; })) {
    const auto now = Clock::now();
    auto activity = log_.snapshot();
    if (activity.last_progress != last_progress) stopped = {};
    // Since its last progress, if that came after the last wake-up.
    stopped += time_stopped(std::max(last_wake, activity.last_progress), now, tick);
    last_progress = activity.last_progress;
    last_wake = now;
    activity.seconds_without_progress -= std::chrono::duration<double>(stopped).count();
    if (!activity.armed) continue;
    if (activity.seconds_without_progress < timeout_s_ / 2) {
      stall_written = false;
      continue;
    }
    const auto dir = run_directory();
    if (activity.seconds_without_progress >= timeout_s_) end_rank(activity);
    if (!stall_written && !dir.empty()) {
      write_record(dir, "diagnosis", make_record("stall", rank_identity(), activity));
      stall_written = true;
    }
  }
}

void HangWatchdog::end_rank(const ActivitySnapshot& activity) {
  const auto& who = rank_identity();
  auto record = make_record("hang", who, activity);
  record["hang_timeout_s"] = timeout_s_;
  record["main_thread_stack"] = main_thread_stack();
  std::string where = activity.doing == Doing::Collective
                          ? fmt::format("waiting in collective #{}", activity.waiting_on)
                          : std::string(describe(activity.doing));
  const auto dir = run_directory();
  const auto file = dir.empty() ? std::filesystem::path() : write_record(dir, "diagnosis", record);
  const auto line = fmt::format(
      "bolt-worker: error: rank {} made no progress for {:.0f} s (trainer.hang_timeout_s {:g}): {} at {} "
      "epoch {} step {}; ending it with exit code {}{}\n",
      who.rank, activity.seconds_without_progress, timeout_s_, where, activity.stage, activity.epoch + 1,
      activity.step + 1, kHangExitCode,
      file.empty() ? std::string() : fmt::format(" (record: {}; run `bolt-launch why {}`)", file.string(), dir.string()));
  (void)::write(STDERR_FILENO, line.data(), line.size());
  // The main thread is stuck: nothing can unwind it. Leave without running destructors that
  // would wait on it (a shared-memory segment is already unlinked; peers see the exit).
  std::_Exit(kHangExitCode);
}

}  // namespace bolt::diagnosis
