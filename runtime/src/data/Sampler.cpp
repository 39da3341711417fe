#include "bolt/Sampler.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace bolt {

DistributedSampler::DistributedSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank,
                                       bool shuffle, uint64_t seed, bool drop_last)
    : dataset_size_(dataset_size),
      num_replicas_(num_replicas),
      rank_(rank),
      shuffle_(shuffle),
      seed_(seed),
      drop_last_(drop_last) {
  if (drop_last_ && dataset_size_ % num_replicas_ != 0) {
    num_samples_ = dataset_size_ / num_replicas_;
  } else {
    num_samples_ = (dataset_size_ + num_replicas_ - 1) / num_replicas_;
  }
}

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> all(static_cast<std::size_t>(dataset_size_));
  if (shuffle_) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed_ + static_cast<uint64_t>(epoch));
    const auto perm = at::randperm(dataset_size_, generator, at::kLong);
    std::copy_n(perm.data_ptr<int64_t>(), dataset_size_, all.begin());
  } else {
    for (int64_t i = 0; i < dataset_size_; ++i) all[static_cast<std::size_t>(i)] = i;
  }
  const int64_t total = num_samples_ * num_replicas_;
  if (!drop_last_) {
    // Pad by repeating the head (as often as needed) so every rank gets num_samples_.
    const std::size_t original = all.size();
    for (std::size_t i = 0; all.size() < static_cast<std::size_t>(total); ++i) {
      all.push_back(all[i % original]);
    }
  } else {
    all.resize(static_cast<std::size_t>(total));
  }
  std::vector<int64_t> mine;
  mine.reserve(static_cast<std::size_t>(num_samples_));
  for (int64_t i = rank_; i < total; i += num_replicas_) mine.push_back(all[static_cast<std::size_t>(i)]);
  return mine;
}

ShardSampler::ShardSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank)
    : dataset_size_(dataset_size), num_replicas_(num_replicas), rank_(rank) {}

std::vector<int64_t> ShardSampler::indices(int64_t) const {
  std::vector<int64_t> mine;
  for (int64_t i = rank_; i < dataset_size_; i += num_replicas_) mine.push_back(i);
  return mine;
}

int64_t ShardSampler::size() const {
  return rank_ < dataset_size_ ? (dataset_size_ - rank_ + num_replicas_ - 1) / num_replicas_ : 0;
}

}  // namespace bolt
