#pragma once
// Which example indices one rank visits in one epoch.
#include "bolt/Export.h"
#include <cstdint>
#include <vector>

namespace bolt {

class BOLT_API Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::vector<int64_t> indices(int64_t epoch) const = 0;
  // Number of indices per epoch on this rank.
  virtual int64_t size() const = 0;
};

// torch.utils.data.DistributedSampler, same semantics: shuffle with a generator seeded by
// seed + epoch, pad by repeating the head to a multiple of the replica count (or drop the
// tail with drop_last), then take every num_replicas-th index starting at rank.
class BOLT_API DistributedSampler : public Sampler {
 public:
  DistributedSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank, bool shuffle,
                     uint64_t seed, bool drop_last);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override { return num_samples_; }

 private:
  int64_t dataset_size_, num_replicas_, rank_;
  bool shuffle_;
  uint64_t seed_;
  bool drop_last_;
  int64_t num_samples_;
};

// Evaluation shards: every num_replicas-th index from rank, in order, never padded, so that
// metrics reduced by sample count over ranks equal those of one rank.
class BOLT_API ShardSampler : public Sampler {
 public:
  ShardSampler(int64_t dataset_size, int64_t num_replicas, int64_t rank);
  std::vector<int64_t> indices(int64_t epoch) const override;
  int64_t size() const override;

 private:
  int64_t dataset_size_, num_replicas_, rank_;
};

}  // namespace bolt
