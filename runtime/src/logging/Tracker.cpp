#include "bolt/Tracker.h"

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

Reduction parse_reduction(const std::string& text) {
  if (text == "mean") return Reduction::Mean;
  if (text == "sum") return Reduction::Sum;
  throw ConfigError(fmt::format("loggers.tracker_reduction: '{}' is not one of mean, sum", text));
}

Tracker::Tracker(std::vector<std::string> keys, Reduction reduction)
    : keys_(std::move(keys)), reduction_(reduction) {
  if (keys_.empty()) throw ConfigError("loggers.tracker_keys: at least one key is required");
  reset();
}

void Tracker::reset() {
  pending_.assign(keys_.size(), {});
  pending_counts_.clear();
  sums_ = at::zeros({static_cast<int64_t>(keys_.size())}, at::kDouble);
  count_ = 0;
}

void Tracker::update(const std::map<std::string, at::Tensor>& values, int64_t count) {
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    auto it = values.find(keys_[k]);
    if (it == values.end()) {
      throw Error(fmt::format("step output has no '{}' (loggers.tracker_keys)", keys_[k]));
    }
    pending_[k].push_back(it->second.detach().reshape({}));
  }
  pending_counts_.push_back(static_cast<double>(count));
  count_ += static_cast<double>(count);
  if (pending_counts_.size() >= kFlushEvery) flush();
}

void Tracker::flush() const {
  if (pending_counts_.empty()) return;
  const auto weights = at::tensor(pending_counts_, at::kDouble);
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    auto values = at::stack(pending_[k]).to(at::kCPU).to(at::kDouble);
    const double sum = (reduction_ == Reduction::Mean ? (values * weights).sum() : values.sum()).item<double>();
    sums_[static_cast<int64_t>(k)] += sum;
    pending_[k].clear();
  }
  pending_counts_.clear();
}

at::Tensor Tracker::state() const {
  flush();
  return at::cat({sums_.clone(), at::full({1}, count_, at::kDouble)});
}

void Tracker::load_state(const at::Tensor& state) {
  reset();
  auto cpu = state.to(at::kCPU).to(at::kDouble);
  const auto n = static_cast<int64_t>(keys_.size());
  sums_ = cpu.narrow(0, 0, n).clone();
  count_ = cpu[n].item<double>();
}

std::map<std::string, double> Tracker::result() const {
  std::map<std::string, double> out;
  flush();
  const double* sums = sums_.data_ptr<double>();
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    out[keys_[i]] = reduction_ == Reduction::Mean ? (count_ > 0 ? sums[i] / count_ : 0.0) : sums[i];
  }
  return out;
}

int64_t Tracker::count() const { return static_cast<int64_t>(count_); }

}  // namespace bolt
