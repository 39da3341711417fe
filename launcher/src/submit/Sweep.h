#pragma once
// A sweep's grid: every combination of the --sweep axes' values, in the order of
// itertools.product (the first axis varies slowest), each point named for its run directory.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "SubmitOptions.h"

namespace bolt::launch {

struct SweepPoint {
  std::vector<std::pair<std::string, std::string>> overrides;  // (section.key, value) per axis
  std::string name_suffix;  // "lr=0.01,batch_size=16": appended to the run name
};

// Bounded: a grid larger than `max_points` is refused (it is a typo far more often than a plan).
inline constexpr std::size_t kMaxSweepPoints = 10000;
std::vector<SweepPoint> expand_grid(const std::vector<SweepAxis>& axes, std::size_t max_points = kMaxSweepPoints);

// One array job per slice of at most `max_array_size` points: (first point, count) each.
std::vector<std::pair<std::size_t, std::size_t>> split_into_arrays(std::size_t points, std::size_t max_array_size);

}  // namespace bolt::launch
