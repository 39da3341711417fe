#include "bolt/Dataset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bolt/Error.h"

namespace bolt {

namespace {
at::Tensor index_tensor(const std::vector<int64_t>& indices) {
  return at::from_blob(const_cast<int64_t*>(indices.data()),
                       {static_cast<int64_t>(indices.size())}, at::kLong);
}
}  // namespace

int64_t Batch::size() const {
  if (inputs.defined() && inputs.dim() > 0) return inputs.size(0);
  if (targets.defined() && targets.dim() > 0) return targets.size(0);
  for (const auto& [name, tensor] : fields) {
    if (tensor.defined() && tensor.dim() > 0) return tensor.size(0);
  }
  return 0;
}

bool Batch::has(const std::string& name) const {
  if (name == "inputs") return inputs.defined();
  if (name == "targets") return targets.defined();
  return fields.count(name) > 0;
}

const at::Tensor& Batch::operator[](const std::string& name) const {
  if (name == "inputs" && inputs.defined()) return inputs;
  if (name == "targets" && targets.defined()) return targets;
  const auto it = fields.find(name);
  if (it == fields.end()) {
    throw DataError(fmt::format("the batch has no field '{}'; it has: {} (the data module's "
                                "dataset decides the fields)", name, fmt::join(names(), ", ")));
  }
  return it->second;
}

void Batch::set(const std::string& name, at::Tensor tensor) {
  if (name == "inputs") {
    inputs = std::move(tensor);
  } else if (name == "targets") {
    targets = std::move(tensor);
  } else {
    fields[name] = std::move(tensor);
  }
}

std::vector<std::string> Batch::names() const {
  std::vector<std::string> out;
  if (inputs.defined()) out.emplace_back("inputs");
  if (targets.defined()) out.emplace_back("targets");
  for (const auto& [name, tensor] : fields) out.push_back(name);
  return out;
}

TensorDataset::TensorDataset(at::Tensor inputs, at::Tensor targets)
    : TensorDataset(std::map<std::string, at::Tensor>{{"inputs", std::move(inputs)},
                                                      {"targets", std::move(targets)}}) {}

TensorDataset::TensorDataset(std::map<std::string, at::Tensor> fields) {
  if (fields.empty()) throw DataError("a TensorDataset needs at least one tensor");
  const auto& [first_name, first] = *fields.begin();
  for (const auto& [name, tensor] : fields) {
    if (!tensor.defined() || tensor.dim() == 0) {
      throw DataError(fmt::format("dataset field '{}' is {}: every field needs a first "
                                  "(example) dimension", name, tensor.defined() ? "a scalar" : "empty"));
    }
    if (tensor.size(0) != first.size(0)) {
      throw DataError(fmt::format("dataset fields differ in length: '{}' has {} examples but "
                                  "'{}' has {}", first_name, first.size(0), name, tensor.size(0)));
    }
  }
  for (auto& [name, tensor] : fields) examples_.set(name, std::move(tensor));
}

int64_t TensorDataset::size() const { return examples_.size(); }

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  const auto index = index_tensor(indices);
  return examples_.map([&](const at::Tensor& t) { return t.index_select(0, index); });
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
