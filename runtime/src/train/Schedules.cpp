#include "bolt/Schedules.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {
std::vector<double> learning_rates(torch::optim::Optimizer& optimizer) {
  std::vector<double> out;
  for (auto& group : optimizer.param_groups()) out.push_back(group.options().get_lr());
  return out;
}
}  // namespace

LrSchedule::LrSchedule(torch::optim::Optimizer& optimizer)
    : torch::optim::LRScheduler(optimizer), optimizer_(optimizer), base_lrs_(learning_rates(optimizer)) {}

std::vector<double> LrSchedule::get_lrs() {
  // step() asks for the rates after this step, then counts it.
  const double f = factor(step_count_ + 1);
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(base * f);
  return out;
}

void LrSchedule::apply(int64_t step) {
  const double f = factor(step);
  auto& groups = optimizer_.param_groups();
  for (std::size_t i = 0; i < groups.size() && i < base_lrs_.size(); ++i) {
    groups[i].options().set_lr(base_lrs_[i] * f);
  }
}

void LrSchedule::set_step(int64_t step) {
  step_count_ = static_cast<unsigned>(step);
  apply(step);
}

WarmupCosineLR::WarmupCosineLR(torch::optim::Optimizer& optimizer, int64_t warmup_steps,
                               int64_t total_steps, double min_lr_ratio)
    : LrSchedule(optimizer), warmup_steps_(warmup_steps), total_steps_(total_steps),
      total_from_fit_(total_steps <= 0), min_lr_ratio_(min_lr_ratio) {
  if (warmup_steps < 0) throw ConfigError(fmt::format("warmup_steps {} is negative", warmup_steps));
  if (min_lr_ratio < 0 || min_lr_ratio > 1) {
    throw ConfigError(fmt::format("min_lr_ratio {} is not within [0, 1]", min_lr_ratio));
  }
  apply(0);
}

void WarmupCosineLR::set_total_steps(int64_t total_steps) {
  if (total_from_fit_) total_steps_ = total_steps;
  apply(steps_taken());
}

double WarmupCosineLR::factor(int64_t step) const {
  if (step < warmup_steps_) return static_cast<double>(step) / static_cast<double>(warmup_steps_);
  const int64_t span = std::max<int64_t>(1, total_steps_ - warmup_steps_);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps_) / static_cast<double>(span));
  return min_lr_ratio_ + (1.0 - min_lr_ratio_) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

StepDecayLR::StepDecayLR(torch::optim::Optimizer& optimizer, int64_t step_size, double gamma)
    : LrSchedule(optimizer), step_size_(std::max<int64_t>(1, step_size)), gamma_(gamma) {}

double StepDecayLR::factor(int64_t step) const {
  return std::pow(gamma_, static_cast<double>(step / step_size_));
}

void declare_schedule_options(OptionSet& options) {
  options.add_string("lr_schedule", "none", "learning-rate schedule: step (decay per epoch) or "
                     "warmup_cosine (per optimizer step)", {"none", "step", "warmup_cosine"})
      .add_int("lr_step_size", 2, "step: epochs between decays", 1)
      .add_float("lr_gamma", 0.5, "step: decay factor", 0.0)
      .add_int("warmup_steps", 0, "warmup_cosine: optimizer steps of linear warm-up", 0)
      .add_int("total_steps", 0, "warmup_cosine: steps until the minimum (0: the whole fit)", 0)
      .add_float("min_lr_ratio", 0.0, "warmup_cosine: final rate as a fraction of the base rate", 0.0);
}

OptimizerSetup configure_schedule(std::shared_ptr<torch::optim::Optimizer> optimizer,
                                  const Config& config) {
  OptimizerSetup setup{std::move(optimizer), nullptr, SchedulerInterval::Epoch};
  const auto kind = config.get_string("lr_schedule");
  if (kind == "step") {
    setup.scheduler = std::make_shared<StepDecayLR>(*setup.optimizer, config.get_int("lr_step_size"),
                                                    config.get_float("lr_gamma"));
  } else if (kind == "warmup_cosine") {
    if (config.get_float("min_lr_ratio") > 1.0) {
      throw ConfigError(fmt::format("{}.min_lr_ratio {} is above 1", config.section(),
                                    config.get_float("min_lr_ratio")));
    }
    setup.scheduler = std::make_shared<WarmupCosineLR>(*setup.optimizer, config.get_int("warmup_steps"),
                                                       config.get_int("total_steps"),
                                                       config.get_float("min_lr_ratio"));
    setup.interval = SchedulerInterval::Step;
  }
  return setup;
}

}  // namespace bolt
