#pragma once
// Rank 0's training progress. On a terminal: one line redrawn in place (epoch, step/steps, %,
// it/s, ETA, running loss). Elsewhere (a Slurm output file, a pipe): a plain line each time
// another 10 % of the epoch is done, so that a 100-epoch log stays small.
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace bolt {

class ProgressBar {
 public:
  ProgressBar(bool enabled, bool interactive, std::FILE* out);
  // `first_step` > 0 when an epoch resumes mid-way: rates count only the steps run here.
  void start(int64_t epoch, int64_t max_epochs, int64_t total_steps, int64_t first_step = 0);
  // Whether update(step, ...) would print: callers compute the loss only then.
  bool due(int64_t step) const;
  void update(int64_t step, double running_loss);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_, interactive_;
  std::FILE* out_;
  int64_t epoch_ = 0, max_epochs_ = 0, total_ = 0, first_ = 0, next_percent_ = 10;
  Clock::time_point started_, last_draw_;
  bool drawn_ = false;
};

}  // namespace bolt
