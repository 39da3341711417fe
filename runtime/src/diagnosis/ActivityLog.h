#pragma once
// What this rank is doing, for the hang watchdog, the crash handler and the post-mortem
// (bolt-launch why): where it is (stage, epoch, step), what it does there (a training step,
// waiting for data, waiting in a collective...) and since when, and a ring buffer of the last
// collectives it issued, each with its sequence number, purpose, size and times. Sequence
// numbers count every collective from the rank's first, so equal numbers on two ranks name
// the same collective unless a rank skipped one. Torch-free; updates take a short lock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bolt::diagnosis {

enum class Doing { Idle, LoadingData, TrainingStep, EvaluationStep, Collective, Checkpoint };
const char* to_string(Doing doing);              // the key in records: "training_step"
Doing doing_from_key(const std::string& key);
const char* describe(Doing doing);               // for people: "in training_step"

struct CollectiveEntry {
  uint64_t seq = 0;
  std::string kind;     // allreduce, broadcast, barrier
  std::string purpose;  // e.g. "gradient bucket 2/3", "tracker"
  int64_t bytes = 0;
  double started = 0;   // unix seconds
  double finished = 0;  // 0 while in flight
  std::string failed;   // why it failed, if it did
};

struct ActivitySnapshot {
  std::string stage;  // fit, validate, test, or empty before a loop starts
  int64_t epoch = -1; // 0-based
  int64_t step = -1;  // batch index in the epoch, 0-based
  Doing doing = Doing::Idle;
  double doing_since = 0;     // unix seconds
  uint64_t waiting_on = 0;    // the collective waited for when doing == Collective
  uint64_t collectives = 0;   // issued so far
  std::vector<CollectiveEntry> recent;  // oldest first
  double seconds_without_progress = 0;
  std::chrono::steady_clock::time_point last_progress{};
  bool armed = false;
};

class ActivityLog {
 public:
  explicit ActivityLog(std::size_t capacity = 64) : capacity_(capacity) {}

  // The watchdog judges progress only while armed: from a loop's first step on, not during
  // data preparation or the rendezvous (those have their own bounds).
  void arm();
  void set_stage(const char* stage);
  void at_step(int64_t epoch, int64_t step, Doing doing);
  void now_doing(Doing doing);
  uint64_t collective_started(const char* kind, std::string_view purpose, int64_t bytes);
  // The calling thread now blocks until collective `seq` completes.
  Doing waiting_for(uint64_t seq);
  void collective_finished(uint64_t seq, Doing resume);
  void collective_failed(uint64_t seq, std::string_view why, Doing resume);
  ActivitySnapshot snapshot() const;

  // Lock-free reads for a signal handler (a crash may happen while the lock is held).
  int64_t epoch_relaxed() const { return epoch_.load(std::memory_order_relaxed); }
  int64_t step_relaxed() const { return step_.load(std::memory_order_relaxed); }
  const char* stage_relaxed() const { return stage_.load(std::memory_order_relaxed); }

 private:
  using Clock = std::chrono::steady_clock;
  void progress_locked(Doing doing);
  CollectiveEntry* find_locked(uint64_t seq);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<CollectiveEntry> recent_;
  uint64_t next_seq_ = 1;
  Doing doing_ = Doing::Idle;
  uint64_t waiting_on_ = 0;
  double doing_since_ = 0;
  Clock::time_point last_progress_ = Clock::now();
  bool armed_ = false;
  std::atomic<const char*> stage_{""};
  std::atomic<int64_t> epoch_{-1};
  std::atomic<int64_t> step_{-1};
};

double unix_now();

}  // namespace bolt::diagnosis
