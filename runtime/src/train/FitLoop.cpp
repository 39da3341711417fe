#include "FitLoop.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../checkpoint/Checkpoint.h"
#include "BatchFeed.h"
#include "../logging/ProgressBar.h"
#include "EpochReport.h"
#include "RunDirectory.h"
#include "StepError.h"
#include "StopAgreement.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

FitLoop::FitLoop(Trainer& trainer) : trainer_(trainer), s_(*trainer.state_), o_(s_.options) {}

bool FitLoop::better(double value, double than) const {
  return o_.monitor_maximize ? value > than : value < than;
}

bool FitLoop::track_monitor(double value, bool& is_best) {
  is_best = !best_ || better(value, *best_);
  if (is_best) {
    best_ = value;
    epochs_without_improvement_ = 0;
  } else {
    ++epochs_without_improvement_;
  }
  return o_.early_stopping_patience > 0 && epochs_without_improvement_ >= o_.early_stopping_patience;
}

void FitLoop::prepare(const fs::path& resume_path) {
  auto& model = *s_.model;
  auto setups = model.configure_optimizers();
  if (trainer_.automatic_optimization() && setups.size() != 1) {
    throw PluginError(fmt::format(
        "the model configures {} optimizers, but automatic optimization steps exactly one: "
        "register a Trainer whose automatic_optimization() is false and step them in training_step",
        setups.size()));
  }
  auto parameters = model.parameters_to_update();
  if (s_.comm) {
    const auto bucket_bytes = static_cast<int64_t>(o_.bucket_cap_mb * 1024 * 1024);
    s_.reducer = std::make_unique<dist::BucketedGradientReducer>(parameters, *s_.comm, bucket_bytes);
  }
  s_.optimization = std::make_unique<Optimization>(o_, std::move(setups), parameters, s_.reducer.get(),
                                                   o_.precision == Precision::Fp16Mixed);
  s_.train_loader.emplace(s_.data.train_dataloader());
  s_.val_loader.emplace(s_.data.val_dataloader());
  if (s_.train_loader->num_batches() == 0) {
    throw DataError(fmt::format("the training set gives no batch on rank {} ({} samples, batch size {}{})",
                                s_.env.rank, s_.train_loader->num_samples(),
                                s_.train_loader->options().batch_size,
                                s_.train_loader->options().drop_last ? ", drop_last" : ""));
  }
  s_.optimization->start_epoch(*s_.train_loader);
  int64_t total = s_.optimization->steps_per_epoch() * o_.max_epochs;
  if (o_.max_steps > 0) total = std::min(total, o_.max_steps);
  s_.optimization->start_fit(total);
  if (!resume_path.empty()) {
    s_.epoch = resume_from(resume_path);
  } else if (o_.resume == "auto") {
    s_.log->info("fit: trainer.resume auto found no checkpoint of '{}': starting fresh", s_.loggers.run_name());
  }
}

void FitLoop::check_monitor() const {
  const auto& keys = s_.tracker->keys();
  if (std::find(keys.begin(), keys.end(), o_.monitor) == keys.end()) {
    throw ConfigError(fmt::format("trainer.monitor '{}' is not tracked; tracked: {} (loggers.tracker_keys)",
                                  o_.monitor, fmt::join(keys, ", ")));
  }
}

fs::path FitLoop::open_run(fs::path& resume_path, bool& created) {
  // Every rank checks trainer.resume (so that each reports a bad one); rank 0 decides where
  // the fit writes and what it resumes from, and the others follow.
  resume_path = resolve_resume(o_, s_.loggers);
  std::string restart_note;
  const auto run_dir = agree_on_run_dir(s_.comm.get(), s_.env.rank, [&] {
    if (resume_path.empty() && o_.resume.empty() && s_.env.restart_count > 0) {
      // A restarted (bolt-launch --max-restarts) or requeued (Slurm) job continues its own run.
      const auto dir = find_version_of_run(s_.loggers.logs_dir(), s_.loggers.run_name(), s_.env.run_id);
      if (!dir.empty()) {
        if (fs::exists(dir / "checkpoints" / "last.pt")) resume_path = dir / "checkpoints" / "last.pt";
        restart_note = fmt::format("fit: restart {} of run {}: continuing in {}", s_.env.restart_count,
                                   s_.env.run_id, dir.string());
        return dir;
      }
    }
    auto dir = run_dir_of(resume_path);
    if (!dir.empty()) return dir;
    created = true;
    return create_run_directory(s_.loggers.logs_dir(), s_.loggers.run_name());
  });
  if (s_.comm) {
    if (s_.env.rank == 0) s_.comm->store_set("bolt/resume", resume_path.string());
    resume_path = s_.comm->store_get("bolt/resume");
  }
  s_.run_dir = run_dir;
  s_.loggers.open_run_directory(run_dir);
  s_.log->info("fit: run directory {}", run_dir.string());
  if (!restart_note.empty()) s_.log->info("{}", restart_note);
  return run_dir;
}

void FitLoop::run() {
  // Before set-up: a preemption notice during the rendezvous or data preparation must not kill
  // the rank (USR1's default action); it stops the fit at its first step instead.
  s_.stop_signal.emplace(o_.requeue_signal);
  s_.activity.set_stage("fit");
  if (o_.export_model && !s_.model->can_export()) {
    throw ConfigError(fmt::format("trainer.export: {} cannot be exported (it works for the torchscript model)",
                                  s_.model->origin().empty() ? std::string("this model") : s_.model->origin()));
  }
  trainer_.setup();
  check_monitor();
  fs::path resume_path;
  bool created = false;
  const auto run_dir = open_run(resume_path, created);
  try {
    prepare(resume_path);
  } catch (...) {
    // A fit that never started leaves no empty run directory behind.
    if (created) {
      std::error_code ignored;
      fs::remove_all(run_dir, ignored);
    }
    throw;
  }
  s_.log->info("fit: {} epochs, {} train / {} val samples on this rank, {} steps per epoch ({} batches "
               "of {}), device {}, precision {}", o_.max_epochs, s_.train_loader->num_samples(),
               s_.val_loader->num_samples(), s_.optimization->steps_per_epoch(), s_.train_loader->num_batches(),
               s_.train_loader->options().batch_size, s_.device.str(), to_string(o_.precision));
  if (o_.max_steps > 0 && s_.global_step >= o_.max_steps) {
    s_.log->info("fit: trainer.max_steps {} already reached (global step {}): nothing to train",
                 o_.max_steps, s_.global_step);
    return;
  }
  for (int64_t epoch = s_.epoch; epoch < o_.max_epochs; ++epoch) {
    s_.epoch = epoch;
    const auto next = run_epoch(epoch);
    if (next == Next::StoppedForRequeue) return;
    if (next == Next::Finish) break;
  }
  finish(run_dir);
}

FitLoop::Next FitLoop::run_epoch(int64_t epoch) {
  auto& opt = *s_.optimization;
  const auto started = std::chrono::steady_clock::now();
  if (resume_epoch_step_ == 0) epoch_lr_ = opt.learning_rate();
  auto outcome = train_one_epoch(epoch);
  if (outcome.stopped_for_requeue) return Next::StoppedForRequeue;
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (outcome.max_steps_at == 0) opt.step_epoch_schedulers();
  const auto val = trainer_.evaluate(Stage::Validate, *s_.val_loader);
  EpochSummary summary;
  summary.epoch = epoch + 1;
  summary.max_epochs = o_.max_epochs;
  summary.train = outcome.metrics;
  summary.val = val;
  summary.lr = epoch_lr_;
  summary.epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  summary.samples_per_s = outcome.metrics.at("samples_run_here") / train_seconds;
  summary.grad_norm = opt.take_epoch_grad_norm();
  summary.grad_allreduces = outcome.grad_allreduces;
  if (opt.scaler()) summary.skipped_steps = opt.scaler()->skipped_steps();
  summary.launch_to_first_step_s = std::exchange(launch_to_first_step_s_, std::nullopt);
  summary.step_times = outcome.step_times;
  summary.ranks = gather_step_times(s_.comm.get(), s_.env.rank, summarize_step_times(outcome.step_times), s_.device);
  report_epoch(s_.loggers, *s_.log, summary);

  bool is_best = false;
  const bool stop_early = track_monitor(monitored_value(val), is_best);
  if (outcome.max_steps_at > 0) {
    save_checkpoints(epoch, outcome.max_steps_at, is_best, outcome.tracker_rows);
  } else {
    save_checkpoints(epoch + 1, 0, is_best);
  }
  if (outcome.max_steps_at > 0 || (o_.max_steps > 0 && s_.global_step >= o_.max_steps)) {
    s_.log->info("fit: trainer.max_steps {} reached in epoch {}", o_.max_steps, epoch + 1);
    return Next::Finish;
  }
  if (stop_early) {
    s_.log->info("fit: early stopping after epoch {}: val {} did not improve on {:.6g} for {} epochs",
                 epoch + 1, o_.monitor, *best_, epochs_without_improvement_);
    return Next::Finish;
  }
  // A signal that came during validation is acted on here, not a whole epoch later: the
  // epoch's last.pt is already written. One tiny allreduce per epoch.
  if (epoch + 1 < o_.max_epochs && any_rank_signalled()) {
    stop_for_requeue(epoch + 1, 0);
    return Next::StoppedForRequeue;
  }
  return Next::Continue;
}

double FitLoop::monitored_value(const EpochMetrics& val) {
  const auto monitored = val.find(o_.monitor);
  if (monitored == val.end()) {
    throw PluginError(fmt::format("validation_epoch_end() returned no '{}' (trainer.monitor)", o_.monitor));
  }
  // Rank 0's value decides for all: best.pt and early stopping must not diverge even if a
  // custom validation_epoch_end reports rank-dependent values.
  double value = monitored->second;
  if (s_.comm) {
    auto shared = at::full({1}, value, at::TensorOptions().dtype(at::kDouble).device(s_.device));
    s_.comm->broadcast(shared, 0, "monitored value");
    value = shared.item<double>();
  }
  return value;
}

void FitLoop::finish(const fs::path& run_dir) {
  if (s_.stop_signal->received()) {
    s_.log->info("fit: SIG{} came after the last training step: the fit is complete, nothing to requeue",
                 s_.stop_signal->name());
  }
  s_.log->info("fit: done, best val {} {:.4f}, checkpoints in {}", o_.monitor, best_.value_or(NAN),
               (run_dir / "checkpoints").string());
  if (!o_.test_after_fit && !o_.export_model) return;
  // Every rank loads rank 0's best.pt: wait until it is surely written.
  if (s_.comm) s_.comm->barrier("best.pt written");
  load_checkpoint(run_dir / "checkpoints" / "best.pt", *s_.model, {});
  s_.model->to(s_.device);
  if (o_.export_model && s_.env.rank == 0) {
    const auto file = run_dir / "checkpoints" / "best.torchscript.pt";
    s_.model->export_to(file);
    s_.log->info("fit: exported the best weights to {} (torch.jit.load in Python)", file.string());
  }
  if (o_.test_after_fit) trainer_.run_test_stage(Stage::Test);
}

void FitLoop::train_step(int64_t epoch, int64_t batch_idx, const Batch& batch, bool window_end,
                         StepOutput& out) {
  auto& opt = *s_.optimization;
  const bool automatic = trainer_.automatic_optimization();
  try {
    if (automatic) {
      opt.begin_micro_batch(batch_idx);
    } else if (s_.reducer) {
      // Manual steps keep .grad's single-process meaning: backward adds to it.
      s_.reducer->set_sync(true, true);
    }
    out = trainer_.run_training_step(batch_idx, batch);
    if (automatic) {
      if (!out.loss.defined()) throw PluginError("training_step returned no loss to optimize");
      opt.backward(out.loss, batch_idx);
      if (window_end) opt.step([&](torch::optim::Optimizer& optimizer) { trainer_.on_before_optimizer_step(optimizer); });
    }
    trainer_.training_step_end(batch_idx, batch, out);
  } catch (...) {
    rethrow_with_place({"fit", epoch, batch_idx, s_.global_step + 1, s_.env.rank, s_.model->origin()});
  }
}

FitLoop::EpochOutcome FitLoop::train_one_epoch(int64_t epoch) {
  auto& loader = *s_.train_loader;
  auto& opt = *s_.optimization;
  auto& tracker = *s_.tracker;
  const bool automatic = trainer_.automatic_optimization();
  const int64_t first_batch = std::exchange(resume_epoch_step_, 0);
  s_.model->train();
  tracker.reset();
  double restored_samples = 0;  // over all ranks
  if (first_batch > 0 && resume_tracker_.defined()) {
    // Same world size: each rank continues its own sums; otherwise rank 0 carries them all.
    const auto rows = resume_tracker_;
    restored_samples = rows.sum(0)[-1].item<double>();
    if (rows.size(0) == s_.env.world_size) {
      tracker.load_state(rows[s_.env.rank]);
    } else if (s_.env.rank == 0) {
      tracker.load_state(rows.sum(0));
    }
  }
  opt.start_epoch(loader);
  loader.start_epoch(epoch, first_batch);
  auto progress = s_.loggers.configure_progressbar();
  progress.start(epoch, o_.max_epochs, loader.num_batches(), first_batch);
  StopAgreement stop(*s_.stop_signal, s_.reducer.get(), s_.device);
  const int64_t allreduces_before = s_.reducer ? s_.reducer->allreduces() : 0;
  const double waited_before = s_.reducer ? s_.reducer->wait_seconds() : 0;
  EpochOutcome outcome;
  auto& times = outcome.step_times;
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  int64_t batch_idx = first_batch;
  auto asked = Clock::now();
  BatchFeed feed(loader, s_.device);
  s_.activity.at_step(epoch, batch_idx, diagnosis::Doing::LoadingData);
  while (auto fed = feed.next()) {
    s_.activity.now_doing(diagnosis::Doing::TrainingStep);
    if (s_.global_step == 0 && s_.env.launch_time > 0 && !launch_to_first_step_s_) {
      launch_to_first_step_s_ =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
          s_.env.launch_time;
    }
    const Batch& batch = *fed;
    const auto computing = Clock::now();
    const double data_wait = std::chrono::duration<double>(computing - asked).count();
    times.data_wait += data_wait;
    const double waited_before_step = s_.reducer ? s_.reducer->wait_seconds() : 0;
    const bool window_end = !automatic || opt.ends_window(batch_idx);
    if (window_end) stop.before_step();
    StepOutput out;
    train_step(epoch, batch_idx, batch, window_end, out);
    const double step_seconds = seconds_since(computing);
    times.compute += step_seconds;
    const double waited = (s_.reducer ? s_.reducer->wait_seconds() : 0) - waited_before_step;
    times.busy_ms.push_back(static_cast<float>(1000 * (data_wait + step_seconds - waited)));
    ++times.steps;
    asked = Clock::now();
    ++batch_idx;
    s_.activity.at_step(epoch, batch_idx, diagnosis::Doing::LoadingData);
    const bool has_loss = out.loss.defined();
    if (progress.due(batch_idx)) progress.update(batch_idx, has_loss ? out.loss.item<double>() : NAN);
    if (!window_end) continue;
    ++s_.global_step;
    if (has_loss && s_.loggers.has_writer() && s_.global_step % o_.log_every_n_steps == 0) {
      s_.loggers.log_scalars({{"train/loss_step", out.loss.item<double>()}}, s_.global_step);
    }
    if (has_loss && o_.verbose && s_.global_step % o_.log_every_n_steps == 0) {
      s_.log->info("epoch {} step {}/{} loss {:.4f}", epoch + 1, batch_idx, loader.num_batches(),
                   out.loss.item<double>());
    }
    if (stop.after_step(s_.global_step)) {
      progress.finish();
      stop_for_requeue(epoch, batch_idx);
      outcome.stopped_for_requeue = true;
      return outcome;
    }
    const bool mid_epoch = batch_idx < loader.num_batches();
    if (o_.max_steps > 0 && s_.global_step >= o_.max_steps) {
      if (mid_epoch) {
        outcome.max_steps_at = batch_idx;
        outcome.tracker_rows = gather_tracker_rows();
      }
      break;
    }
    if (o_.checkpoint_every_n_steps > 0 && s_.global_step % o_.checkpoint_every_n_steps == 0 && mid_epoch) {
      save_checkpoints(epoch, batch_idx, false);
    }
  }
  progress.finish();
  if (s_.reducer) {
    outcome.grad_allreduces = s_.reducer->allreduces() - allreduces_before;
    times.collective_wait = s_.reducer->wait_seconds() - waited_before;
    times.compute -= times.collective_wait;
  }
  outcome.metrics = trainer_.training_epoch_end();
  outcome.metrics["samples_run_here"] = trainer_.samples_of(outcome.metrics) - restored_samples;
  return outcome;
}

}  // namespace bolt
