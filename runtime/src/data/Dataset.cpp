#include "bolt/Dataset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {
at::Tensor index_tensor(const std::vector<int64_t>& indices) {
  return at::from_blob(const_cast<int64_t*>(indices.data()),
                       {static_cast<int64_t>(indices.size())}, at::kLong);
}
}  // namespace

TensorDataset::TensorDataset(at::Tensor inputs, at::Tensor targets)
    : inputs_(std::move(inputs)), targets_(std::move(targets)) {
  if (inputs_.size(0) != targets_.size(0)) {
    throw DataError(fmt::format("dataset has {} inputs but {} targets", inputs_.size(0),
                                targets_.size(0)));
  }
}

int64_t TensorDataset::size() const { return inputs_.size(0); }

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const auto index = index_tensor(indices);
  return {inputs_.index_select(0, index), targets_.index_select(0, index)};
}

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {}

int64_t SubsetDataset::size() const { return static_cast<int64_t>(indices_.size()); }

Batch SubsetDataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (auto i : indices) mapped.push_back(indices_.at(static_cast<std::size_t>(i)));
  return base_->get_batch(mapped);
}

std::pair<std::shared_ptr<const Dataset>, std::shared_ptr<const Dataset>> split_train_val(
    const std::shared_ptr<const Dataset>& dataset, int64_t num_splits, uint64_t seed) {
  if (num_splits < 2) {
    throw ConfigError(fmt::format("data.num_splits must be at least 2 to split off a "
                                  "validation set, got {}",
                                  num_splits));
  }
  const int64_t n = dataset->size();
  const int64_t n_val = n / num_splits;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto perm = at::randperm(n, generator, at::kLong);
  const int64_t* p = perm.data_ptr<int64_t>();
  std::vector<int64_t> val(p, p + n_val);
  std::vector<int64_t> train(p + n_val, p + n);
  return {std::make_shared<SubsetDataset>(dataset, std::move(train)),
          std::make_shared<SubsetDataset>(dataset, std::move(val))};
}

std::shared_ptr<const Dataset> limit_dataset(const std::shared_ptr<const Dataset>& dataset,
                                             int64_t limit) {
  if (!dataset || limit <= 0 || limit >= dataset->size()) return dataset;
  std::vector<int64_t> head(static_cast<std::size_t>(limit));
  for (int64_t i = 0; i < limit; ++i) head[static_cast<std::size_t>(i)] = i;
  return std::make_shared<SubsetDataset>(dataset, std::move(head));
}

}  // namespace bolt
