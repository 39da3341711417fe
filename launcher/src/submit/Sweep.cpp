#include "Sweep.h"

#include <set>

#include <fmt/format.h>

#include "SubmitRecord.h"
#include "bolt/Error.h"

namespace bolt::launch {

namespace {

// "model.lr" -> "lr", unless another axis ends in the same key: then the whole key.
std::vector<std::string> short_keys(const std::vector<SweepAxis>& axes) {
  std::vector<std::string> out;
  for (const auto& axis : axes) {
    const auto tail = axis.key.substr(axis.key.rfind('.') + 1);
    int same = 0;
    for (const auto& other : axes) same += other.key.substr(other.key.rfind('.') + 1) == tail;
    out.push_back(same > 1 ? axis.key : tail);
  }
  return out;
}

}  // namespace

std::vector<SweepPoint> expand_grid(const std::vector<SweepAxis>& axes, std::size_t max_points) {
  if (axes.empty()) return {};
  std::set<std::string> keys;
  std::size_t total = 1;
  for (const auto& axis : axes) {
    if (!keys.insert(axis.key).second) throw UsageError(fmt::format("--sweep {} is given twice: give one list of values", axis.key));
    if (axis.values.empty()) throw UsageError(fmt::format("--sweep {} has no values", axis.key));
    if (total > max_points / axis.values.size()) {
      throw UsageError(fmt::format("the sweep's grid has more than {} points: sweep fewer values at once", max_points));
    }
    total *= axis.values.size();
  }
  const auto shorts = short_keys(axes);
  std::vector<SweepPoint> points;
  points.reserve(total);
  for (std::size_t index = 0; index < total; ++index) {
    SweepPoint point;
    std::size_t rest = index;
    std::vector<std::size_t> choice(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      choice[a] = rest % axes[a].values.size();
      rest /= axes[a].values.size();
    }
    for (std::size_t a = 0; a < axes.size(); ++a) {
      const auto& value = axes[a].values[choice[a]];
      point.overrides.emplace_back(axes[a].key, value);
      point.name_suffix += (a ? "," : "") + name_safe(shorts[a], 40) + "=" + name_safe(value, 40);
    }
    points.push_back(std::move(point));
  }
  return points;
}

std::vector<std::pair<std::size_t, std::size_t>> split_into_arrays(std::size_t points, std::size_t max_array_size) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t slice = std::max<std::size_t>(1, max_array_size);
  for (std::size_t first = 0; first < points; first += slice) out.emplace_back(first, std::min(slice, points - first));
  return out;
}

}  // namespace bolt::launch
