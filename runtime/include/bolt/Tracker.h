#pragma once
// Reduces the step outputs named by `tracker_keys` over an epoch and across ranks.
// Steps only queue their scalars (no arithmetic, no device sync); they are reduced in one
// batched operation when read, or every kFlushEvery steps to bound memory.
#include "bolt/Export.h"
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace bolt {

enum class Reduction { Mean, Sum };
Reduction parse_reduction(const std::string& text);

class BOLT_API Tracker {
 public:
  Tracker(std::vector<std::string> keys, Reduction reduction);

  void reset();
  // `values` hold per-batch scalars (a batch mean for Mean); `count` is the batch's samples.
  void update(const std::map<std::string, at::Tensor>& values, int64_t count);

  // [accumulated value per key..., sample count] as float64: sum it over ranks, load it back.
  at::Tensor state() const;
  void load_state(const at::Tensor& state);

  // Mean: sample-weighted mean of each key; Sum: sum of the step values.
  std::map<std::string, double> result() const;
  int64_t count() const;
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  std::vector<std::string> keys_;
  Reduction reduction_;
  void flush() const;
  static constexpr std::size_t kFlushEvery = 1024;
  // Reduction is logically const: reading a result folds the queued steps into sums_.
  mutable std::vector<std::vector<at::Tensor>> pending_;  // per key, one scalar per step
  mutable std::vector<double> pending_counts_;
  mutable at::Tensor sums_;  // float64 per key, on CPU
  double count_ = 0;
};

}  // namespace bolt
