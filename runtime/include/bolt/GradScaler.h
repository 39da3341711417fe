#pragma once
// Loss scaling for float16 mixed precision, with PyTorch's torch.cuda.amp.GradScaler
// semantics (libtorch has no C++ GradScaler): the loss is multiplied by the scale before
// backward; before the optimizer step the gradients are divided by it and checked; a step
// with an inf/NaN gradient is skipped and the scale backs off (× backoff_factor); after
// growth_interval good steps in a row it grows (× growth_factor).
#include "bolt/Export.h"
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace bolt {

struct BOLT_API GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class BOLT_API GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  at::Tensor scale(const at::Tensor& loss) const;
  // Divides every defined gradient of `parameters` by the scale, in place; false when any of
  // them holds an inf or NaN (then the optimizer step must be skipped). One device sync.
  bool unscale(const std::vector<at::Tensor>& parameters) const;
  // After the step (taken or skipped): grow or back off the scale.
  void update(bool found_inf);

  double scale_value() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  int64_t skipped_steps() const { return skipped_; }
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace bolt
