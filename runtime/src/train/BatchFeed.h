#pragma once
// A loader's batches on the device the step runs on. On an accelerator, each pinned batch is
// copied on a side stream one batch ahead, so the copy of batch k+1 overlaps the compute of
// batch k; the compute stream waits on the copy's event only when it uses the batch. On the
// CPU, batches pass through one at a time.
#include <optional>

#include <c10/core/Device.h>
#include <c10/core/Event.h>
#include <c10/core/Stream.h>

#include "bolt/DataLoader.h"

namespace bolt {

class BatchFeed {
 public:
  BatchFeed(DataLoader& loader, const c10::Device& device);
  std::optional<Batch> next();

 private:
  struct Ahead {
    Batch batch;
    std::optional<c10::Event> copied;  // recorded on the side stream after the copies
  };
  void fetch();

  DataLoader& loader_;
  c10::Device device_;
  std::optional<c10::Stream> side_;  // accelerators only
  std::optional<Ahead> ahead_;
  bool started_ = false;
};

}  // namespace bolt
