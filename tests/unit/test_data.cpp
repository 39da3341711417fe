#include <catch2/catch.hpp>

#include <set>

#include "bolt/DataLoader.h"
#include "bolt/Dataset.h"
#include "bolt/Sampler.h"

namespace {
std::shared_ptr<const bolt::Dataset> numbered(int64_t n) {
  auto x = at::arange(n, at::kLong).unsqueeze(1);
  return std::make_shared<bolt::TensorDataset>(x.to(at::kFloat), x.squeeze(1));
}
std::vector<int64_t> targets_of(const bolt::Dataset& d) {
  std::vector<int64_t> all(static_cast<std::size_t>(d.size()));
  for (int64_t i = 0; i < d.size(); ++i) all[static_cast<std::size_t>(i)] = i;
  auto t = d.get_batch(all).targets;
  return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}
}  // namespace

TEST_CASE("train/val split: 1/num_splits to val, disjoint, same for the same seed", "[data]") {
  auto data = numbered(100);
  auto [train, val] = bolt::split_train_val(data, 10, 3);
  CHECK(train->size() == 90);
  CHECK(val->size() == 10);
  auto t = targets_of(*train), v = targets_of(*val);
  std::set<int64_t> all(t.begin(), t.end());
  all.insert(v.begin(), v.end());
  CHECK(all.size() == 100);
  auto [train2, val2] = bolt::split_train_val(data, 10, 3);
  CHECK(targets_of(*val2) == v);
  auto [train3, val3] = bolt::split_train_val(data, 10, 4);
  CHECK(targets_of(*val3) != v);
  CHECK_THROWS(bolt::split_train_val(data, 1, 3));
  CHECK(bolt::limit_dataset(data, 7)->size() == 7);
  CHECK(bolt::limit_dataset(data, 0)->size() == 100);
}

TEST_CASE("DistributedSampler matches torch.utils.data.DistributedSampler", "[data]") {
  // Expected values printed by PyTorch 1.13: DistributedSampler(range(10), num_replicas=3,
  // rank=r, shuffle=True, seed=7, drop_last=dl) after set_epoch(2).
  const std::vector<std::vector<int64_t>> padded = {{0, 7, 9, 3}, {5, 6, 1, 0}, {8, 2, 4, 5}};
  const std::vector<std::vector<int64_t>> dropped = {{0, 7, 9}, {5, 6, 1}, {8, 2, 4}};
  for (int64_t r = 0; r < 3; ++r) {
    CHECK(bolt::DistributedSampler(10, 3, r, true, 7, false).indices(2) == padded[static_cast<std::size_t>(r)]);
    CHECK(bolt::DistributedSampler(10, 3, r, true, 7, true).indices(2) == dropped[static_cast<std::size_t>(r)]);
  }
  CHECK(bolt::DistributedSampler(5, 4, 3, false, 0, false).indices(0) == std::vector<int64_t>{3, 2});
  CHECK(bolt::DistributedSampler(10, 1, 0, true, 7, false).indices(0) !=
        bolt::DistributedSampler(10, 1, 0, true, 7, false).indices(1));
}

TEST_CASE("evaluation shards cover every example exactly once", "[data]") {
  std::vector<int64_t> seen;
  int64_t total = 0;
  for (int64_t r = 0; r < 3; ++r) {
    bolt::ShardSampler sampler(11, 3, r);
    auto idx = sampler.indices(0);
    CHECK(static_cast<int64_t>(idx.size()) == sampler.size());
    total += sampler.size();
    seen.insert(seen.end(), idx.begin(), idx.end());
  }
  std::sort(seen.begin(), seen.end());
  CHECK(total == 11);
  CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
}

TEST_CASE("loader threads yield the same batches in the same order", "[data]") {
  auto data = numbered(103);
  auto sampler = std::make_shared<bolt::DistributedSampler>(103, 1, 0, true, 5, false);
  auto collect = [&](int64_t workers, bool drop_last) {
    bolt::DataLoader loader(data, sampler, {10, drop_last, workers, false});
    loader.start_epoch(1);
    std::vector<std::vector<int64_t>> batches;
    while (auto batch = loader.next()) {
      auto t = batch->targets;
      batches.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
    }
    CHECK(static_cast<int64_t>(batches.size()) == loader.num_batches());
    return batches;
  };
  const auto inline_batches = collect(0, false);
  CHECK(inline_batches.size() == 11);
  CHECK(inline_batches.back().size() == 3);
  CHECK(collect(3, false) == inline_batches);
  CHECK(collect(2, true).size() == 10);
}

TEST_CASE("a resumed epoch skips the batches done and goes on in the same order", "[data]") {
  auto data = numbered(103);
  auto sampler = std::make_shared<bolt::DistributedSampler>(103, 1, 0, true, 5, false);
  for (int64_t workers : {0, 3}) {
    auto targets_from = [&](int64_t skip) {
      bolt::DataLoader loader(data, sampler, {10, false, workers, false});
      loader.start_epoch(2, skip);
      std::vector<int64_t> seen;
      while (auto batch = loader.next()) {
        const auto t = batch->targets;
        seen.insert(seen.end(), t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
      }
      return seen;
    };
    const auto full = targets_from(0);
    REQUIRE(full.size() == 103);
    CHECK(targets_from(4) == std::vector<int64_t>(full.begin() + 40, full.end()));
    CHECK(targets_from(11).empty());
    CHECK(targets_from(50).empty());
  }
}
