// The shared-memory collectives with ranks as threads (each maps the segment itself, as a
// process would): sums in rank order for each dtype, tensors larger than a slot, broadcast,
// a rank that never arrives named within the timeout, and /dev/shm left clean.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "bolt/Error.h"
#include "dist/ShmGroup.h"

namespace {

using bolt::dist::ShmGroup;
using bolt::dist::ShmSegment;

std::string unique_name(const char* what) {
  static int counter = 0;
  return bolt::dist::shm_segment_name(::getpid(), what, counter++, 0);
}

// Runs `body(group, local_rank)` on `size` threads, one ShmGroup each; returns the errors.
template <class Body>
std::vector<std::string> on_ranks(int size, Body body, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto name = unique_name("unit");
  auto creator = ShmSegment::create(name, ShmGroup::segment_bytes(size));
  std::vector<std::string> errors(static_cast<std::size_t>(size));
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<ShmGroup>> groups;
  groups.push_back(std::make_unique<ShmGroup>(std::move(creator), bolt::dist::ShmMember{0, size, 0}, true, timeout));
  for (int r = 1; r < size; ++r) {
    groups.push_back(std::make_unique<ShmGroup>(ShmSegment::open(name), bolt::dist::ShmMember{r, size, r}, false, timeout));
  }
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      try {
        groups[static_cast<std::size_t>(r)]->attach();
        body(*groups[static_cast<std::size_t>(r)], r);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

bool shm_entry_exists(const std::string& name) {
  return std::filesystem::exists("/dev/shm" + name);
}

}  // namespace

TEST_CASE("shm allreduce sums in rank order for every dtype, across several slots", "[dist][shm]") {
  const int size = 3;
  const int64_t big = 3 * (4 << 20) / 4 + 12345;  // floats: more than two 4 MB slots
  std::vector<at::Tensor> inputs;
  for (int r = 0; r < size; ++r) inputs.push_back(at::randn({big}) * (r + 1));
  auto expected = (inputs[0] + inputs[1]) + inputs[2];
  std::vector<at::Tensor> floats(3), doubles(3), longs(3), halves(3), odd(3);
  auto errors = on_ranks(size, [&](ShmGroup& group, int r) {
    for (int64_t n : {1, 15, 50, 97}) {  // sizes whose last chunk is short or empty
      odd[r] = at::arange(n, at::kFloat) + r;
      group.allreduce_sum(odd[r]);
      if (!at::equal(odd[r], at::arange(n, at::kFloat) * 3 + 3)) throw std::runtime_error("wrong sum of " + std::to_string(n));
    }
    floats[r] = inputs[r].clone();
    group.allreduce_sum(floats[r]);
    doubles[r] = at::arange(1000, at::kDouble) * (r + 1);
    group.allreduce_sum(doubles[r]);
    longs[r] = at::full({7}, int64_t{1} << 40, at::kLong);
    group.allreduce_sum(longs[r]);
    halves[r] = at::ones({33}, at::kBFloat16);
    group.allreduce_sum(halves[r]);
  });
  for (int r = 0; r < size; ++r) {
    INFO("rank " << r);
    CHECK(errors[r].empty());
    CHECK(at::equal(floats[r], expected));  // bitwise: the same order on every rank
    CHECK(at::equal(doubles[r], at::arange(1000, at::kDouble) * 6));
    CHECK(at::equal(longs[r], at::full({7}, 3 * (int64_t{1} << 40), at::kLong)));
    CHECK(at::equal(halves[r], at::full({33}, 3, at::kBFloat16)));
  }
}

TEST_CASE("shm mean (scale 1/n) equals dividing every rank's tensor first, and cannot overflow in half precision",
          "[dist][shm]") {
  // One rank with 1/4: a node holding one rank of a 4-rank job scales its chunk alone.
  for (const auto& [size, world] : {std::pair{1, 4}, {2, 2}, {3, 3}}) {
    INFO(size << " ranks on the node, " << world << " in the job");
    const double scale = 1.0 / world;
    std::vector<at::Tensor> inputs, floats(size), halves(size), longs(size);
    for (int r = 0; r < size; ++r) inputs.push_back(at::randn({5000}) * std::pow(10.0, r));
    at::Tensor divided_first = inputs[0] / world;
    for (int r = 1; r < size; ++r) divided_first = divided_first + inputs[r] / world;
    std::vector<std::string> integer_errors(size);
    auto errors = on_ranks(size, [&](ShmGroup& group, int r) {
      floats[r] = inputs[r].clone();
      group.allreduce_sum(floats[r], {}, "mean", scale);
      halves[r] = at::full({40}, 60000.0, at::kHalf);  // two of these summed are beyond half's 65504
      group.allreduce_sum(halves[r], {}, "half mean", scale);
      longs[r] = at::ones({3}, at::kLong);
      try {
        group.allreduce_sum(longs[r], {}, "integer mean", scale);
      } catch (const bolt::DistributedError& e) {
        integer_errors[r] = e.what();
      }
    });
    for (int r = 0; r < size; ++r) {
      INFO("rank " << r);
      CHECK(errors[r].empty());
      if (size == 3) {  // 1/3 is not exact: x * (1/3) and x / 3 may differ in the last bit
        const auto magnitude = inputs[0].abs() + inputs[1].abs() + inputs[2].abs();
        CHECK(((floats[r] - divided_first).abs() / magnitude).max().item<double>() <= 1e-6);
      } else {
        CHECK(at::equal(floats[r], divided_first));
      }
      CHECK(at::equal(halves[r], at::full({40}, 60000.0 * size / world, at::kHalf)));
      CHECK_THAT(integer_errors[r], Catch::Contains("only floating-point tensors"));
    }
  }
}

TEST_CASE("shm allreduce agrees with gloo's within 1e-6 relative on 3 ranks", "[dist][shm]") {
  const int size = 3;
  std::vector<at::Tensor> inputs;
  for (int r = 0; r < size; ++r) inputs.push_back(at::randn({100003}) * std::pow(10.0, r));
  std::vector<at::Tensor> shm(size), gloo(size);
  auto errors = on_ranks(size, [&](ShmGroup& group, int r) {
    shm[r] = inputs[r].clone();
    group.allreduce_sum(shm[r]);
  });
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] {
      auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(30));
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      c10d::ProcessGroupGloo group(store, r, size, options);
      std::vector<at::Tensor> tensors{inputs[r].clone()};
      group.allreduce(tensors)->wait();
      gloo[r] = tensors[0];
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < size; ++r) {
    CHECK(errors[r].empty());
    // Relative to the magnitude of the terms: a sum that cancels to ~0 has no relative digits.
    const auto magnitude = inputs[0].abs() + inputs[1].abs() + inputs[2].abs();
    const double worst = ((shm[r] - gloo[r]).abs() / magnitude).max().item<double>();
    CHECK(worst <= 1e-6);
  }
}

TEST_CASE("shm broadcast copies the root's values, also into a non-contiguous tensor", "[dist][shm]") {
  std::vector<at::Tensor> values(4);
  auto errors = on_ranks(4, [&](ShmGroup& group, int r) {
    auto base = at::full({6, 4}, static_cast<double>(r));
    auto column = base.t();  // not contiguous
    group.broadcast(column, 2);
    values[r] = base;
    group.barrier();
  });
  for (int r = 0; r < 4; ++r) {
    CHECK(errors[r].empty());
    CHECK(at::equal(values[r], at::full({6, 4}, 2.0, at::kDouble)));
  }
}

TEST_CASE("a rank that never arrives is named when the collective times out", "[dist][shm]") {
  const auto start = std::chrono::steady_clock::now();
  auto errors = on_ranks(
      2,
      [&](ShmGroup& group, int r) {
        if (r == 1) return;  // skips the collective rank 0 makes
        auto t = at::ones({4});
        group.allreduce_sum(t);
      },
      std::chrono::milliseconds(600));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(errors[1].empty());
  CHECK_THAT(errors[0], Catch::Contains("rank 1 (local rank 1, pid") &&
                            Catch::Contains("did not reach shared-memory allreduce #2 within 0.6 s"));
  CHECK(waited < std::chrono::seconds(3));
}

TEST_CASE("shm segments: created exclusively, unlinked once attached, stale ones removed", "[dist][shm]") {
  const auto name = unique_name("excl");
  {
    auto segment = ShmSegment::create(name, 4096);
    CHECK(shm_entry_exists(name));
    CHECK_THROWS_AS(ShmSegment::create(name, 4096), bolt::DistributedError);
    segment.unlink();
    CHECK_FALSE(shm_entry_exists(name));
  }
  {
    auto segment = ShmSegment::create(name, 4096);
  }
  CHECK_FALSE(shm_entry_exists(name));  // a failed set-up removes what it created
  on_ranks(2, [&](ShmGroup&, int) {});
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    CHECK(entry.path().filename().string().find(std::to_string(::getpid()) + "-unit") == std::string::npos);
  }

  // A dead process's segment goes; a live one's stays.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const auto stale = bolt::dist::shm_segment_name(child, "stale", 0, 0);
  const auto live = bolt::dist::shm_segment_name(::getpid(), "live", 0, 0);
  for (const auto& n : {stale, live}) {
    const int fd = ::shm_open(n.c_str(), O_CREAT | O_RDWR, 0600);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  CHECK(bolt::dist::remove_stale_segments() >= 1);
  CHECK_FALSE(shm_entry_exists(stale));
  CHECK(shm_entry_exists(live));
  ::shm_unlink(live.c_str());
}

TEST_CASE("a collective abandoned by its own rank gives up at once, not at the timeout", "[dist][shm]") {
  const auto name = unique_name("abandon");
  const auto timeout = std::chrono::seconds(20);
  ShmGroup first(ShmSegment::create(name, ShmGroup::segment_bytes(2)), {0, 2, 0}, true, timeout);
  ShmGroup second(ShmSegment::open(name), {1, 2, 1}, false, timeout);
  std::thread attach_second([&] { second.attach(); });
  first.attach();
  attach_second.join();
  std::string error;
  const auto start = std::chrono::steady_clock::now();
  std::thread waiting([&] {
    try {
      auto t = at::ones({8});
      first.allreduce_sum(t);  // rank 1 never joins
    } catch (const bolt::DistributedError& e) {
      error = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  first.abandon();
  waiting.join();
  CHECK_THAT(error, Catch::Contains("abandoned: rank 0 is shutting down"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}
