// A fit's checkpoints: what last.pt/best.pt record (weights, optimizers, schedules, scaler, RNG,
// position, best score, the epoch's tracker rows mid-epoch) and how a fit resumes from one.
#include <chrono>
#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "../checkpoint/Checkpoint.h"
#include "../checkpoint/CheckpointRecord.h"
#include "FitLoop.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

namespace {

CheckpointTensors rng_state() { return {{"rng_cpu", at::detail::getDefaultCPUGenerator().get_state()}}; }

}  // namespace

// The tracker's state of every rank, one row each (a sum over ranks of one-hot rows).
at::Tensor FitLoop::gather_tracker_rows() {
  const auto own = s_.tracker->state();
  if (!s_.comm) return own.unsqueeze(0);
  auto rows = at::zeros({s_.env.world_size, own.numel()}, own.options());
  rows[s_.env.rank].copy_(own);
  if (s_.device.is_cuda()) rows = rows.to(s_.device);
  s_.comm->allreduce_sum(rows, "tracker rows for last.pt");
  return rows.to(at::kCPU);
}

void FitLoop::save_checkpoints(int64_t epoch, int64_t epoch_step, bool best, const at::Tensor& tracker_rows) {
  // epoch_step > 0: inside epoch `epoch`; the epoch's tracker state travels with it.
  s_.activity.now_doing(diagnosis::Doing::Checkpoint);
  CheckpointTensors extra = rng_state();
  if (epoch_step > 0) extra["tracker"] = tracker_rows.defined() ? tracker_rows : gather_tracker_rows();
  if (s_.env.rank != 0) return;
  nlohmann::json meta = {{"epoch", epoch},
                         {"epoch_step", epoch_step},
                         {"steps_per_epoch", s_.train_loader->num_batches()},
                         {"global_step", s_.global_step},
                         {"max_epochs", o_.max_epochs},
                         {"world_size", s_.env.world_size},
                         {"monitor", o_.monitor},
                         {"epochs_without_improvement", epochs_without_improvement_},
                         {"epoch_lr", epoch_lr_},
                         {"optimization", s_.optimization->state()}};
  // JSON has no -inf: before the first validation there is no best score yet.
  if (best_ && std::isfinite(*best_)) meta["best_val_score"] = *best_;
  const auto dir = s_.run_dir / "checkpoints";
  const auto optimizers = s_.optimization->optimizers();
  const auto started = std::chrono::steady_clock::now();
  save_checkpoint(dir / "last.pt", *s_.model, optimizers, meta, extra);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (took > longest_checkpoint_write_s_) {
    longest_checkpoint_write_s_ = took;
    s_.loggers.write_json("checkpoint_timing.json", {{"longest_last_pt_write_s", took}});
  }
  if (best) save_checkpoint(dir / "best.pt", *s_.model, optimizers, meta, extra);
}

int64_t FitLoop::resume_from(const fs::path& checkpoint) {
  CheckpointTensors extra = rng_state();
  extra["tracker"] = at::Tensor();
  const auto meta = load_checkpoint(checkpoint, *s_.model, s_.optimization->optimizers(), &extra);
  const auto position = read_fit_position(meta, checkpoint);
  if (position.epoch_step > 0) {
    // Inside an epoch the position only means something for the same sampler shape.
    if (position.steps_per_epoch != s_.train_loader->num_batches()) {
      throw CheckpointError(fmt::format(
          "checkpoint {} was written in the middle of an epoch of {} steps (world size {}), but "
          "this run has {} steps per epoch (world size {}): resume with the same ranks and batch "
          "size, or from a checkpoint written at an epoch end",
          checkpoint.string(), position.steps_per_epoch, position.world_size,
          s_.train_loader->num_batches(), s_.env.world_size));
    }
    if (position.epoch_step % o_.accumulate_grad_batches != 0 &&
        position.epoch_step != s_.train_loader->num_batches()) {
      throw CheckpointError(fmt::format(
          "checkpoint {} stopped after batch {} of its epoch, inside a window of "
          "trainer.accumulate_grad_batches {}: resume with the accumulation it was written with",
          checkpoint.string(), position.epoch_step, o_.accumulate_grad_batches));
    }
    const auto& rows = extra.at("tracker");
    const auto width = static_cast<int64_t>(s_.tracker->keys().size()) + 1;
    if (!rows.defined() || rows.dim() != 2 || rows.size(1) != width) {
      throw CheckpointError(fmt::format("checkpoint {}: written mid-epoch but without the epoch's "
                                        "tracker state for {} keys", checkpoint.string(), width - 1));
    }
    resume_tracker_ = rows.to(at::kDouble);
  }
  resume_epoch_step_ = position.epoch_step;
  epoch_lr_ = position.epoch_lr;
  s_.global_step = position.global_step;
  best_ = position.best;
  epochs_without_improvement_ = position.epochs_without_improvement;
  try {
    s_.optimization->load_state(meta, position.epoch);
  } catch (const CheckpointError& e) {
    throw CheckpointError(fmt::format("checkpoint {}: {}", checkpoint.string(), e.what()));
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
  generator.set_state(extra.at("rng_cpu"));
  s_.loggers.drop_metrics_after_epoch(position.epoch);
  s_.loggers.log_resume(s_.global_step + 1);
  s_.log->info("fit: resumed from {} at epoch {} step {} (global step {})", checkpoint.string(),
               position.epoch + 1, position.epoch_step, s_.global_step);
  return position.epoch;
}

}  // namespace bolt
