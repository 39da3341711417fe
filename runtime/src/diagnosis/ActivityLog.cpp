#include "ActivityLog.h"

namespace bolt::diagnosis {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

const char* to_string(Doing doing) {
  switch (doing) {
    case Doing::Idle: return "idle";
    case Doing::LoadingData: return "data";
    case Doing::TrainingStep: return "training_step";
    case Doing::EvaluationStep: return "evaluation_step";
    case Doing::Collective: return "collective";
    case Doing::Checkpoint: return "checkpoint";
  }
  return "?";
}

const char* describe(Doing doing) {
  switch (doing) {
    case Doing::Idle: return "between steps";
    case Doing::LoadingData: return "waiting for its DataLoader";
    case Doing::TrainingStep: return "in training_step";
    case Doing::EvaluationStep: return "in an evaluation step";
    case Doing::Collective: return "waiting in a collective";
    case Doing::Checkpoint: return "writing checkpoints";
  }
  return "?";
}

Doing doing_from_key(const std::string& key) {
  for (const auto doing : {Doing::Idle, Doing::LoadingData, Doing::TrainingStep, Doing::EvaluationStep,
                           Doing::Collective, Doing::Checkpoint}) {
    if (key == to_string(doing)) return doing;
  }
  return Doing::Idle;
}

void ActivityLog::progress_locked(Doing doing) {
  if (doing != doing_) doing_since_ = unix_now();
  doing_ = doing;
  last_progress_ = Clock::now();
}

void ActivityLog::arm() {
  std::lock_guard lock(mutex_);
  armed_ = true;
  last_progress_ = Clock::now();
}

void ActivityLog::set_stage(const char* stage) { stage_.store(stage); }

void ActivityLog::at_step(int64_t epoch, int64_t step, Doing doing) {
  std::lock_guard lock(mutex_);
  epoch_.store(epoch, std::memory_order_relaxed);
  step_.store(step, std::memory_order_relaxed);
  armed_ = true;
  doing_ = doing;  // a new step starts its clock even when the kind repeats
  doing_since_ = unix_now();
  last_progress_ = Clock::now();
}

void ActivityLog::now_doing(Doing doing) {
  std::lock_guard lock(mutex_);
  progress_locked(doing);
}

uint64_t ActivityLog::collective_started(const char* kind, std::string_view purpose, int64_t bytes) {
  std::lock_guard lock(mutex_);
  CollectiveEntry entry;
  entry.seq = next_seq_++;
  entry.kind = kind;
  entry.purpose = purpose;
  entry.bytes = bytes;
  entry.started = unix_now();
  recent_.push_back(std::move(entry));
  if (recent_.size() > capacity_) recent_.pop_front();
  last_progress_ = Clock::now();
  return recent_.back().seq;
}

CollectiveEntry* ActivityLog::find_locked(uint64_t seq) {
  for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
    if (it->seq == seq) return &*it;
  }
  return nullptr;
}

Doing ActivityLog::waiting_for(uint64_t seq) {
  std::lock_guard lock(mutex_);
  const Doing before = doing_;
  waiting_on_ = seq;
  progress_locked(Doing::Collective);
  return before;
}

void ActivityLog::collective_finished(uint64_t seq, Doing resume) {
  std::lock_guard lock(mutex_);
  if (auto* entry = find_locked(seq)) entry->finished = unix_now();
  waiting_on_ = 0;
  progress_locked(resume);
}

void ActivityLog::collective_failed(uint64_t seq, std::string_view why, Doing resume) {
  std::lock_guard lock(mutex_);
  if (auto* entry = find_locked(seq)) entry->failed = why;
  progress_locked(resume);
}

ActivitySnapshot ActivityLog::snapshot() const {
  std::lock_guard lock(mutex_);
  ActivitySnapshot s;
  s.stage = stage_.load();
  s.epoch = epoch_.load();
  s.step = step_.load();
  s.doing = doing_;
  s.doing_since = doing_since_;
  s.waiting_on = waiting_on_;
  s.collectives = next_seq_ - 1;
  s.recent.assign(recent_.begin(), recent_.end());
  s.seconds_without_progress = std::chrono::duration<double>(Clock::now() - last_progress_).count();
  s.last_progress = last_progress_;
  s.armed = armed_;
  return s;
}

}  // namespace bolt::diagnosis
