// The fit's stop for a requeue: every rank stops after the same step, rank 0 checkpoints and,
// under Slurm, requeues the job; every rank then exits 75.
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "FitLoop.h"
#include "SlurmRequeue.h"
#include "bolt/Error.h"

namespace bolt {

namespace {

// The lead of --signal=SIG@LEAD, which `bolt-launch submit` exports; Slurm's examples use 90.
double signal_lead_s() {
  const char* text = std::getenv("BOLT_SIGNAL_LEAD_S");
  char* end = nullptr;
  const double lead = text ? std::strtod(text, &end) : 0.0;
  return text && end != text && *end == '\0' && std::isfinite(lead) && lead >= 0 ? lead : 90.0;
}

}  // namespace

FitLoop::RequeueOutcome FitLoop::requeue_under_policy(int64_t epoch, int64_t epoch_step) {
  const auto& job = s_.env.slurm_job_id;
  const auto left = slurm_seconds_left(job);
  const bool time_limit = is_time_limit_stop(left, signal_lead_s());
  const auto earlier = count_time_limit_requeues(s_.run_dir);
  if (time_limit) {
    s_.log->warn("fit: the stop is job {}'s time limit ({:.0f} s left); time-limit requeues so far: {} of "
                 "trainer.max_requeues {}", job, *left, earlier, o_.max_requeues);
    if (earlier >= o_.max_requeues) {
      return {fmt::format("job {} reached its time limit {} times (trainer.max_requeues {}): last.pt is "
                          "written but the job is not requeued again; give it a longer --time, or raise "
                          "trainer.max_requeues, and resubmit (trainer.resume auto continues the run)",
                          job, earlier + 1, o_.max_requeues), {}};
    }
  } else {
    s_.log->warn("fit: the stop is a preemption of job {} ({}): it is requeued whatever "
                 "trainer.max_requeues says", job,
                 left ? fmt::format("{:.0f} s of its time limit left", *left) : std::string("no time limit"));
  }
  if (auto failure = requeue_slurm_job(job); !failure.empty()) return {{}, failure};
  append_requeue_record(s_.run_dir, {{"unix_time", std::time(nullptr)}, {"job", job},
                                     {"reason", time_limit ? "time_limit" : "preemption"},
                                     {"epoch", epoch + (epoch_step > 0 ? 1 : 0)}, {"epoch_step", epoch_step},
                                     {"global_step", s_.global_step}});
  return {};
}

bool FitLoop::any_rank_signalled() {
  if (s_.stop_signal->number() == 0) return false;
  if (!s_.comm) return s_.stop_signal->received();
  auto flag = at::full({1}, s_.stop_signal->received() ? 1.0f : 0.0f, at::TensorOptions().device(s_.device));
  s_.comm->allreduce_sum(flag, "stop agreement (requeue signal)");
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
  if (s_.comm) s_.comm->barrier("last.pt written (requeue)");
  s_.stopped_for_requeue = true;
  RequeueOutcome outcome;
  if (s_.env.rank == 0 && !s_.env.slurm_job_id.empty()) outcome = requeue_under_policy(epoch, epoch_step);
  const auto& requeue_failure = outcome.failure;
  if (s_.comm) s_.comm->barrier("requeue decided");
  if (s_.env.rank != 0) return;
  if (!outcome.refusal.empty()) {
    s_.deferred_error = outcome.refusal;
    return;
  }
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
