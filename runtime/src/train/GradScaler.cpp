#include "bolt/GradScaler.h"

#include <cmath>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {}

at::Tensor GradScaler::scale(const at::Tensor& loss) const { return loss * scale_; }

bool GradScaler::unscale(const std::vector<at::Tensor>& parameters) const {
  at::Tensor found;  // stays on the gradients' device: one sync at the end, not one per tensor
  const double inverse = 1.0 / scale_;
  for (const auto& p : parameters) {
    const auto& grad = p.grad();
    if (!grad.defined()) continue;
    const auto bad = at::logical_not(at::isfinite(grad)).any();
    found = found.defined() ? at::logical_or(found, bad) : bad;
    grad.mul_(inverse);
  }
  return !(found.defined() && found.item<bool>());
}

void GradScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
    ++skipped_;
    return;
  }
  if (++growth_tracker_ == options_.growth_interval) {
    scale_ *= options_.growth_factor;
    growth_tracker_ = 0;
  }
}

nlohmann::json GradScaler::state() const {
  return {{"scale", scale_}, {"growth_tracker", growth_tracker_}, {"skipped_steps", skipped_}};
}

void GradScaler::load_state(const nlohmann::json& state) {
  try {
    scale_ = state.at("scale").get<double>();
    growth_tracker_ = state.at("growth_tracker").get<int64_t>();
    skipped_ = state.value("skipped_steps", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("malformed grad scaler state ({})", e.what()));
  }
  if (!(scale_ > 0) || !std::isfinite(scale_) || growth_tracker_ < 0) {
    throw CheckpointError(fmt::format("grad scaler state out of range (scale {}, growth tracker {})",
                                      scale_, growth_tracker_));
  }
}

}  // namespace bolt
