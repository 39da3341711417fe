// The fit's stop for a requeue: every rank stops after the same step, rank 0 checkpoints and,
// under Slurm, requeues the job; every rank then exits 75.
#include <csignal>

#include <fmt/format.h>

#include "FitLoop.h"
#include "SlurmRequeue.h"
#include "bolt/Error.h"

namespace bolt {

bool FitLoop::any_rank_signalled() {
  if (s_.stop_signal->number() == 0) return false;
  if (!s_.comm) return s_.stop_signal->received();
  auto flag = at::full({1}, s_.stop_signal->received() ? 1.0f : 0.0f, at::TensorOptions().device(s_.device));
  s_.comm->allreduce_sum(flag);
  return flag.item<float>() > 0;
}

void FitLoop::stop_for_requeue(int64_t epoch, int64_t epoch_step) {
  const auto last = (s_.run_dir / "checkpoints" / "last.pt").string();
  if (epoch_step > 0) {
    s_.log->warn("fit: SIG{} received: every rank stops after global step {} (epoch {}, step {}); "
                 "writing {}", s_.stop_signal->name(), s_.global_step, epoch + 1, epoch_step, last);
    save_checkpoints(epoch, epoch_step, false);
  } else {
    s_.log->warn("fit: SIG{} received: every rank stops at the end of epoch {} (global step {}), "
                 "whose last.pt is written", s_.stop_signal->name(), epoch, s_.global_step);
  }
  // From here on every rank only leaves. A requeue makes Slurm SIGTERM the step at once; dying
  // of it would report a stop that went as planned as a failure.
  std::signal(SIGTERM, SIG_IGN);
  // No rank leaves before last.pt is on disk and the job is requeued: a supervisor (srun
  // --kill-on-bad-exit, bolt-launch) seeing one rank exit could kill rank 0 mid-way.
  if (s_.comm) s_.comm->barrier();
  s_.stopped_for_requeue = true;
  std::string requeue_failure;
  if (s_.env.rank == 0 && !s_.env.slurm_job_id.empty()) requeue_failure = requeue_slurm_job(s_.env.slurm_job_id);
  if (s_.comm) s_.comm->barrier();
  if (s_.env.rank != 0) return;
  if (!requeue_failure.empty()) {
    // Reported once every rank has left the group, so that the others still exit 75.
    s_.deferred_error = fmt::format("{} was written, but the job could not be requeued ({}): "
                                    "resubmit it with --trainer.resume auto", last, requeue_failure);
    return;
  }
  if (s_.env.slurm_job_id.empty()) {
    s_.log->warn("fit: stopped at {} (exit {}); continue with the same command and "
                 "--trainer.resume auto", last, kStoppedForRequeueExitCode);
  } else {
    s_.log->warn("fit: requeued Slurm job {}; it resumes from {} when it runs again (exit {})",
                 s_.env.slurm_job_id, last, kStoppedForRequeueExitCode);
  }
}

}  // namespace bolt
