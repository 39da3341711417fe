#pragma once
// Trainer::fit: the run directory and resume, then epochs of training steps (automatic or
// manual optimization), validation, epoch reports, checkpoints, early stopping, max_steps
// and the stop for a requeue. Holds what only a fit needs; the Trainer's state is shared.
#include <cstdint>
#include <filesystem>
#include <optional>

#include "EpochReport.h"
#include "TrainerState.h"

namespace bolt {

class FitLoop {
 public:
  explicit FitLoop(Trainer& trainer);
  void run();

 private:
  // How an epoch's training ended.
  struct EpochOutcome {
    bool stopped_for_requeue = false;
    EpochMetrics metrics;
    int64_t max_steps_at = 0;  // > 0: max_steps reached after this many batches, mid-epoch
    at::Tensor tracker_rows;   // with max_steps_at: every rank's tracker state there
    std::optional<int64_t> grad_allreduces;
    StepTimes step_times;
  };

  enum class Next { Continue, Finish, StoppedForRequeue };

  void check_monitor() const;
  // The run directory (rank 0 chooses, all follow) and the checkpoint to resume, if any.
  std::filesystem::path open_run(std::filesystem::path& resume_path, bool& created);
  void prepare(const std::filesystem::path& resume_path);
  // One epoch: training, validation, report, checkpoints, and whether the fit goes on.
  Next run_epoch(int64_t epoch);
  double monitored_value(const EpochMetrics& val);
  void finish(const std::filesystem::path& run_dir);
  EpochOutcome train_one_epoch(int64_t epoch);
  void train_step(int64_t epoch, int64_t batch_idx, const Batch& batch, bool window_end, StepOutput& out);
  bool better(double value, double than) const;
  // Records the epoch's monitored value; true when early stopping says stop.
  bool track_monitor(double value, bool& is_best);

  // FitCheckpoints.cpp
  void save_checkpoints(int64_t epoch, int64_t epoch_step, bool best, const at::Tensor& tracker_rows = {});
  int64_t resume_from(const std::filesystem::path& checkpoint);
  at::Tensor gather_tracker_rows();

  // Preemption.cpp
  void stop_for_requeue(int64_t epoch, int64_t epoch_step);
  // Rank 0 under Slurm: requeues unless the time limit came trainer.max_requeues times.
  struct RequeueOutcome {
    std::string refusal;  // trainer.max_requeues said no (the message for the user)
    std::string failure;  // scontrol requeue failed (why)
  };
  RequeueOutcome requeue_under_policy(int64_t epoch, int64_t epoch_step);
  bool any_rank_signalled();

  Trainer& trainer_;
  Trainer::State& s_;
  const TrainerOptions& o_;
  std::optional<double> best_;
  int64_t epochs_without_improvement_ = 0;
  std::optional<double> launch_to_first_step_s_;
  // Where a fit resumed inside an epoch: batches already done, and the tracker rows
  // ([rank][sums..., count]) of that epoch so far.
  int64_t resume_epoch_step_ = 0;
  at::Tensor resume_tracker_;
  // The rate at the start of the current epoch (reported in its row), kept across a resume.
  double epoch_lr_ = 0;
  double longest_checkpoint_write_s_ = 0;  // recorded for `bolt-launch submit`'s --signal-lead check
};

}  // namespace bolt
