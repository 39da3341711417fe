#pragma once
// The seed's Trainer: fit (validating each epoch), validate and test, on one device or as
// one rank of a DDP job. A plugin subclasses it and registers it with
// BOLT_REGISTER_TRAINER(MyTrainer, "my_trainer"); `trainer.name my_trainer` selects it.
//
// What one training step runs (automatic optimization), in order:
//   training_step(batch_idx, batch)      forward and loss: by default shared_step(batch), i.e.
//                                        Module::forward_batch → compute_loss → compute_metrics
//   (backward; gradients averaged across ranks on the last of accumulate_grad_batches)
//   on_before_optimizer_step(optimizer)  averaged, unscaled gradients, before clipping
//   (clipping by trainer.gradient_clip_*, optimizer step, per-step schedulers)
//   training_step_end(batch_idx, batch, out)   by default: the tracker takes out.values
// and at the epoch's end training_epoch_end() (default: the tracker reduced across ranks).
// A subclass whose automatic_optimization() is false owns the whole step instead:
// training_step runs forward, manual_backward(loss) (averages across ranks) and the
// optimizers' steps itself (several optimizers: Module::configure_optimizers()).
// validation_* and test_* hooks work alike without optimization.
#include "bolt/Export.h"
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "bolt/Config.h"
#include "bolt/DataModule.h"
#include "bolt/Loggers.h"
#include "bolt/Module.h"
#include "bolt/TrainerOptions.h"
#include "bolt/WorkerEnvironment.h"

namespace bolt {

struct BOLT_API StepOutput {
  at::Tensor loss;                            // with its graph during training
  std::map<std::string, at::Tensor> values;   // scalars for the tracker ("loss", "score", ...)
  int64_t batch_size = 0;
};

using EpochMetrics = std::map<std::string, double>;  // every tracked name, and "samples"

enum class Stage { Fit, Validate, Test };
BOLT_API Stage parse_stage(const std::string& text);
BOLT_API const char* to_string(Stage stage);

// Parses cpu | cuda | cuda:N and checks that the device exists in this build.
BOLT_API c10::Device parse_device(const std::string& text);
// Seeds libtorch's generators (weights init, dropout) the same on every rank.
BOLT_API void seed_everything(uint64_t seed);

class BOLT_API Trainer {
 public:
  Trainer(const Config& config, const WorkerEnvironment& env, Loggers& loggers,
          DataModule& datamodule, std::shared_ptr<Module> model);
  virtual ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // The trainer.* keys (TrainerOptions). A subclass hides this to add its own keys; they are
  // declared after these.
  static void declare_options(OptionSet& options) { TrainerOptions::declare(options); }

  void fit();
  EpochMetrics validate();
  EpochMetrics test();
  void run(Stage stage);
  // Leaves the process group and releases the run's resources (idempotent). Then throws an
  // error that had to wait until every rank left (rank 0: the requeue after a stop failed).
  void destroy();

  int64_t get_rank() const;
  // After fit(): whether the requeue signal stopped it at a checkpoint before max_epochs.
  bool stopped_for_requeue() const;
  int64_t world_size() const;
  const c10::Device& device() const;

 protected:
  virtual StepOutput training_step(int64_t batch_idx, const Batch& batch);
  virtual void training_step_end(int64_t batch_idx, const Batch& batch, const StepOutput& out);
  virtual EpochMetrics training_epoch_end();

  virtual StepOutput validation_step(int64_t batch_idx, const Batch& batch);
  virtual void validation_step_end(int64_t batch_idx, const Batch& batch,
                                   const StepOutput& out);
  virtual EpochMetrics validation_epoch_end();

  virtual StepOutput test_step(int64_t batch_idx, const Batch& batch);
  virtual void test_step_end(int64_t batch_idx, const Batch& batch, const StepOutput& out);
  virtual EpochMetrics test_epoch_end();

  // Gradients are averaged across ranks (and unscaled) here; clipping comes after it.
  virtual void on_before_optimizer_step(torch::optim::Optimizer& optimizer);
  // False: training_step owns the step (manual_backward, then the optimizers' own steps).
  virtual bool automatic_optimization() const { return true; }
  // The names a training/validation step reports: what loggers.tracker_keys may choose from,
  // checked before anything is written. Default: "loss" and the model's metric_names().
  virtual std::vector<std::string> step_output_names();

  // Forward, loss and score of one batch: what the default *_step hooks run.
  StepOutput shared_step(const Batch& batch);
  // Manual optimization: backward of `loss`, then the gradients of every trained parameter
  // averaged across ranks (call it once per backward; every rank must call it alike).
  void manual_backward(const at::Tensor& loss);
  // Clips the gradients of `parameters` (default: all trained ones); returns the pre-clip norm.
  at::Tensor clip_gradients(double max_value, ClipAlgorithm algorithm,
                            std::vector<at::Tensor> parameters = {});
  // The optimizers of configure_optimizers(), in order (after fit's set-up).
  std::vector<std::shared_ptr<torch::optim::Optimizer>> optimizers();
  Module& model();
  DataModule& datamodule();
  Tracker& tracker();
  // The tracker's epoch result, reduced across ranks.
  EpochMetrics reduce_tracker();
  spdlog::logger& log();
  const Config& config() const;
  const TrainerOptions& options() const;
  // Optimizer steps so far in this fit (resumed fits continue the count).
  int64_t global_step() const;
  int64_t current_epoch() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  friend class FitLoop;
  void setup();
  EpochMetrics evaluate(Stage stage, DataLoader& loader);
  StepOutput run_training_step(int64_t batch_idx, const Batch& batch);
  EpochMetrics evaluate_checkpoint(Stage stage);
  EpochMetrics run_test_stage(Stage stage);
  // The default *_step_end: the tracker takes the step's values (a warning, once, for names
  // reported but not tracked).
  void track(const StepOutput& out);
  double samples_of(const EpochMetrics& metrics);
};

}  // namespace bolt
