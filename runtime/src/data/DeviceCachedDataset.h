#pragma once
// data.device_cache: a whole dataset copied once to the accelerator, batches gathered there
// (index_select on the device) instead of built on the host and copied every step.
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "bolt/Dataset.h"

namespace bolt {

class DeviceCachedDataset : public Dataset {
 public:
  // Reads every example of `source` once. Throws DataError naming `which` set and its size
  // when it does not fit on the device.
  DeviceCachedDataset(const Dataset& source, const c10::Device& device, const std::string& which);
  int64_t size() const override { return size_; }
  Batch get_batch(const std::vector<int64_t>& indices) const override;

 private:
  Batch examples_;  // on the device
  c10::Device device_;
  int64_t size_ = 0;
};

}  // namespace bolt
