#pragma once
// The trainer.* keys, parsed and checked once (Trainer::declare_options declares them).
#include "bolt/Export.h"
#include <cstdint>
#include <string>

#include "bolt/Config.h"

namespace bolt {

enum class Precision { Full32, Bf16Mixed, Fp16Mixed };
enum class ClipAlgorithm { Norm, Value };

struct BOLT_API TrainerOptions {
  std::string name = "default";
  std::string device;
  int64_t max_epochs = 5;
  int64_t max_steps = 0;  // 0: no limit
  bool verbose = false;
  int64_t log_every_n_steps = 50;
  uint64_t seed = 42;
  std::string dist_backend = "auto";
  int64_t dist_timeout_s = 300;
  double hang_timeout_s = 600;  // 0: no hang watchdog
  double bucket_cap_mb = 25.0;
  std::string resume;
  int64_t checkpoint_every_n_steps = 0;
  std::string requeue_signal = "USR1";
  int64_t max_requeues = 3;  // time-limit requeues of one run; preemptions are not counted
  bool test_after_fit = false;
  bool export_model = false;
  std::string ckpt_path;
  int64_t accumulate_grad_batches = 1;
  double gradient_clip_val = 0.0;  // 0: off
  ClipAlgorithm gradient_clip_algorithm = ClipAlgorithm::Norm;
  Precision precision = Precision::Full32;
  int64_t early_stopping_patience = 0;  // 0: off
  std::string monitor = "score";        // validation value for best.pt and early stopping
  bool monitor_maximize = true;

  static void declare(OptionSet& options);
  // Throws ConfigError naming the key.
  static TrainerOptions from(const Config& config);
};

const char* to_string(Precision precision);

}  // namespace bolt
