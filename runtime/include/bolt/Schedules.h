#pragma once
// Learning-rate schedules for plugins. A schedule here is a closed form of the optimizer step,
// lr = base_lr × factor(step), so its whole state is one number: checkpoints restore it
// exactly. Pick one from config keys with declare_schedule_options / configure_schedule:
//
//   static void declare_options(bolt::OptionSet& o) { bolt::declare_schedule_options(o); ... }
//   bolt::OptimizerSetup configure_optimizer() override {
//     return bolt::configure_schedule(std::make_shared<torch::optim::AdamW>(...), config_);
//   }
#include "bolt/Export.h"
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include "bolt/Config.h"
#include "bolt/Module.h"

namespace bolt {

class BOLT_API LrSchedule : public torch::optim::LRScheduler {
 public:
  // Applies factor(0) to the optimizer's learning rates at once.
  explicit LrSchedule(torch::optim::Optimizer& optimizer);
  virtual double factor(int64_t step) const = 0;
  // Steps taken so far; set_step moves there directly (resume) and applies its rate.
  int64_t steps_taken() const { return step_count_; }
  void set_step(int64_t step);
  // The fit's optimizer steps, told by the Trainer before the first one: a schedule over
  // "the whole fit" (total_steps 0) spans exactly that.
  virtual void set_total_steps(int64_t) {}
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 protected:
  std::vector<double> get_lrs() override;
  void apply(int64_t step);

 private:
  torch::optim::Optimizer& optimizer_;
  std::vector<double> base_lrs_;
};

// Linear warm-up from 0 over `warmup_steps`, then a half cosine down to min_lr_ratio × base
// at `total_steps` (0: the fit's total), flat after it (Hugging Face's cosine-with-warm-up).
class BOLT_API WarmupCosineLR : public LrSchedule {
 public:
  WarmupCosineLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps,
                 double min_lr_ratio = 0.0);
  double factor(int64_t step) const override;
  void set_total_steps(int64_t total_steps) override;
  int64_t total_steps() const { return total_steps_; }

 private:
  int64_t warmup_steps_;
  int64_t total_steps_;
  bool total_from_fit_;
  double min_lr_ratio_;
};

// Multiplies the rate by `gamma` every `step_size` epochs (torch's StepLR, in closed form).
class BOLT_API StepDecayLR : public LrSchedule {
 public:
  StepDecayLR(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma);
  double factor(int64_t step) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// Keys lr_schedule (none | step | warmup_cosine), lr_step_size, lr_gamma, warmup_steps,
// total_steps, min_lr_ratio.
BOLT_API void declare_schedule_options(OptionSet& options);
// The optimizer with the schedule those keys choose: `step` decays per epoch, `warmup_cosine`
// moves every optimizer step.
BOLT_API OptimizerSetup configure_schedule(std::shared_ptr<torch::optim::Optimizer> optimizer,
                                           const Config& config);

}  // namespace bolt
