#include "bolt/Module.h"

namespace bolt {

std::vector<at::Tensor> Module::parameters_to_update() {
  std::vector<at::Tensor> out;
  for (auto& p : parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

at::Tensor accuracy(const at::Tensor& logits, const at::Tensor& targets) {
  return logits.argmax(1).eq(targets).to(at::kFloat).mean();
}

}  // namespace bolt
