#include "bolt/Trainer.h"

#include <chrono>
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

EpochMetrics Trainer::train_one_epoch(int64_t epoch) {
  auto& s = *state_;
  auto& loader = *s.train_loader;
  const bool non_blocking = loader.options().pin_memory;
  const bool verbose = s.config.get_bool("verbose");
  const int64_t every = s.config.get_int("log_every_n_steps");
  s.model->train();
  s.tracker.reset();
  loader.start_epoch(epoch);
  auto progress = s.loggers.configure_progressbar();
  progress.start(epoch, s.config.get_int("max_epochs"), loader.num_batches());
  int64_t batch_idx = 0;
  while (auto host_batch = loader.next()) {
    if (s.global_step == 0 && s.env.launch_time > 0) {
      s.launch_to_first_step_s =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() -
          s.env.launch_time;
    }
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
  }
  progress.finish();
  return training_epoch_end();
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
}  // namespace

void Trainer::fit() {
  auto& s = *state_;
  setup();
  const auto resume_from = resolve_resume(s.config, s.loggers);
  const auto run_dir = agree_on_run_dir(s.comm.get(), s.env.rank, [&] {
    auto dir = run_dir_of(resume_from);
    return dir.empty() ? create_run_directory(s.loggers.logs_dir(), s.loggers.run_name()) : dir;
  });
  s.loggers.open_run_directory(run_dir);
  s.log->info("fit: run directory {}", run_dir.string());

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
  int64_t start_epoch = 0;
  if (!resume_from.empty()) {
    auto extra = rng_state();
    const auto meta = load_checkpoint(resume_from, *s.model, s.optim.optimizer.get(), &extra);
    if (!meta.contains("epoch") || !meta.contains("global_step")) {
      throw CheckpointError(fmt::format("checkpoint {}: not written by fit (no epoch/global_step)",
                                        resume_from.string()));
    }
    start_epoch = meta["epoch"].get<int64_t>();
    s.global_step = meta["global_step"].get<int64_t>();
    s.best_val_score = meta.value("best_val_score", s.best_val_score);
    for (int64_t e = 0; e < start_epoch && s.optim.scheduler; ++e) s.optim.scheduler->step();
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    generator.set_state(extra.at("rng_cpu"));
    s.log->info("fit: resumed from {} after epoch {} (global step {})", resume_from.string(),
                start_epoch, s.global_step);
  } else if (s.config.get_string("resume") == "auto") {
    s.log->info("fit: trainer.resume auto found no checkpoint of '{}': starting fresh", s.loggers.run_name());
  }
  s.train_loader.emplace(s.data.train_dataloader());
  s.val_loader.emplace(s.data.val_dataloader());
  const int64_t max_epochs = s.config.get_int("max_epochs");
  s.log->info("fit: {} epochs, {} train / {} val samples on this rank, {} steps per epoch, device {}",
              max_epochs, s.train_loader->num_samples(), s.val_loader->num_samples(),
              s.train_loader->num_batches(), s.device.str());

  for (int64_t epoch = start_epoch; epoch < max_epochs; ++epoch) {
    const auto started = std::chrono::steady_clock::now();
    const double lr = current_lr(*s.optim.optimizer);
    const auto train = train_one_epoch(epoch);
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (s.optim.scheduler) s.optim.scheduler->step();
    const auto val = evaluate(Stage::Validate, *s.val_loader);
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double samples_per_s = train.at("samples") / train_seconds;

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
    if (s.env.rank == 0) {
      const nlohmann::json meta = {{"epoch", epoch + 1}, {"global_step", s.global_step},
                                   {"val_score", val.at("score")}, {"best_val_score", s.best_val_score},
                                   {"max_epochs", max_epochs}, {"world_size", s.env.world_size}};
      const auto extra = rng_state();
      save_checkpoint(run_dir / "checkpoints" / "last.pt", *s.model, s.optim.optimizer.get(), meta, extra);
      if (best) save_checkpoint(run_dir / "checkpoints" / "best.pt", *s.model, s.optim.optimizer.get(), meta, extra);
    }
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
}

}  // namespace bolt
