#include "bolt/Trainer.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <limits>
#include <regex>

#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>
#include <ATen/CPUGeneratorImpl.h>

#include "../checkpoint/Checkpoint.h"
#include "../dist/Communicator.h"
#include "../dist/GradientReducer.h"
#include "../logging/ProgressBar.h"
#include "SlurmRequeue.h"
#include "StopSignal.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

Stage parse_stage(const std::string& text) {
  if (text == "fit") return Stage::Fit;
  if (text == "validate") return Stage::Validate;
  if (text == "test") return Stage::Test;
  throw UsageError(fmt::format("unknown stage '{}': expected fit, validate or test", text));
}

const char* to_string(Stage stage) {
  switch (stage) {
    case Stage::Fit: return "fit";
    case Stage::Validate: return "validate";
    case Stage::Test: return "test";
  }
  return "?";
}

c10::Device parse_device(const std::string& text) {
  static const std::regex pattern(R"((cpu|cuda)(:(\d+))?)");
  std::smatch match;
  if (!std::regex_match(text, match, pattern) || (match[1] == "cpu" && match[2].matched)) {
    throw ConfigError(
        fmt::format("device '{}' is not one of cpu, cuda, cuda:N (N a GPU index)", text));
  }
  if (match[1] == "cpu") return c10::Device(c10::kCPU);
  const int index = match[3].matched ? std::stoi(match[3]) : 0;
  if (!torch::cuda::is_available()) {
    throw EnvironmentError(fmt::format(
        "device {} asked for, but this libtorch ({}) has no CUDA support or sees no GPU; use "
        "--device cpu, or build Bolt against a CUDA libtorch (CMAKE_PREFIX_PATH)",
        text, TORCH_VERSION));
  }
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw EnvironmentError(fmt::format("device {} does not exist: {} GPU(s) visible (cuda:0..cuda:{})",
                                       text, count, count - 1));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

struct Trainer::State {
  Config config;
  WorkerEnvironment env;
  Loggers& loggers;
  DataModule& data;
  std::shared_ptr<Module> model;
  std::shared_ptr<spdlog::logger> log;
  c10::Device device{c10::kCPU};
  std::unique_ptr<dist::Communicator> comm;
  std::unique_ptr<dist::GradientReducer> reducer;
  OptimizerSetup optim;
  Criterion criterion;
  Metric metric;
  Tracker tracker;
  std::optional<DataLoader> train_loader, val_loader, test_loader;
  bool is_setup = false;
  bool destroyed = false;
  int64_t global_step = 0;
  double best_val_score = -std::numeric_limits<double>::infinity();
  std::optional<double> launch_to_first_step_s;
  std::filesystem::path run_dir;
  std::optional<StopSignal> stop_signal;
  bool stopped_for_requeue = false;
  std::string deferred_error;
  // Where a fit resumed inside an epoch: batches already done, and the tracker rows
  // ([rank][sums..., count]) of that epoch so far.
  int64_t resume_epoch_step = 0;
  at::Tensor resume_tracker;

  State(const Config& c, const WorkerEnvironment& e, Loggers& l, DataModule& d,
        std::shared_ptr<Module> m)
      : config(c), env(e), loggers(l), data(d), model(std::move(m)),
        log(l.child_logger("trainer")), tracker(l.configure_tracker()) {}
};

void Trainer::declare_options(OptionSet& options) {
  options.add_string("device", "", "cpu, cuda or cuda:N (default: BOLT_DEVICE from the launcher, else cpu)")
      .add_int("max_epochs", 5, "epochs to fit", 1)
      .add_bool("verbose", false, "log every log_every_n_steps training steps")
      .add_int("log_every_n_steps", 50, "step interval of verbose logging", 1)
      .add_int("seed", 42, "seed of weights init, shuffling and dropout", 0)
      .add_bool("distributed", false, "informational: set when WORLD_SIZE > 1")
      .add_bool("use_slurm", false, "informational: set when launched from a Slurm step")
      .add_string("dist_backend", "auto", "process group backend", {"auto", "gloo", "nccl"})
      .add_string("master_addr", "127.0.0.1", "rendezvous host (MASTER_ADDR wins)")
      .add_int("master_port", 29500, "rendezvous port (MASTER_PORT wins)", 1)
      .add_int("world_size", 1, "number of ranks (WORLD_SIZE wins)", 1)
      .add_int("rank", 0, "this process's rank (RANK wins)", 0)
      .add_int("local_rank", 0, "rank on this node (LOCAL_RANK wins)", 0)
      .add_int("dist_timeout_s", 300, "rendezvous and collective timeout in seconds", 1)
      .add_float("bucket_cap_mb", 25.0, "gradient bucket size for the DDP allreduce", 0.001)
      .add_string("resume", "",
                  "fit from a checkpoint: auto (last.pt of the newest run of this name, if any) "
                  "or a file; the run continues in that checkpoint's run directory")
      .add_int("checkpoint_every_n_steps", 0,
               "also write last.pt every N training steps, mid-epoch (0: at epoch ends only)", 0)
      .add_string("requeue_signal", "USR1",
                  "signal that makes every rank checkpoint at the same step and stop (exit 75); "
                  "under Slurm rank 0 then requeues the job", {"USR1", "USR2", "TERM", "none"})
      .add_bool("test_after_fit", false, "after fit, test the best weights in the same process")
      .add_string("ckpt_path", "",
                  "weights for validate/test: best, last (newest run of this name) or a file");
}

Trainer::Trainer(const Config& config, const WorkerEnvironment& env, Loggers& loggers,
                 DataModule& datamodule, std::shared_ptr<Module> model)
    : state_(std::make_unique<State>(config, env, loggers, datamodule, std::move(model))) {
  auto& s = *state_;
  std::string device = s.config.get_string("device");
  if (device.empty()) device = s.env.device.empty() ? "cpu" : s.env.device;
  s.device = parse_device(device);
}

Trainer::~Trainer() = default;

int64_t Trainer::get_rank() const { return state_->env.rank; }
bool Trainer::stopped_for_requeue() const { return state_->stopped_for_requeue; }
int64_t Trainer::world_size() const { return state_->env.world_size; }
const c10::Device& Trainer::device() const { return state_->device; }
Module& Trainer::model() { return *state_->model; }
Tracker& Trainer::tracker() { return state_->tracker; }
spdlog::logger& Trainer::log() { return *state_->log; }

namespace {

fs::path resolve_checkpoint(const Config& config, Loggers& loggers) {
  const auto ckpt = config.get_string("ckpt_path");
  if (ckpt.empty()) return {};
  if (ckpt == "best" || ckpt == "last") {
    const fs::path relative = fs::path("checkpoints") / (ckpt + ".pt");
    const auto dir = find_newest_version_with(loggers.logs_dir(), loggers.run_name(), relative);
    if (dir.empty()) {
      throw CheckpointError(fmt::format(
          "trainer.ckpt_path {}: no {} under {} (run fit first, or give a file)", ckpt,
          relative.string(), (loggers.logs_dir() / loggers.run_name()).string()));
    }
    return dir / relative;
  }
  return ckpt;
}

// A checkpoint inside <run>/checkpoints/ belongs to that run: its test results go there too.
fs::path run_dir_of(const fs::path& checkpoint) {
  const auto parent = checkpoint.parent_path();
  if (parent.filename() == "checkpoints" && fs::exists(parent.parent_path() / "config.json")) {
    return parent.parent_path();
  }
  return {};
}

}  // namespace

void Trainer::setup() {
  auto& s = *state_;
  if (s.is_setup) return;
  const auto started = std::chrono::steady_clock::now();
  // One rank joins a group too when a backend is named: e.g. a 1-GPU NCCL check.
  if (s.env.world_size > 1 || s.config.get_string("dist_backend") != "auto") {
    s.comm = dist::connect(s.env, s.device, s.config.get_string("dist_backend"),
                           std::chrono::seconds(s.config.get_int("dist_timeout_s")));
    s.data.use_dist_sampler(s.env.world_size, s.env.rank);
    s.log->info("rank {}/{} joined the {} process group via {}:{} in {:.2f} s", s.env.rank,
                s.env.world_size, s.comm->backend(), s.env.master_addr, s.env.master_port,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  s.data.set_seed(static_cast<uint64_t>(s.config.get_int("seed")));
  if (s.env.local_rank == 0) s.data.prepare_data();
  if (s.comm) s.comm->barrier();
  s.data.setup();

  s.model->to(s.device);
  if (s.comm) {
    std::vector<at::Tensor> state;
    for (auto& p : s.model->parameters()) state.push_back(p);
    for (auto& b : s.model->buffers()) state.push_back(b);
    dist::broadcast_from_rank0(*s.comm, state);
  }
  s.criterion = s.model->configure_criterion();
  s.metric = s.model->configure_metric();
  s.is_setup = true;
}

StepOutput Trainer::shared_step(const Batch& batch) {
  auto& s = *state_;
  auto outputs = s.model->forward(batch.inputs);
  auto loss = s.criterion(outputs, batch.targets);
  at::Tensor score;
  {
    at::NoGradGuard no_grad;
    score = s.metric(outputs.detach(), batch.targets);
  }
  return {loss, {{"loss", loss.detach()}, {"score", score}}, batch.size()};
}

StepOutput Trainer::training_step(int64_t, const Batch& batch) { return shared_step(batch); }
StepOutput Trainer::validation_step(int64_t, const Batch& batch) { return shared_step(batch); }
StepOutput Trainer::test_step(int64_t, const Batch& batch) { return shared_step(batch); }

void Trainer::training_step_end(int64_t, const Batch&, const StepOutput& out) {
  tracker().update(out.values, out.batch_size);
}
void Trainer::validation_step_end(int64_t, const Batch&, const StepOutput& out) {
  tracker().update(out.values, out.batch_size);
}
void Trainer::test_step_end(int64_t, const Batch&, const StepOutput& out) {
  tracker().update(out.values, out.batch_size);
}

EpochMetrics Trainer::training_epoch_end() { return reduce_tracker(); }
EpochMetrics Trainer::validation_epoch_end() { return reduce_tracker(); }
EpochMetrics Trainer::test_epoch_end() { return reduce_tracker(); }

EpochMetrics Trainer::reduce_tracker() {
  auto& s = *state_;
  if (s.comm) {
    auto state = s.tracker.state();
    if (s.device.is_cuda()) state = state.to(s.device);
    s.comm->allreduce_sum(state);
    s.tracker.load_state(state);
  }
  auto result = s.tracker.result();
  result["samples"] = static_cast<double>(s.tracker.count());
  return result;
}

namespace {
Batch to_device(const Batch& batch, const c10::Device& device, bool non_blocking) {
  if (device.is_cpu()) return batch;
  return {batch.inputs.to(device, non_blocking), batch.targets.to(device, non_blocking)};
}

double current_lr(torch::optim::Optimizer& optimizer) {
  return optimizer.param_groups().empty() ? 0.0
                                          : optimizer.param_groups().front().options().get_lr();
}
}  // namespace

namespace {
// Whether any rank got the requeue signal, agreed at a step boundary so that every rank stops
// after the same step. Under DDP the flag rides on the step's gradient allreduce (no extra
// collective); each rank reads the agreed value after the step. On CUDA reading synchronises
// the stream, so it is read every 20 steps there.
class StopAgreement {
 public:
  StopAgreement(const StopSignal& signal, dist::GradientReducer* reducer, const c10::Device& device)
      : signal_(signal), reducer_(reducer), every_(device.is_cuda() ? 20 : 1) {}

  void before_step() {
    if (reducer_ && signal_.number() != 0) reducer_->set_side_value(signal_.received() ? 1.0 : 0.0);
  }

  bool after_step(int64_t global_step) {
    if (signal_.number() == 0 || global_step % every_ != 0) return false;
    if (!reducer_) return signal_.received();
    return reducer_->side_mean().item<double>() > 0;
  }

 private:
  const StopSignal& signal_;
  dist::GradientReducer* reducer_;
  int64_t every_;
};
}  // namespace

std::optional<EpochMetrics> Trainer::train_one_epoch(int64_t epoch) {
  auto& s = *state_;
  auto& loader = *s.train_loader;
  const bool non_blocking = loader.options().pin_memory;
  const bool verbose = s.config.get_bool("verbose");
  const int64_t every = s.config.get_int("log_every_n_steps");
  const int64_t checkpoint_every = s.config.get_int("checkpoint_every_n_steps");
  const int64_t first_batch = std::exchange(s.resume_epoch_step, 0);
  s.model->train();
  s.tracker.reset();
  double restored_samples = 0;  // over all ranks
  if (first_batch > 0 && s.resume_tracker.defined()) {
    // Same world size: each rank continues its own sums; otherwise rank 0 carries them all.
    const auto rows = s.resume_tracker;
    restored_samples = rows.sum(0)[-1].item<double>();
    if (rows.size(0) == s.env.world_size) {
      s.tracker.load_state(rows[s.env.rank]);
    } else if (s.env.rank == 0) {
      s.tracker.load_state(rows.sum(0));
    }
  }
  loader.start_epoch(epoch, first_batch);
  auto progress = s.loggers.configure_progressbar();
  progress.start(epoch, s.config.get_int("max_epochs"), loader.num_batches(), first_batch);
  StopAgreement stop(*s.stop_signal, s.reducer.get(), s.device);
  int64_t batch_idx = first_batch;
  while (auto host_batch = loader.next()) {
    if (s.global_step == 0 && s.env.launch_time > 0) {
      s.launch_to_first_step_s =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
          s.env.launch_time;
    }
    stop.before_step();
    const Batch batch = to_device(*host_batch, s.device, non_blocking);
    StepOutput out = training_step(batch_idx, batch);
    s.optim.optimizer->zero_grad();
    out.loss.backward();
    if (s.reducer) s.reducer->finalize();
    s.optim.optimizer->step();
    training_step_end(batch_idx, batch, out);
    ++s.global_step;
    if (s.loggers.has_writer() && s.global_step % every == 0) {
      s.loggers.log_scalars({{"train/loss_step", out.loss.item<double>()}}, s.global_step);
    }
    if (progress.due(batch_idx + 1)) progress.update(batch_idx + 1, out.loss.item<double>());
    if (verbose && batch_idx % every == 0) {
      s.log->info("epoch {} step {}/{} loss {:.4f}", epoch + 1, batch_idx + 1,
                  loader.num_batches(), out.loss.item<double>());
    }
    ++batch_idx;
    if (stop.after_step(s.global_step)) {
      progress.finish();
      stop_for_requeue(epoch, batch_idx);
      return std::nullopt;
    }
    if (checkpoint_every > 0 && s.global_step % checkpoint_every == 0 && batch_idx < loader.num_batches()) {
      save_checkpoints(epoch, batch_idx, std::nullopt, false);
    }
  }
  progress.finish();
  auto metrics = training_epoch_end();
  metrics["samples_run_here"] = metrics.at("samples") - restored_samples;
  return metrics;
}

EpochMetrics Trainer::evaluate(Stage stage, DataLoader& loader) {
  auto& s = *state_;
  const bool non_blocking = loader.options().pin_memory;
  s.model->eval();
  at::NoGradGuard no_grad;
  s.tracker.reset();
  loader.start_epoch(0);
  int64_t batch_idx = 0;
  while (auto host_batch = loader.next()) {
    const Batch batch = to_device(*host_batch, s.device, non_blocking);
    if (stage == Stage::Test) {
      test_step_end(batch_idx, batch, test_step(batch_idx, batch));
    } else {
      validation_step_end(batch_idx, batch, validation_step(batch_idx, batch));
    }
    ++batch_idx;
  }
  return stage == Stage::Test ? test_epoch_end() : validation_epoch_end();
}

namespace {
// All ranks use the directory rank 0 chose.
fs::path agree_on_run_dir(dist::Communicator* comm, int64_t rank, const std::function<fs::path()>& choose) {
  if (comm == nullptr) return choose();
  if (rank == 0) {
    auto dir = choose();
    comm->store_set("bolt/run_dir", fs::absolute(dir).string());
    return dir;
  }
  return comm->store_get("bolt/run_dir");
}
}  // namespace

void Trainer::run(Stage stage) {
  switch (stage) {
    case Stage::Fit: fit(); break;
    case Stage::Validate: validate(); break;
    case Stage::Test: test(); break;
  }
}

namespace {
// The checkpoint a fit resumes from: none, the newest last.pt of this run name (auto), or a file.
fs::path resolve_resume(const Config& config, Loggers& loggers) {
  const auto resume = config.get_string("resume");
  if (resume.empty()) return {};
  if (resume == "auto") {
    const fs::path relative = fs::path("checkpoints") / "last.pt";
    const auto dir = find_newest_version_with(loggers.logs_dir(), loggers.run_name(), relative);
    return dir.empty() ? fs::path() : dir / relative;
  }
  if (!fs::is_regular_file(resume)) {
    throw CheckpointError(fmt::format("trainer.resume {}: no such checkpoint file", resume));
  }
  return resume;
}

CheckpointTensors rng_state() { return {{"rng_cpu", at::detail::getDefaultCPUGenerator().get_state()}}; }

// Where a fit checkpoint stands (its bolt_meta record).
struct FitPosition {
  int64_t epoch = 0;       // full epochs done
  int64_t epoch_step = 0;  // steps done in the next one
  int64_t steps_per_epoch = -1;
  int64_t global_step = 0;
  int64_t world_size = 0;
  std::optional<double> best_val_score;
};

FitPosition read_fit_position(const nlohmann::json& meta, const fs::path& checkpoint) {
  if (!meta.contains("epoch") || !meta.contains("global_step")) {
    throw CheckpointError(fmt::format("checkpoint {}: not written by fit (no epoch/global_step)",
                                      checkpoint.string()));
  }
  try {
    FitPosition position;
    position.epoch = meta.at("epoch").get<int64_t>();
    position.global_step = meta.at("global_step").get<int64_t>();
    position.epoch_step = meta.value("epoch_step", int64_t{0});
    position.steps_per_epoch = meta.value("steps_per_epoch", int64_t{-1});
    position.world_size = meta.value("world_size", int64_t{0});
    if (meta.contains("best_val_score")) position.best_val_score = meta.at("best_val_score").get<double>();
    if (position.epoch < 0 || position.epoch_step < 0 || position.global_step < 0) {
      throw CheckpointError(fmt::format("checkpoint {}: negative epoch or step in its record", checkpoint.string()));
    }
    return position;
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("checkpoint {}: malformed training position ({})",
                                      checkpoint.string(), e.what()));
  }
}

// The tracker's state of every rank, one row each (a sum over ranks of one-hot rows).
at::Tensor gather_tracker_rows(const Tracker& tracker, dist::Communicator* comm, int64_t rank,
                               int64_t world_size, const c10::Device& device) {
  const auto own = tracker.state();
  if (comm == nullptr) return own.unsqueeze(0);
  auto rows = at::zeros({world_size, own.numel()}, own.options());
  rows[rank].copy_(own);
  if (device.is_cuda()) rows = rows.to(device);
  comm->allreduce_sum(rows);
  return rows.to(at::kCPU);
}
}  // namespace

void Trainer::save_checkpoints(int64_t epoch, int64_t epoch_step, std::optional<double> val_score,
                               bool best) {
  auto& s = *state_;
  // epoch_step > 0: inside epoch `epoch`; the epoch's tracker state travels with it.
  CheckpointTensors extra = rng_state();
  if (epoch_step > 0) {
    extra["tracker"] = gather_tracker_rows(s.tracker, s.comm.get(), s.env.rank, s.env.world_size, s.device);
  }
  if (s.env.rank != 0) return;
  nlohmann::json meta = {{"epoch", epoch},
                         {"epoch_step", epoch_step},
                         {"steps_per_epoch", s.train_loader->num_batches()},
                         {"global_step", s.global_step},
                         {"max_epochs", s.config.get_int("max_epochs")},
                         {"world_size", s.env.world_size}};
  // JSON has no -inf: before the first validation there is no best score yet.
  if (std::isfinite(s.best_val_score)) meta["best_val_score"] = s.best_val_score;
  if (val_score) meta["val_score"] = *val_score;
  const auto dir = s.run_dir / "checkpoints";
  save_checkpoint(dir / "last.pt", *s.model, s.optim.optimizer.get(), meta, extra);
  if (best) {
    save_checkpoint(dir / "best.pt", *s.model, s.optim.optimizer.get(), meta, extra);
  }
}

int64_t Trainer::resume_from(const fs::path& checkpoint) {
  auto& s = *state_;
  CheckpointTensors extra = rng_state();
  extra["tracker"] = at::Tensor();
  const auto meta = load_checkpoint(checkpoint, *s.model, s.optim.optimizer.get(), &extra);
  const auto position = read_fit_position(meta, checkpoint);
  const int64_t epoch = position.epoch;
  const int64_t epoch_step = position.epoch_step;
  if (epoch_step > 0) {
    // Inside an epoch the position only means something for the same sampler shape.
    if (position.steps_per_epoch != s.train_loader->num_batches()) {
      throw CheckpointError(fmt::format(
          "checkpoint {} was written in the middle of an epoch of {} steps (world size {}), but "
          "this run has {} steps per epoch (world size {}): resume with the same ranks and batch "
          "size, or from a checkpoint written at an epoch end",
          checkpoint.string(), position.steps_per_epoch, position.world_size,
          s.train_loader->num_batches(), s.env.world_size));
    }
    const auto& rows = extra.at("tracker");
    const auto width = static_cast<int64_t>(s.tracker.keys().size()) + 1;
    if (!rows.defined() || rows.dim() != 2 || rows.size(1) != width) {
      throw CheckpointError(fmt::format("checkpoint {}: written mid-epoch but without the epoch's "
                                        "tracker state for {} keys", checkpoint.string(), width - 1));
    }
    s.resume_tracker = rows.to(at::kDouble);
  }
  s.resume_epoch_step = epoch_step;
  s.global_step = position.global_step;
  if (position.best_val_score) s.best_val_score = *position.best_val_score;
  // The scheduler steps once per finished epoch.
  for (int64_t e = 0; e < epoch && s.optim.scheduler; ++e) s.optim.scheduler->step();
  at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
  generator.set_state(extra.at("rng_cpu"));
  s.loggers.drop_metrics_after_epoch(epoch);
  s.loggers.log_resume(s.global_step + 1);
  s.log->info("fit: resumed from {} at epoch {} step {} (global step {})", checkpoint.string(),
              epoch + 1, epoch_step, s.global_step);
  return epoch;
}

bool Trainer::any_rank_signalled() {
  auto& s = *state_;
  if (s.stop_signal->number() == 0) return false;
  if (!s.comm) return s.stop_signal->received();
  auto flag = at::full({1}, s.stop_signal->received() ? 1.0f : 0.0f, at::TensorOptions().device(s.device));
  s.comm->allreduce_sum(flag);
  return flag.item<float>() > 0;
}

void Trainer::stop_for_requeue(int64_t epoch, int64_t epoch_step) {
  auto& s = *state_;
  if (epoch_step > 0) {
    s.log->warn("fit: SIG{} received: every rank stops after global step {} (epoch {}, step {}); "
                "writing {}", s.stop_signal->name(), s.global_step, epoch + 1, epoch_step,
                (s.run_dir / "checkpoints" / "last.pt").string());
    save_checkpoints(epoch, epoch_step, std::nullopt, false);
  } else {
    s.log->warn("fit: SIG{} received: every rank stops at the end of epoch {} (global step {}), "
                "whose last.pt is written", s.stop_signal->name(), epoch, s.global_step);
  }
  // From here on every rank only leaves. A requeue makes Slurm SIGTERM the step at once; dying
  // of it would report a stop that went as planned as a failure.
  std::signal(SIGTERM, SIG_IGN);
  // No rank leaves before last.pt is on disk and the job is requeued: a supervisor (srun
  // --kill-on-bad-exit, bolt-launch) seeing one rank exit could kill rank 0 mid-way.
  if (s.comm) s.comm->barrier();
  s.stopped_for_requeue = true;
  std::string requeue_failure;
  if (s.env.rank == 0 && !s.env.slurm_job_id.empty()) requeue_failure = requeue_slurm_job(s.env.slurm_job_id);
  if (s.comm) s.comm->barrier();
  if (s.env.rank != 0) return;
  const auto last = (s.run_dir / "checkpoints" / "last.pt").string();
  if (!requeue_failure.empty()) {
    // Reported once every rank has left the group, so that the others still exit 75.
    s.deferred_error = fmt::format("{} was written, but the job could not be requeued ({}): "
                                   "resubmit it with --trainer.resume auto", last, requeue_failure);
    return;
  }
  if (s.env.slurm_job_id.empty()) {
    s.log->warn("fit: stopped at {} (exit {}); continue with the same command and "
                "--trainer.resume auto", last, kStoppedForRequeueExitCode);
  } else {
    s.log->warn("fit: requeued Slurm job {}; it resumes from {} when it runs again (exit {})",
                s.env.slurm_job_id, last, kStoppedForRequeueExitCode);
  }
}

void Trainer::fit() {
  auto& s = *state_;
  // Before setup: a preemption notice during the rendezvous or data preparation must not kill
  // the rank (USR1's default action); it stops the fit at its first step instead.
  s.stop_signal.emplace(s.config.get_string("requeue_signal"));
  setup();
  // Every rank checks trainer.resume (so that each reports a bad one); rank 0 decides where
  // the fit writes and what it resumes from, and the others follow.
  fs::path resume_path = resolve_resume(s.config, s.loggers);
  std::string restart_note;
  const auto run_dir = agree_on_run_dir(s.comm.get(), s.env.rank, [&] {
    if (resume_path.empty() && s.config.get_string("resume").empty() && s.env.restart_count > 0) {
      // A restarted (bolt-launch --max-restarts) or requeued (Slurm) job continues its own run.
      const auto dir = find_version_of_run(s.loggers.logs_dir(), s.loggers.run_name(), s.env.run_id);
      if (!dir.empty()) {
        if (fs::exists(dir / "checkpoints" / "last.pt")) resume_path = dir / "checkpoints" / "last.pt";
        restart_note = fmt::format("fit: restart {} of run {}: continuing in {}", s.env.restart_count,
                                   s.env.run_id, dir.string());
        return dir;
      }
    }
    auto dir = run_dir_of(resume_path);
    return dir.empty() ? create_run_directory(s.loggers.logs_dir(), s.loggers.run_name()) : dir;
  });
  if (s.comm) {
    if (s.env.rank == 0) s.comm->store_set("bolt/resume", resume_path.string());
    resume_path = s.comm->store_get("bolt/resume");
  }
  s.run_dir = run_dir;
  s.loggers.open_run_directory(run_dir);
  s.log->info("fit: run directory {}", run_dir.string());
  if (!restart_note.empty()) s.log->info("{}", restart_note);

  s.optim = s.model->configure_optimizer();
  if (!s.optim.optimizer) throw PluginError("Module::configure_optimizer() returned no optimizer");
  // Python's schedulers take their first step in the constructor, libtorch's do not: without
  // this a StepLR(step_size=2) would first decay after 3 epochs instead of 2.
  if (s.optim.scheduler) s.optim.scheduler->step();
  if (s.comm) {
    auto bucket_bytes = static_cast<int64_t>(s.config.get_float("bucket_cap_mb") * 1024 * 1024);
    s.reducer = std::make_unique<dist::BucketedGradientReducer>(s.model->parameters_to_update(),
                                                                *s.comm, bucket_bytes);
  }
  s.train_loader.emplace(s.data.train_dataloader());
  s.val_loader.emplace(s.data.val_dataloader());
  int64_t start_epoch = 0;
  if (!resume_path.empty()) {
    start_epoch = resume_from(resume_path);
  } else if (s.config.get_string("resume") == "auto") {
    s.log->info("fit: trainer.resume auto found no checkpoint of '{}': starting fresh", s.loggers.run_name());
  }
  const int64_t max_epochs = s.config.get_int("max_epochs");
  s.log->info("fit: {} epochs, {} train / {} val samples on this rank, {} steps per epoch, device {}",
              max_epochs, s.train_loader->num_samples(), s.val_loader->num_samples(),
              s.train_loader->num_batches(), s.device.str());

  for (int64_t epoch = start_epoch; epoch < max_epochs; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    const double lr = current_lr(*s.optim.optimizer);
    const auto trained = train_one_epoch(epoch);
    if (!trained) return;
    const auto& train = *trained;
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (s.optim.scheduler) s.optim.scheduler->step();
    const auto val = evaluate(Stage::Validate, *s.val_loader);
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double samples_per_s = train.at("samples_run_here") / train_seconds;

    nlohmann::json row = {{"epoch", epoch + 1},
                          {"train_loss", train.at("loss")},
                          {"train_score", train.at("score")},
                          {"val_loss", val.at("loss")},
                          {"val_score", val.at("score")},
                          {"lr", lr},
                          {"epoch_time_s", epoch_seconds},
                          {"train_samples_per_s", samples_per_s}};
    if (s.launch_to_first_step_s) {
      row["launch_to_first_step_s"] = *s.launch_to_first_step_s;
      s.launch_to_first_step_s.reset();
    }
    s.loggers.log_scalars({{"train/loss", train.at("loss")}, {"train/score", train.at("score")},
                           {"val/loss", val.at("loss")}, {"val/score", val.at("score")},
                           {"lr", lr}, {"samples_per_s", samples_per_s}},
                          epoch + 1);
    s.loggers.log_metrics(row);
    s.log->info("epoch {}/{} | train loss {:.4f} score {:.4f} | val loss {:.4f} score {:.4f} | "
                "lr {:.5g} | {:.1f} s, {:.0f} samples/s",
                epoch + 1, max_epochs, train.at("loss"), train.at("score"), val.at("loss"),
                val.at("score"), lr, epoch_seconds, samples_per_s);

    const bool best = val.at("score") > s.best_val_score;
    if (best) s.best_val_score = val.at("score");
    save_checkpoints(epoch + 1, 0, val.at("score"), best);
    // A signal that came during validation is acted on here, not a whole epoch later: the
    // epoch's last.pt is already written. One tiny allreduce per epoch.
    if (epoch + 1 < max_epochs && any_rank_signalled()) {
      stop_for_requeue(epoch + 1, 0);
      return;
    }
  }
  if (s.stop_signal->received()) {
    s.log->info("fit: SIG{} came after the last training step: the fit is complete, nothing to requeue",
                s.stop_signal->name());
  }
  s.log->info("fit: done, best val_score {:.4f}, checkpoints in {}", s.best_val_score,
              (run_dir / "checkpoints").string());
  if (s.config.get_bool("test_after_fit")) {
    // Every rank loads rank 0's best.pt: wait until it is surely written.
    if (s.comm) s.comm->barrier();
    load_checkpoint(run_dir / "checkpoints" / "best.pt", *s.model, nullptr);
    s.model->to(s.device);
    run_test_stage(Stage::Test);
  }
}

EpochMetrics Trainer::validate() { return evaluate_checkpoint(Stage::Validate); }
EpochMetrics Trainer::test() { return evaluate_checkpoint(Stage::Test); }

EpochMetrics Trainer::evaluate_checkpoint(Stage stage) {
  auto& s = *state_;
  setup();
  const auto checkpoint = resolve_checkpoint(s.config, s.loggers);
  const auto run_dir = agree_on_run_dir(s.comm.get(), s.env.rank, [&] {
    auto dir = run_dir_of(checkpoint);
    return dir.empty() ? create_run_directory(s.loggers.logs_dir(), s.loggers.run_name()) : dir;
  });
  s.loggers.open_run_directory(run_dir);
  if (!checkpoint.empty()) {
    load_checkpoint(checkpoint, *s.model, nullptr);
    s.model->to(s.device);
    s.log->info("loaded weights from {}", checkpoint.string());
  } else {
    s.log->warn("no trainer.ckpt_path given: {} runs on freshly initialised weights", to_string(stage));
  }
  return run_test_stage(stage);
}

EpochMetrics Trainer::run_test_stage(Stage stage) {
  auto& s = *state_;
  const bool test = stage == Stage::Test;
  auto& loader = test ? s.test_loader : s.val_loader;
  loader.emplace(test ? s.data.test_dataloader() : s.data.val_dataloader());
  const auto metrics = evaluate(stage, *loader);
  const std::string prefix = test ? "test" : "val";
  s.loggers.log_metrics({{"stage", to_string(stage)},
                         {prefix + "_loss", metrics.at("loss")},
                         {prefix + "_score", metrics.at("score")},
                         {"samples", metrics.at("samples")}});
  s.log->info("{}: {}_loss {:.4f} {}_score {:.4f} on {} samples", to_string(stage), prefix,
              metrics.at("loss"), prefix, metrics.at("score"),
              static_cast<int64_t>(metrics.at("samples")));
  return metrics;
}

void Trainer::destroy() {
  auto& s = *state_;
  if (s.destroyed) return;
  s.destroyed = true;
  s.reducer.reset();
  s.train_loader.reset();
  s.val_loader.reset();
  s.test_loader.reset();
  if (s.comm) {
    // Leave together: rank 0 hosts the store the others still talk to.
    s.comm->barrier();
    s.comm.reset();
  }
  if (!s.deferred_error.empty()) throw EnvironmentError(s.deferred_error);
}

}  // namespace bolt
