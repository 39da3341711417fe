#include "DeviceCachedDataset.h"

#include <numeric>

#include <fmt/format.h>

#include "../util/ErrorText.h"
#include "bolt/Error.h"

namespace bolt {

DeviceCachedDataset::DeviceCachedDataset(const Dataset& source, const c10::Device& device,
                                         const std::string& which)
    : device_(device), size_(source.size()) {
  std::vector<int64_t> all(static_cast<std::size_t>(size_));
  std::iota(all.begin(), all.end(), 0);
  const Batch host = source.get_batch(all);
  double bytes = 0;
  for (const auto& name : host.names()) bytes += static_cast<double>(host[name].nbytes());
  try {
    examples_ = host.map([&](const at::Tensor& t) { return t.to(device_); });
  } catch (const std::exception& e) {
    throw DataError(fmt::format(
        "data.device_cache: the {} set ({:.2f} GB) does not fit on {}: {}; set data.device_cache "
        "false (batches are then copied from pinned host memory)",
        which, bytes / 1e9, device_.str(), first_line(e.what())));
  }
}

Batch DeviceCachedDataset::get_batch(const std::vector<int64_t>& indices) const {
  // Pinned, so the index reaches the device without waiting for the work queued before it.
  auto index = at::from_blob(const_cast<int64_t*>(indices.data()), {static_cast<int64_t>(indices.size())},
                             at::TensorOptions().dtype(at::kLong))
                   .pin_memory()
                   .to(device_, /*non_blocking=*/true);
  return examples_.map([&](const at::Tensor& t) { return t.index_select(0, index); });
}

}  // namespace bolt
