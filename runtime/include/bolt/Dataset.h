#pragma once
// Datasets hand out whole batches by index: one index_select on in-memory tensors is far
// cheaper than stacking single examples, and loader threads may call get_batch concurrently.
#include "bolt/Export.h"
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace bolt {

// A batch of named tensors whose first dimension is the example: `inputs` and `targets` (the
// one-tensor shape every model knows) and any others in `fields` (a mask, lengths, a second
// input). Collation, sharding, pin_memory, device transfer and limit_* apply to all of them.
struct BOLT_API Batch {
  at::Tensor inputs;
  at::Tensor targets;
  std::map<std::string, at::Tensor> fields;

  // Examples in the batch (the first dimension of the first defined tensor).
  int64_t size() const;
  bool has(const std::string& name) const;
  // "inputs", "targets" or a field; throws DataError listing the names this batch has.
  const at::Tensor& operator[](const std::string& name) const;
  // Sets "inputs", "targets" or a field.
  void set(const std::string& name, at::Tensor tensor);
  std::vector<std::string> names() const;
  // The same batch with `transform` applied to every defined tensor (device moves, pinning).
  template <class Transform>
  Batch map(Transform&& transform) const {
    Batch out;
    if (inputs.defined()) out.inputs = transform(inputs);
    if (targets.defined()) out.targets = transform(targets);
    for (const auto& [name, tensor] : fields) out.fields.emplace(name, transform(tensor));
    return out;
  }
};

class BOLT_API Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Must be safe to call from several threads at once.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const = 0;
};

// Examples stored as named tensors whose first dimension is the example index.
class BOLT_API TensorDataset : public Dataset {
 public:
  TensorDataset(at::Tensor inputs, at::Tensor targets);
  // Any names ("inputs" and "targets" fill those members of the batch); all the same length.
  explicit TensorDataset(std::map<std::string, at::Tensor> fields);
  int64_t size() const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const at::Tensor& inputs() const { return examples_.inputs; }
  const at::Tensor& targets() const { return examples_.targets; }
  const Batch& examples() const { return examples_; }

 private:
  Batch examples_;
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
