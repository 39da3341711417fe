#pragma once
// Gradient helpers for custom trainers (the default Trainer uses them for trainer.gradient_clip_*).
// Under DDP call them after the gradients are averaged (on_before_optimizer_step, or after
// manual_backward), so every rank clips the same values.
#include "bolt/Export.h"
#include <vector>

#include <ATen/ATen.h>

#include "bolt/TrainerOptions.h"

namespace bolt {

// The total L2 norm of the parameters' gradients, a 0-dim tensor on their device (no sync);
// undefined when none has a gradient.
BOLT_API at::Tensor total_grad_norm(const std::vector<at::Tensor>& parameters);
// Clips in place (norm: total L2 norm at most `max_value`, as torch.nn.utils.clip_grad_norm_;
// value: every element within ±max_value) and returns the total norm before clipping.
BOLT_API at::Tensor clip_gradients(const std::vector<at::Tensor>& parameters, double max_value,
                                   ClipAlgorithm algorithm);

}  // namespace bolt
