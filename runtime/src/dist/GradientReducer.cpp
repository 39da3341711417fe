#include "GradientReducer.h"

#include <chrono>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::dist {

BucketedGradientReducer::BucketedGradientReducer(std::vector<at::Tensor> parameters,
                                                 Communicator& comm, int64_t bucket_bytes)
    : parameters_(std::move(parameters)), comm_(comm), slots_(parameters_.size()) {
  // Reverse order: the last layers' gradients arrive first.
  std::vector<std::size_t> current;
  int64_t current_bytes = 0;
  auto close_bucket = [&](bool last) {
    if (current.empty()) return;
    const auto& first = parameters_[current.front()];
    int64_t numel = 0;
    for (auto p : current) numel += parameters_[p].numel();
    Bucket bucket;
    if (last) side_offset_ = numel;
    bucket.flat = at::zeros({numel + (last ? 1 : 0)}, first.options().requires_grad(false));
    int64_t offset = 0;
    for (std::size_t e = 0; e < current.size(); ++e) {
      const auto p = current[e];
      slots_[p] = {buckets_.size(), e, offset};
      offset += parameters_[p].numel();
    }
    bucket.params = current;
    bucket.filled.assign(current.size(), false);
    buckets_.push_back(std::move(bucket));
    current.clear();
    current_bytes = 0;
  };
  for (std::size_t i = parameters_.size(); i-- > 0;) {
    const auto& p = parameters_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool other_kind = !current.empty() &&
                            (parameters_[current.front()].scalar_type() != p.scalar_type() ||
                             parameters_[current.front()].device() != p.device());
    if (other_kind || (!current.empty() && current_bytes + bytes > bucket_bytes)) close_bucket(false);
    current.push_back(i);
    current_bytes += bytes;
  }
  close_bucket(true);
  if (buckets_.empty()) throw DistributedError("DDP needs at least one parameter to train");
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].purpose = fmt::format("gradient bucket {}/{}", b + 1, buckets_.size());
  }
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    hooks_.push_back(
        parameters_[i].register_hook([this, i](const at::Tensor& grad) { on_gradient(i, grad); }));
  }
}

BucketedGradientReducer::~BucketedGradientReducer() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].remove_hook(hooks_[i]);
}

namespace {

// A parameter's .grad as part of its bucket (PyTorch DDP's gradient_as_bucket_view): the
// next backward accumulates into the bucket and finalize() copies nothing. Made with set_
// rather than a view op: libtorch's zero_grad() detach_()es .grad, which a view refuses.
at::Tensor bucket_part(const at::Tensor& flat, int64_t offset, at::IntArrayRef sizes) {
  at::NoGradGuard no_grad;
  auto grad = at::empty({0}, flat.options());
  grad.set_(flat.storage(), flat.storage_offset() + offset, sizes);
  return grad;
}

}  // namespace

at::Tensor BucketedGradientReducer::region(std::size_t param) const {
  const auto& slot = slots_[param];
  return buckets_[slot.bucket].flat.narrow(0, slot.offset, parameters_[param].numel()).view(parameters_[param].sizes());
}

bool BucketedGradientReducer::grad_in_bucket(std::size_t param) const {
  const auto& grad = parameters_[param].grad();
  if (!grad.defined()) return false;
  const auto& slot = slots_[param];
  const auto& flat = buckets_[slot.bucket].flat;
  return grad.data_ptr() == static_cast<char*>(flat.data_ptr()) + slot.offset * flat.element_size();
}

void BucketedGradientReducer::on_gradient(std::size_t param, const at::Tensor& grad) {
  if (!sync_) return;
  // Autograd ran the previous hook's accumulation before calling this one (one node at a
  // time per device): a bucket that waited for it may go now.
  awaiting_accumulation_.reset();
  launch_ready();
  const auto& slot = slots_[param];
  auto& bucket = buckets_[slot.bucket];
  const auto entry = slot.entry;
  // .grad is the bucket's own memory (since the first finalize() and until an optimizer
  // sets it to none): autograd adds `grad` there right after this hook, on top of what
  // .grad holds (zeros after zero_grad(), earlier micro-batches while accumulating).
  const bool in_bucket = grad_in_bucket(param);
  if (bucket.filled[entry]) {
    if (bucket.work) {
      throw DistributedError(
          "a parameter received a second gradient after its bucket was sent; shared "
          "parameters used twice in one step are not supported by the bucketed reducer");
    }
    if (!in_bucket) region(param).add_(grad);
    return;
  }
  bucket.filled[entry] = true;
  ++bucket.pending;
  if (in_bucket) {
    awaiting_accumulation_ = slot.bucket;
    return;
  }
  // The hook runs before autograd adds `grad` to .grad, which still holds the earlier
  // micro-batches' sum.
  auto target = region(param);
  const auto& accumulated = parameters_[param].grad();
  if (accumulated_ && accumulated.defined()) {
    at::add_out(target, grad, accumulated);
  } else {
    target.copy_(grad);
  }
  launch_ready();
}

void BucketedGradientReducer::launch(Bucket& bucket) {
  if (&bucket == &buckets_.back()) bucket.flat.narrow(0, side_offset_, 1).fill_(side_value_);
  bucket.work = comm_.allreduce_mean_async(bucket.flat, bucket.purpose);
  ++allreduces_;
}

void BucketedGradientReducer::launch_ready() {
  while (next_to_launch_ < buckets_.size() && awaiting_accumulation_ != next_to_launch_ &&
         buckets_[next_to_launch_].pending == buckets_[next_to_launch_].params.size()) {
    launch(buckets_[next_to_launch_++]);
  }
}

at::Tensor BucketedGradientReducer::side_mean() const {
  return buckets_.back().flat.narrow(0, side_offset_, 1);
}

void BucketedGradientReducer::finalize() {
  awaiting_accumulation_.reset();
  // Parameters that got no gradient this step (unused branches) contribute zeros.
  for (; next_to_launch_ < buckets_.size(); ++next_to_launch_) {
    auto& bucket = buckets_[next_to_launch_];
    for (std::size_t e = 0; e < bucket.params.size(); ++e) {
      if (!bucket.filled[e]) {
        const auto p = bucket.params[e];
        const auto& accumulated = parameters_[p].grad();
        if (!accumulated_ || !accumulated.defined()) {
          region(p).zero_();
        } else if (!grad_in_bucket(p)) {
          region(p).copy_(accumulated);
        }
      }
    }
    launch(bucket);
  }
  for (auto& bucket : buckets_) {
    const auto waiting = std::chrono::steady_clock::now();
    bucket.work->wait();
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
    bucket.work.reset();
    for (auto p : bucket.params) {
      auto& param = parameters_[p];
      if (!grad_in_bucket(p)) param.mutable_grad() = bucket_part(bucket.flat, slots_[p].offset, param.sizes());
    }
    std::fill(bucket.filled.begin(), bucket.filled.end(), false);
    bucket.pending = 0;
  }
  next_to_launch_ = 0;
}

}  // namespace bolt::dist
