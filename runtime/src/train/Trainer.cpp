// The Trainer's set-up, its default step hooks, and the evaluation stages. The fit itself is
// FitLoop (FitLoop.cpp).
#include "bolt/Trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../checkpoint/Checkpoint.h"
#include "../dist/RecordingCommunicator.h"
#include "Autocast.h"
#include "BatchFeed.h"
#include "FitLoop.h"
#include "RunDirectory.h"
#include "StepError.h"
#include "TrainerState.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

Trainer::Trainer(const Config& config, const WorkerEnvironment& env, Loggers& loggers,
                 DataModule& datamodule, std::shared_ptr<Module> model)
    : state_(std::make_unique<State>(config, env, loggers, datamodule, std::move(model))) {
  auto& s = *state_;
  std::string device = s.options.device;
  if (device.empty()) device = s.env.device.empty() ? "cpu" : s.env.device;
  s.device = parse_device(device);
}

Trainer::~Trainer() = default;

int64_t Trainer::get_rank() const { return state_->env.rank; }
bool Trainer::stopped_for_requeue() const { return state_->stopped_for_requeue; }
int64_t Trainer::world_size() const { return state_->env.world_size; }
const c10::Device& Trainer::device() const { return state_->device; }
Module& Trainer::model() { return *state_->model; }
DataModule& Trainer::datamodule() { return state_->data; }
spdlog::logger& Trainer::log() { return *state_->log; }
const Config& Trainer::config() const { return state_->config; }
const TrainerOptions& Trainer::options() const { return state_->options; }
int64_t Trainer::global_step() const { return state_->global_step; }
int64_t Trainer::current_epoch() const { return state_->epoch; }

Tracker& Trainer::tracker() {
  if (!state_->tracker) throw Error("Trainer::tracker() used before the trainer was set up");
  return *state_->tracker;
}

std::vector<std::shared_ptr<torch::optim::Optimizer>> Trainer::optimizers() {
  std::vector<std::shared_ptr<torch::optim::Optimizer>> out;
  if (state_->optimization) {
    for (const auto& setup : state_->optimization->setups()) out.push_back(setup.optimizer);
  }
  return out;
}

std::vector<std::string> Trainer::step_output_names() {
  std::vector<std::string> names{"loss"};
  for (auto& name : state_->model->metric_names()) {
    if (name != "loss") names.push_back(name);
  }
  return names;
}

void Trainer::setup() {
  auto& s = *state_;
  if (s.is_setup) return;
  const auto& o = s.options;
  check_precision(o.precision, s.device);
  if (!automatic_optimization()) {
    auto refuse = [](const std::string& what) {
      throw ConfigError(fmt::format("{}: this trainer steps its optimizers itself (manual "
                                    "optimization), so Bolt cannot do it; set it to its default", what));
    };
    if (o.accumulate_grad_batches != 1) refuse("trainer.accumulate_grad_batches");
    if (o.gradient_clip_val > 0) refuse("trainer.gradient_clip_val (call clip_gradients() in the step)");
    if (o.precision == Precision::Fp16Mixed) refuse("trainer.precision 16-mixed");
  }
  // Before anything joins or is written: a tracked name no step reports is a config error.
  s.tracker.emplace(s.loggers.configure_tracker(step_output_names()));

  const auto started = std::chrono::steady_clock::now();
  // One rank joins a group too when a backend is named: e.g. a 1-GPU NCCL check.
  if (s.env.world_size > 1 || o.dist_backend != "auto") {
    // With the hang watchdog on, it acts before a collective times out: it knows which rank
    // is behind, a collective timeout only that a peer is late.
    const auto collective_timeout = o.hang_timeout_s > 0
        ? std::max<int64_t>(o.dist_timeout_s, static_cast<int64_t>(std::ceil(o.hang_timeout_s)) + 30)
        : o.dist_timeout_s;
    s.comm = dist::make_recording_communicator(
        dist::connect(s.env, s.device, o.dist_backend, std::chrono::seconds(o.dist_timeout_s),
                      std::chrono::seconds(collective_timeout)),
        s.activity);
    s.log->info("rank {}/{} joined the {} process group via {}:{} in {:.2f} s", s.env.rank,
                s.env.world_size, s.comm->backend(), s.env.master_addr, s.env.master_port,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (o.hang_timeout_s > 0) s.watchdog.emplace(s.activity, o.hang_timeout_s);
  const auto joined = std::chrono::steady_clock::now();
  const RunContext context{s.env.rank, s.env.world_size, s.env.local_rank, s.device};
  s.data.set_context(context);
  s.model->set_context(context);
  s.data.set_seed(o.seed);
  if (s.env.local_rank == 0) s.data.prepare_data();
  if (s.comm) s.comm->barrier("after prepare_data");
  s.data.setup();
  const auto data_ready = std::chrono::steady_clock::now();

  s.model->to(s.device);
  if (s.comm) {
    std::vector<at::Tensor> state;
    for (auto& p : s.model->parameters()) state.push_back(p);
    for (auto& b : s.model->buffers()) state.push_back(b);
    dist::broadcast_from_rank0(*s.comm, state, "rank 0's initial weights");
  }
  // Where start-up goes (scripts/bench/ddp.sh reads it): the time since the launch is in the
  // first epoch's launch_to_first_step_s.
  using Seconds = std::chrono::duration<double>;
  const auto now = std::chrono::steady_clock::now();
  s.log->info("set-up: process group {:.3f} s, data {:.3f} s, model to device and rank 0's weights {:.3f} s",
              Seconds(joined - started).count(), Seconds(data_ready - joined).count(),
              Seconds(now - data_ready).count());
  s.is_setup = true;
}

StepOutput Trainer::shared_step(const Batch& batch) {
  auto& model = *state_->model;
  auto outputs = model.forward_batch(batch);
  auto loss = model.compute_loss(outputs, batch);
  std::map<std::string, at::Tensor> values;
  {
    at::NoGradGuard no_grad;
    values = model.compute_metrics(outputs.detach(), batch);
  }
  values["loss"] = loss.detach();
  return {loss, std::move(values), batch.size()};
}

StepOutput Trainer::training_step(int64_t, const Batch& batch) { return shared_step(batch); }
StepOutput Trainer::validation_step(int64_t, const Batch& batch) { return shared_step(batch); }
StepOutput Trainer::test_step(int64_t, const Batch& batch) { return shared_step(batch); }

void Trainer::training_step_end(int64_t, const Batch&, const StepOutput& out) { track(out); }
void Trainer::validation_step_end(int64_t, const Batch&, const StepOutput& out) { track(out); }
void Trainer::test_step_end(int64_t, const Batch&, const StepOutput& out) { track(out); }

void Trainer::track(const StepOutput& out) {
  auto& s = *state_;
  tracker().update(out.values, out.batch_size);
  if (s.warned_untracked) return;
  s.warned_untracked = true;
  // Said once: a value a step reports but nobody declared would otherwise vanish silently.
  const auto& keys = tracker().keys();
  std::vector<std::string> untracked;
  for (const auto& [name, value] : out.values) {
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) untracked.push_back(name);
  }
  if (!untracked.empty()) {
    s.log->warn("the step reports {} but only {} are tracked: declare them in Module::metric_names() or "
                "Trainer::step_output_names() (and loggers.tracker_keys, if set) to track them",
                fmt::join(untracked, ", "), fmt::join(keys, ", "));
  }
}

EpochMetrics Trainer::training_epoch_end() { return reduce_tracker(); }
EpochMetrics Trainer::validation_epoch_end() { return reduce_tracker(); }
EpochMetrics Trainer::test_epoch_end() { return reduce_tracker(); }

void Trainer::on_before_optimizer_step(torch::optim::Optimizer&) {}

void Trainer::manual_backward(const at::Tensor& loss) {
  auto& s = *state_;
  loss.backward();
  if (s.reducer) s.reducer->finalize();
}

at::Tensor Trainer::clip_gradients(double max_value, ClipAlgorithm algorithm,
                                   std::vector<at::Tensor> parameters) {
  if (parameters.empty()) parameters = state_->model->parameters_to_update();
  return bolt::clip_gradients(parameters, max_value, algorithm);
}

EpochMetrics Trainer::reduce_tracker() {
  auto& s = *state_;
  auto& tracker = this->tracker();
  if (s.comm) {
    auto state = tracker.state();
    if (s.device.is_cuda()) state = state.to(s.device);
    s.comm->allreduce_sum(state, "tracker (epoch metrics)");
    tracker.load_state(state);
  }
  auto result = tracker.result();
  result["samples"] = static_cast<double>(tracker.count());
  return result;
}

double Trainer::samples_of(const EpochMetrics& metrics) {
  // A custom *_epoch_end may return its own map: the tracker still counted the samples.
  const auto it = metrics.find("samples");
  return it != metrics.end() ? it->second : static_cast<double>(tracker().count());
}

StepOutput Trainer::run_training_step(int64_t batch_idx, const Batch& batch) {
  AutocastGuard autocast(state_->options.precision, state_->device);
  return training_step(batch_idx, batch);
}

EpochMetrics Trainer::evaluate(Stage stage, DataLoader& loader) {
  auto& s = *state_;
  s.model->eval();
  at::NoGradGuard no_grad;
  if (s.comm) {
    // Buffers (BatchNorm statistics) are updated by each rank's own batches; like PyTorch DDP
    // (broadcast_buffers), rank 0's hold: every rank evaluates what best.pt/last.pt keep.
    const auto buffers = s.model->buffers();
    if (!buffers.empty()) dist::broadcast_from_rank0(*s.comm, buffers, "rank 0's buffers");
  }
  tracker().reset();
  loader.start_epoch(0);
  int64_t batch_idx = 0;
  const int64_t epoch = s.optimization != nullptr ? s.epoch : 0;
  BatchFeed feed(loader, s.device);
  s.activity.at_step(epoch, batch_idx, diagnosis::Doing::LoadingData);
  while (auto fed = feed.next()) {
    const Batch& batch = *fed;
    s.activity.now_doing(diagnosis::Doing::EvaluationStep);
    try {
      AutocastGuard autocast(s.options.precision, s.device);
      if (stage == Stage::Test) {
        test_step_end(batch_idx, batch, test_step(batch_idx, batch));
      } else {
        validation_step_end(batch_idx, batch, validation_step(batch_idx, batch));
      }
    } catch (...) {
      const bool in_fit = s.optimization != nullptr;
      rethrow_with_place({in_fit ? "fit (validation)" : to_string(stage), in_fit ? s.epoch : 0,
                          batch_idx, s.global_step, s.env.rank, s.model->origin()});
    }
    ++batch_idx;
    s.activity.at_step(epoch, batch_idx, diagnosis::Doing::LoadingData);
  }
  return stage == Stage::Test ? test_epoch_end() : validation_epoch_end();
}

void Trainer::run(Stage stage) {
  switch (stage) {
    case Stage::Fit: fit(); break;
    case Stage::Validate: validate(); break;
    case Stage::Test: test(); break;
  }
}

void Trainer::fit() { FitLoop(*this).run(); }
EpochMetrics Trainer::validate() { return evaluate_checkpoint(Stage::Validate); }
EpochMetrics Trainer::test() { return evaluate_checkpoint(Stage::Test); }

EpochMetrics Trainer::evaluate_checkpoint(Stage stage) {
  auto& s = *state_;
  s.activity.set_stage(stage == Stage::Test ? "test" : "validate");
  setup();
  const auto checkpoint = resolve_checkpoint(s.options, s.loggers);
  const auto run_dir = agree_on_run_dir(s.comm.get(), s.env.rank, [&] {
    auto dir = run_dir_of(checkpoint);
    return dir.empty() ? create_run_directory(s.loggers.logs_dir(), s.loggers.run_name()) : dir;
  });
  s.loggers.open_run_directory(run_dir);
  if (!checkpoint.empty()) {
    load_checkpoint(checkpoint, *s.model, {});
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
  const double samples = samples_of(metrics);
  nlohmann::json row = {{"stage", to_string(stage)}, {"samples", samples}};
  std::string summary;
  for (const auto& [name, value] : metrics) {
    if (name == "samples") continue;
    row[prefix + "_" + name] = value;
    summary += fmt::format(" {}_{} {:.4f}", prefix, name, value);
  }
  s.loggers.log_metrics(row);
  s.log->info("{}:{} on {} samples", to_string(stage), summary, static_cast<int64_t>(samples));
  return metrics;
}

void Trainer::destroy() {
  auto& s = *state_;
  if (s.destroyed) return;
  s.destroyed = true;
  s.optimization.reset();
  s.reducer.reset();
  s.train_loader.reset();
  s.val_loader.reset();
  s.test_loader.reset();
  if (s.comm) {
    // Leave together: rank 0 hosts the store the others still talk to.
    s.comm->barrier("end of the run");
    s.comm.reset();
  }
  if (!s.deferred_error.empty()) throw EnvironmentError(s.deferred_error);
}

}  // namespace bolt
