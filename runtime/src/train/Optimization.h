#pragma once
// One optimizer step of automatic optimization, over `accumulate_grad_batches` micro-batches:
// zero the gradients at a window's start, weight each micro-batch's loss by its share of the
// window's samples (so K micro-batches of B equal one batch of K×B), scale it for 16-mixed,
// average across ranks only on the window's last backward, then unscale, run the trainer's
// hook, clip, step the optimizer and the per-step schedulers. Also owns the schedulers' and
// the scaler's checkpoint state.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "../checkpoint/Checkpoint.h"
#include "../dist/GradientReducer.h"
#include "bolt/DataLoader.h"
#include "bolt/GradScaler.h"
#include "bolt/Gradients.h"
#include "bolt/Module.h"
#include "bolt/TrainerOptions.h"

namespace bolt {

class Optimization {
 public:
  Optimization(const TrainerOptions& options, std::vector<OptimizerSetup> setups,
               std::vector<at::Tensor> parameters, dist::GradientReducer* reducer, bool use_scaler);

  const std::vector<OptimizerSetup>& setups() const { return setups_; }
  CheckpointOptimizers optimizers() const;
  double learning_rate() const;

  // Epoch schedulers take Python's constructor step; per-step schedules learn the fit's length.
  void start_fit(int64_t total_optimizer_steps);
  void start_epoch(const DataLoader& loader);
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  bool ends_window(int64_t batch_idx) const;

  void begin_micro_batch(int64_t batch_idx);
  void backward(const at::Tensor& loss, int64_t batch_idx);
  // After the window's last backward. `before_step` sees the averaged, unscaled gradients.
  // False when the scaler skipped the step (inf/NaN gradients).
  bool step(const std::function<void(torch::optim::Optimizer&)>& before_step);
  void step_epoch_schedulers();

  // The mean pre-clip gradient norm of the epoch's steps (when clipping is on).
  std::optional<double> take_epoch_grad_norm();
  const GradScaler* scaler() const { return scaler_ ? &*scaler_ : nullptr; }

  nlohmann::json state() const;
  // `finished_epochs` serves checkpoints written before schedulers had a state.
  void load_state(const nlohmann::json& meta, int64_t finished_epochs);

 private:
  void step_scheduler(std::size_t index);
  const TrainerOptions& options_;
  std::vector<OptimizerSetup> setups_;
  std::vector<at::Tensor> parameters_;
  dist::GradientReducer* reducer_;
  std::optional<GradScaler> scaler_;
  std::vector<int64_t> scheduler_steps_;
  std::vector<int64_t> micro_batch_sizes_;
  int64_t steps_per_epoch_ = 0;
  at::Tensor grad_norm_sum_;
  int64_t grad_norm_count_ = 0;
};

}  // namespace bolt
