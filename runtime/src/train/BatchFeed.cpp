#include "BatchFeed.h"

#include <algorithm>

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

namespace bolt {

BatchFeed::BatchFeed(DataLoader& loader, const c10::Device& device) : loader_(loader), device_(device) {
  if (!device_.is_cpu()) {
    side_ = c10::impl::getDeviceGuardImpl(device_.type())->getStreamFromGlobalPool(device_);
  }
}

void BatchFeed::fetch() {
  auto host = loader_.next();
  if (!host) {
    ahead_.reset();
    return;
  }
  const auto names = host->names();
  const bool on_host = std::any_of(names.begin(), names.end(),
                                   [&](const auto& name) { return (*host)[name].device() != device_; });
  if (!on_host) {  // a batch gathered on the device (data.device_cache)
    ahead_ = Ahead{std::move(*host), std::nullopt};
    return;
  }
  Ahead ahead;
  {
    c10::StreamGuard on_side(*side_);
    // Pinned memory copies asynchronously; pageable memory copies synchronously, still correct.
    ahead.batch = host->map([&](const at::Tensor& t) {
      return t.to(device_, t.device().is_cpu() && t.is_pinned());
    });
    ahead.copied.emplace(device_.type());
    ahead.copied->record(*side_);
  }
  ahead_ = std::move(ahead);
}

std::optional<Batch> BatchFeed::next() {
  // On the CPU nothing is fetched ahead: a dataset drawing random numbers in get_batch draws
  // them in step order, as a resumed run replays them.
  if (!side_) return loader_.next();
  if (!started_) {
    fetch();
    started_ = true;
  }
  if (!ahead_) return std::nullopt;
  Ahead current = std::move(*ahead_);
  fetch();  // the next batch's copy starts now, beside this batch's compute
  if (current.copied) {
    const auto* impl = c10::impl::getDeviceGuardImpl(device_.type());
    const auto compute = impl->getStream(device_);
    current.copied->block(compute);
    // The batch was allocated on the side stream: keep its memory until compute is done with it.
    for (const auto& name : current.batch.names()) {
      const auto& t = current.batch[name];
      if (t.device() == device_) impl->recordDataPtrOnStream(t.storage().data_ptr(), compute);
    }
  }
  return std::move(current.batch);
}

}  // namespace bolt
