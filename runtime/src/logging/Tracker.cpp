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
}

void Tracker::reset() {
  sums_ = at::Tensor();
  count_ = 0;
}

void Tracker::update(const std::map<std::string, at::Tensor>& values, int64_t count) {
  std::vector<at::Tensor> row;
  row.reserve(keys_.size());
  for (const auto& key : keys_) {
    auto it = values.find(key);
    if (it == values.end()) {
      throw Error(fmt::format("step output has no '{}' (loggers.tracker_keys)", key));
    }
    auto value = it->second.detach().to(at::kDouble).reshape({});
    row.push_back(reduction_ == Reduction::Mean ? value * static_cast<double>(count) : value);
  }
  auto stacked = at::stack(row);
  if (sums_.defined()) {
    sums_.add_(stacked);
  } else {
    sums_ = stacked;
  }
  count_ += static_cast<double>(count);
}

at::Tensor Tracker::state() const {
  auto sums = sums_.defined() ? sums_.to(at::kCPU)
                              : at::zeros({static_cast<int64_t>(keys_.size())}, at::kDouble);
  return at::cat({sums, at::full({1}, count_, at::kDouble)});
}

void Tracker::load_state(const at::Tensor& state) {
  auto cpu = state.to(at::kCPU).to(at::kDouble);
  const auto n = static_cast<int64_t>(keys_.size());
  sums_ = cpu.narrow(0, 0, n).clone();
  count_ = cpu[n].item<double>();
}

std::map<std::string, double> Tracker::result() const {
  std::map<std::string, double> out;
  if (!sums_.defined()) {
    for (const auto& key : keys_) out[key] = 0.0;
    return out;
  }
  auto cpu = sums_.to(at::kCPU);
  const double* sums = cpu.data_ptr<double>();
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    out[keys_[i]] = reduction_ == Reduction::Mean ? (count_ > 0 ? sums[i] / count_ : 0.0) : sums[i];
  }
  return out;
}

int64_t Tracker::count() const { return static_cast<int64_t>(count_); }

}  // namespace bolt
