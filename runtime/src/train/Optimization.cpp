#include "Optimization.h"

#include <algorithm>

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/Schedules.h"

namespace bolt {

at::Tensor total_grad_norm(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> norms;
  for (const auto& p : parameters) {
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm(2));
  }
  if (norms.empty()) return {};
  return at::stack(norms).norm(2);
}

at::Tensor clip_gradients(const std::vector<at::Tensor>& parameters, double max_value,
                          ClipAlgorithm algorithm) {
  const auto norm = total_grad_norm(parameters);
  if (!norm.defined()) return norm;
  if (algorithm == ClipAlgorithm::Value) {
    for (const auto& p : parameters) {
      if (p.grad().defined()) p.grad().clamp_(-max_value, max_value);
    }
    return norm;
  }
  // torch.nn.utils.clip_grad_norm_: one clamped coefficient, no branch on the device value.
  const auto coefficient = (max_value / (norm + 1e-6)).clamp_max(1.0);
  for (const auto& p : parameters) {
    if (p.grad().defined()) p.grad().mul_(coefficient.to(p.grad().scalar_type()));
  }
  return norm;
}

Optimization::Optimization(const TrainerOptions& options, std::vector<OptimizerSetup> setups,
                           std::vector<at::Tensor> parameters, dist::GradientReducer* reducer,
                           bool use_scaler)
    : options_(options), setups_(std::move(setups)), parameters_(std::move(parameters)),
      reducer_(reducer), scheduler_steps_(setups_.size(), 0) {
  if (setups_.empty()) throw PluginError("Module::configure_optimizers() returned no optimizer");
  for (std::size_t i = 0; i < setups_.size(); ++i) {
    if (!setups_[i].optimizer) {
      throw PluginError(fmt::format("Module::configure_optimizers(): entry {} has no optimizer", i + 1));
    }
  }
  if (use_scaler) scaler_.emplace();
}

CheckpointOptimizers Optimization::optimizers() const {
  CheckpointOptimizers out;
  for (const auto& setup : setups_) out.push_back(setup.optimizer.get());
  return out;
}

double Optimization::learning_rate() const {
  auto& groups = setups_.front().optimizer->param_groups();
  return groups.empty() ? 0.0 : groups.front().options().get_lr();
}

void Optimization::step_scheduler(std::size_t index) {
  setups_[index].scheduler->step();
  ++scheduler_steps_[index];
}

void Optimization::start_fit(int64_t total_optimizer_steps) {
  for (std::size_t i = 0; i < setups_.size(); ++i) {
    auto& setup = setups_[i];
    if (!setup.scheduler) continue;
    if (auto* schedule = dynamic_cast<LrSchedule*>(setup.scheduler.get())) {
      schedule->set_total_steps(total_optimizer_steps);
    }
    // Python's schedulers take their first step in the constructor, libtorch's do not: without
    // this a StepLR(step_size=2) would first decay after 3 epochs instead of 2.
    if (setup.interval == SchedulerInterval::Epoch) step_scheduler(i);
  }
}

void Optimization::start_epoch(const DataLoader& loader) {
  const int64_t n = loader.num_samples();
  const int64_t batch = loader.options().batch_size;
  const int64_t batches = loader.num_batches();
  micro_batch_sizes_.resize(static_cast<std::size_t>(batches));
  for (int64_t i = 0; i < batches; ++i) {
    micro_batch_sizes_[static_cast<std::size_t>(i)] =
        loader.options().drop_last ? batch : std::min(batch, n - i * batch);
  }
  const int64_t k = options_.accumulate_grad_batches;
  steps_per_epoch_ = (batches + k - 1) / k;
}

bool Optimization::ends_window(int64_t batch_idx) const {
  const auto batches = static_cast<int64_t>(micro_batch_sizes_.size());
  return (batch_idx + 1) % options_.accumulate_grad_batches == 0 || batch_idx + 1 == batches;
}

void Optimization::begin_micro_batch(int64_t batch_idx) {
  const int64_t position = batch_idx % options_.accumulate_grad_batches;
  if (position == 0) {
    for (auto& setup : setups_) setup.optimizer->zero_grad();
  }
  if (reducer_) reducer_->set_sync(ends_window(batch_idx), position > 0);
}

void Optimization::backward(const at::Tensor& loss, int64_t batch_idx) {
  at::Tensor scaled = loss;
  const int64_t k = options_.accumulate_grad_batches;
  if (k > 1) {
    // This micro-batch's share of its window's samples: the window's gradient is then the
    // mean over all its samples, as one batch of them would give.
    const int64_t first = batch_idx - batch_idx % k;
    const int64_t last = std::min<int64_t>(first + k, static_cast<int64_t>(micro_batch_sizes_.size()));
    int64_t window = 0;
    for (int64_t i = first; i < last; ++i) window += micro_batch_sizes_[static_cast<std::size_t>(i)];
    scaled = scaled * (static_cast<double>(micro_batch_sizes_[static_cast<std::size_t>(batch_idx)]) /
                       static_cast<double>(window));
  }
  if (scaler_) scaled = scaler_->scale(scaled);
  scaled.backward();
}

bool Optimization::step(const std::function<void(torch::optim::Optimizer&)>& before_step) {
  if (reducer_) reducer_->finalize();
  bool finite = true;
  if (scaler_) finite = scaler_->unscale(parameters_);
  auto& optimizer = *setups_.front().optimizer;
  if (finite) {
    before_step(optimizer);
    if (options_.gradient_clip_val > 0) {
      auto norm = clip_gradients(parameters_, options_.gradient_clip_val, options_.gradient_clip_algorithm);
      if (norm.defined()) {
        grad_norm_sum_ = grad_norm_sum_.defined() ? grad_norm_sum_ + norm : norm;
        ++grad_norm_count_;
      }
    }
    optimizer.step();
  }
  if (scaler_) scaler_->update(!finite);
  for (std::size_t i = 0; i < setups_.size(); ++i) {
    if (setups_[i].scheduler && setups_[i].interval == SchedulerInterval::Step) step_scheduler(i);
  }
  return finite;
}

void Optimization::step_epoch_schedulers() {
  for (std::size_t i = 0; i < setups_.size(); ++i) {
    if (setups_[i].scheduler && setups_[i].interval == SchedulerInterval::Epoch) step_scheduler(i);
  }
}

std::optional<double> Optimization::take_epoch_grad_norm() {
  if (grad_norm_count_ == 0) return std::nullopt;
  const double mean = grad_norm_sum_.item<double>() / static_cast<double>(grad_norm_count_);
  grad_norm_sum_ = at::Tensor();
  grad_norm_count_ = 0;
  return mean;
}

nlohmann::json Optimization::state() const {
  nlohmann::json schedulers = nlohmann::json::array();
  for (std::size_t i = 0; i < setups_.size(); ++i) {
    nlohmann::json lrs = nlohmann::json::array();
    for (auto& group : setups_[i].optimizer->param_groups()) lrs.push_back(group.options().get_lr());
    schedulers.push_back({{"steps", scheduler_steps_[i]}, {"lrs", lrs}});
  }
  nlohmann::json out = {{"schedulers", schedulers}};
  if (scaler_) out["grad_scaler"] = scaler_->state();
  return out;
}

void Optimization::load_state(const nlohmann::json& meta, int64_t finished_epochs) {
  if (!meta.contains("optimization")) {
    // Older checkpoints: epoch schedulers had stepped once per finished epoch.
    for (std::size_t i = 0; i < setups_.size(); ++i) {
      if (!setups_[i].scheduler || setups_[i].interval != SchedulerInterval::Epoch) continue;
      for (int64_t e = 0; e < finished_epochs; ++e) step_scheduler(i);
    }
    return;
  }
  const auto& state = meta.at("optimization");
  try {
    const auto& schedulers = state.at("schedulers");
    if (schedulers.size() != setups_.size()) {
      throw CheckpointError(fmt::format("it was written with {} optimizers, this model has {}",
                                        schedulers.size(), setups_.size()));
    }
    for (std::size_t i = 0; i < setups_.size(); ++i) {
      const auto steps = schedulers[i].at("steps").get<int64_t>();
      if (auto* schedule = dynamic_cast<LrSchedule*>(setups_[i].scheduler.get())) {
        schedule->set_step(steps);
        scheduler_steps_[i] = steps;
      } else if (setups_[i].scheduler) {
        while (scheduler_steps_[i] < steps) step_scheduler(i);
      }
      // The rates as they were, whatever the scheduler computes from its own position.
      const auto& lrs = schedulers[i].at("lrs");
      auto& groups = setups_[i].optimizer->param_groups();
      for (std::size_t g = 0; g < groups.size() && g < lrs.size(); ++g) {
        groups[g].options().set_lr(lrs[g].get<double>());
      }
    }
    if (scaler_ && state.contains("grad_scaler")) scaler_->load_state(state.at("grad_scaler"));
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("malformed optimization state ({})", e.what()));
  }
}

}  // namespace bolt
