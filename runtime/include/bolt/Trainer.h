#pragma once
// The seed's Trainer: fit (validating each epoch), validate and test, on one device or as
// one rank of a DDP job. Subclasses override the *_step / *_step_end / *_epoch_end hooks.
#include "bolt/Export.h"
#include <cstdint>
#include <map>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <c10/core/Device.h>

#include "bolt/Config.h"
#include "bolt/DataModule.h"
#include "bolt/Loggers.h"
#include "bolt/Module.h"
#include "bolt/WorkerEnvironment.h"

namespace bolt {

struct BOLT_API StepOutput {
  at::Tensor loss;                            // with its graph during training
  std::map<std::string, at::Tensor> values;   // scalars for the tracker ("loss", "score", ...)
  int64_t batch_size = 0;
};

using EpochMetrics = std::map<std::string, double>;  // at least "loss" and "score"

enum class Stage { Fit, Validate, Test };
Stage parse_stage(const std::string& text);
const char* to_string(Stage stage);

// Parses cpu | cuda | cuda:N and checks that the device exists in this build.
c10::Device parse_device(const std::string& text);
// Seeds libtorch's generators (weights init, dropout) the same on every rank.
void seed_everything(uint64_t seed);

class BOLT_API Trainer {
 public:
  Trainer(const Config& config, const WorkerEnvironment& env, Loggers& loggers,
          DataModule& datamodule, std::shared_ptr<Module> model);
  virtual ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // device, max_epochs, verbose, seed, distributed, use_slurm, dist_backend, master_addr,
  // master_port, world_size, rank, local_rank, dist_timeout_s, bucket_cap_mb, resume,
  // checkpoint_every_n_steps, requeue_signal, test_after_fit, ckpt_path.
  static void declare_options(OptionSet& options);

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

  // Forward, loss and score of one batch: what the default *_step hooks run.
  StepOutput shared_step(const Batch& batch);
  Module& model();
  Tracker& tracker();
  // The tracker's epoch result, reduced across ranks.
  EpochMetrics reduce_tracker();
  spdlog::logger& log();

 private:
  struct State;
  std::unique_ptr<State> state_;
  void setup();
  EpochMetrics evaluate(Stage stage, DataLoader& loader);
  // Nothing when the ranks agreed to stop for a requeue (last.pt is written by then).
  std::optional<EpochMetrics> train_one_epoch(int64_t epoch);
  // last.pt (and best.pt when `best`) after `epoch` full epochs and `epoch_step` more steps.
  void save_checkpoints(int64_t epoch, int64_t epoch_step, std::optional<double> val_score, bool best);
  // Loads a fit checkpoint; returns the epoch to continue (resume_epoch_step says where in it).
  int64_t resume_from(const std::filesystem::path& checkpoint);
  // Every rank stopped after `epoch` full epochs and `epoch_step` steps: checkpoint (unless at
  // an epoch end, already written), requeue under Slurm, and leave fit() with exit 75 to come.
  void stop_for_requeue(int64_t epoch, int64_t epoch_step);
  bool any_rank_signalled();
  EpochMetrics evaluate_checkpoint(Stage stage);
  EpochMetrics run_test_stage(Stage stage);
};

}  // namespace bolt
