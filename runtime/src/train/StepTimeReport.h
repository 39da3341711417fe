#pragma once
// Stragglers and where step time goes, per rank and epoch: each rank's busy time per step
// (waiting for data + computing, without the time it waited for its peers in collectives:
// under DDP every rank's step lasts as long as the slowest one's, so only busy time tells
// them apart), its median and p90, and the mean split into data wait, compute and collective
// wait. One small allreduce per epoch gives every rank all rows; a rank whose median busy
// time is >= 1.25x the median rank's, and at least 1 ms more (below that, a sub-millisecond
// step's scheduling noise, not a cost anyone would chase), is a straggler.
#include <cstdint>
#include <vector>

#include "../dist/Communicator.h"

namespace bolt {

struct StepTimes;

struct RankStepTimes {
  double busy_median_ms = 0;
  double busy_p90_ms = 0;
  double data_wait_ms = 0;       // per step, mean
  double compute_ms = 0;
  double collective_wait_ms = 0;
};

inline constexpr double kStragglerRatio = 1.25;
inline constexpr double kStragglerMinExcessMs = 1.0;

RankStepTimes summarize_step_times(const StepTimes& times);
// Every rank's row, in rank order (one allreduce; without a communicator, this rank's alone).
// `device`: where the communicator reduces (NCCL needs CUDA tensors).
std::vector<RankStepTimes> gather_step_times(dist::Communicator* comm, int64_t rank, const RankStepTimes& own,
                                             const c10::Device& device = c10::Device(c10::kCPU));
// Ranks whose median busy time is >= ratio x the median rank's (the lower median) and at
// least kStragglerMinExcessMs above it.
std::vector<int64_t> find_stragglers(const std::vector<RankStepTimes>& ranks, double ratio = kStragglerRatio);

}  // namespace bolt
