#pragma once
// Datasets hand out whole batches by index: one index_select on in-memory tensors is far
// cheaper than stacking single examples, and loader threads may call get_batch concurrently.
#include "bolt/Export.h"
#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/ATen.h>

namespace bolt {

struct BOLT_API Batch {
  at::Tensor inputs;
  at::Tensor targets;
  int64_t size() const { return inputs.defined() ? inputs.size(0) : 0; }
};

class BOLT_API Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Must be safe to call from several threads at once.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
};

// Examples stored as two tensors whose first dimension is the example index.
class BOLT_API TensorDataset : public Dataset {
 public:
  TensorDataset(at::Tensor inputs, at::Tensor targets);
  int64_t size() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const at::Tensor& inputs() const { return inputs_; }
  const at::Tensor& targets() const { return targets_; }

 private:
  at::Tensor inputs_;
  at::Tensor targets_;
};

// A view of some examples of another dataset, in the given order.
class BOLT_API SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices);
  int64_t size() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// Splits `dataset` into (train, val) with 1/num_splits of it, chosen by a permutation from
// `seed`, going to val. The same seed gives the same split on every rank and every run.
std::pair<std::shared_ptr<const Dataset>, std::shared_ptr<const Dataset>> split_train_val(
    const std::shared_ptr<const Dataset>& dataset, int64_t num_splits, uint64_t seed);

// The first `limit` examples (0 = all).
std::shared_ptr<const Dataset> limit_dataset(const std::shared_ptr<const Dataset>& dataset,
                                             int64_t limit);

}  // namespace bolt
