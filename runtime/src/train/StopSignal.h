#pragma once
// The requeue signal (trainer.requeue_signal): its handler only records that it came; the
// trainer asks at step boundaries. Restores the previous disposition when destroyed.
#include <csignal>
#include <string>

namespace bolt {

class StopSignal {
 public:
  // `name` is USR1, USR2, TERM or none (no handler: the signal keeps its default action).
  explicit StopSignal(const std::string& name);
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  bool received() const;
  int number() const { return signal_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int signal_ = 0;
  struct sigaction previous_ {};
};

}  // namespace bolt
