#pragma once
// Whether any rank got the requeue signal, agreed at a step boundary so that every rank stops
// after the same step. Under DDP the flag rides on the step's gradient allreduce (no extra
// collective); each rank reads the agreed value after the step. On CUDA reading synchronises
// the stream, so it is read every 20 steps there.
#include <cstdint>

#include <c10/core/Device.h>

#include "../dist/GradientReducer.h"
#include "StopSignal.h"

namespace bolt {

class StopAgreement {
 public:
  StopAgreement(const StopSignal& signal, dist::GradientReducer* reducer, const c10::Device& device)
      : signal_(signal), reducer_(reducer), every_(device.is_cuda() ? 20 : 1) {}

  void before_step() {
    if (reducer_ && signal_.number() != 0) reducer_->set_side_value(signal_.received() ? 1.0 : 0.0);
  }

  bool after_step(int64_t global_step) {
    if (signal_.number() == 0 || global_step % every_ != 0) return false;
    if (!reducer_) return signal_.received();
    return reducer_->side_mean().item<double>() > 0;
  }

 private:
  const StopSignal& signal_;
  dist::GradientReducer* reducer_;
  int64_t every_;
};

}  // namespace bolt
