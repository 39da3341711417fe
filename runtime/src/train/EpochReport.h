#pragma once
// What a fit reports after each epoch: one metrics.jsonl row, TensorBoard scalars and a log
// line, from the train and validation results (every tracked name, train_<name>/val_<name>).
#include <cstdint>
#include <optional>
#include <vector>

#include <spdlog/logger.h>

#include "bolt/Loggers.h"
#include "StepTimeReport.h"
#include "bolt/Trainer.h"

namespace bolt {

// Where this rank's training steps spent their time in an epoch (seconds, summed): waiting
// for the next batch, computing (forward, backward, optimizer), waiting for the gradient
// collectives to finish.
struct StepTimes {
  int64_t steps = 0;
  double data_wait = 0;
  double compute = 0;
  double collective_wait = 0;
  std::vector<float> busy_ms;  // per step: data wait + compute, without collective waits
};

struct EpochSummary {
  int64_t epoch = 0;  // 1-based
  int64_t max_epochs = 0;
  EpochMetrics train, val;
  double lr = 0;
  double epoch_seconds = 0;
  double samples_per_s = 0;
  std::optional<double> grad_norm;            // mean pre-clip norm, when clipping
  std::optional<int64_t> grad_allreduces;     // DDP: gradient collectives this epoch
  std::optional<int64_t> skipped_steps;       // 16-mixed: steps skipped for inf/NaN so far
  std::optional<double> launch_to_first_step_s;
  StepTimes step_times;
  std::vector<RankStepTimes> ranks;  // every rank's, in rank order
};

void report_epoch(Loggers& loggers, spdlog::logger& log, const EpochSummary& summary);

}  // namespace bolt
