#include "ShmGroup.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <type_traits>

#include <ATen/OpMathType.h>
#include <fmt/format.h>

#include "../util/StoppedTime.h"
#include "bolt/Error.h"

namespace bolt::dist {

namespace {

constexpr uint64_t kMagic = 0x626f6c7473686d31ULL;  // "boltshm1"
constexpr std::size_t kHeaderBytes = 64 * 1024;
// Slots shrink as ranks grow so the segment stays within ~32 MB of /dev/shm.
constexpr std::size_t kSegmentBudget = 32u << 20;
constexpr std::size_t kMaxSlotBytes = 4u << 20;
constexpr std::size_t kMinSlotBytes = 64u << 10;
constexpr int kSpinsBeforeSleep = 50;
constexpr auto kPeerCheckInterval = std::chrono::milliseconds(100);

std::size_t slot_bytes_for(int64_t local_size) {
  const auto share = kSegmentBudget / (2 * static_cast<std::size_t>(local_size));
  return std::clamp(share / 4096 * 4096, kMinSlotBytes, kMaxSlotBytes);
}

// Futexes on a word of a MAP_SHARED mapping work across processes (no FUTEX_PRIVATE_FLAG).
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, std::chrono::milliseconds timeout) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1000000);
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

bool reached(uint32_t value, uint32_t target) { return static_cast<int32_t>(value - target) >= 0; }

// `scale` (a mean's 1/n) multiplies each term as it is read, not the sum: the same values as
// dividing every rank's tensor first (bitwise for n a power of two) without that extra pass
// over the tensor, and a half-precision sum of large terms cannot overflow on the way.
template <class T>
void sum_slots(std::byte* out_bytes, const std::vector<const std::byte*>& in, std::size_t offset,
               std::size_t count, double scale) {
  auto* out = reinterpret_cast<T*>(out_bytes + offset);
  const auto* first = reinterpret_cast<const T*>(in[0] + offset);
  // Integers are only ever summed (allreduce_sum refuses a mean of them).
  using Math = std::conditional_t<std::is_integral_v<T>, T, at::opmath_type<T>>;
  const auto s = static_cast<Math>(scale);
  const bool scaled = scale != 1.0;
  auto term = [&](T x) { return scaled ? static_cast<T>(static_cast<Math>(x) * s) : x; };
  if (in.size() == 1) {  // one rank on this node: only the scaling
    for (std::size_t i = 0; i < count; ++i) out[i] = term(first[i]);
    return;
  }
  const auto* second = reinterpret_cast<const T*>(in[1] + offset);
  for (std::size_t i = 0; i < count; ++i) out[i] = term(first[i]) + term(second[i]);
  for (std::size_t r = 2; r < in.size(); ++r) {
    const auto* next = reinterpret_cast<const T*>(in[r] + offset);
    for (std::size_t i = 0; i < count; ++i) out[i] = out[i] + term(next[i]);
  }
}

}  // namespace

struct alignas(64) PaddedWord {
  std::atomic<uint32_t> value;
};

struct ShmGroup::OpDescriptor {
  uint32_t point = 0;  // the synchronisation point it was posted for
  uint64_t tag = 0;    // kind, dtype and purpose
  uint64_t bytes = 0;
  char purpose[40] = {};

  OpDescriptor() = default;
  OpDescriptor(const char* kind, at::ScalarType type, std::size_t piece_bytes, std::string_view label)
      : bytes(piece_bytes) {
    tag = 1469598103934665603ULL;  // FNV-1a
    auto mix = [&](std::string_view text) {
      for (const char c : text) tag = (tag ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    };
    mix(kind);
    mix(c10::toString(type));
    mix(label);
    const auto n = std::min(label.size(), sizeof purpose - 1);
    if (n > 0) std::memcpy(purpose, label.data(), n);  // an empty view may hold a null pointer
  }
};

struct ShmGroup::Header {
  uint64_t magic;
  int64_t local_size;
  uint64_t slot_bytes;
  alignas(64) std::atomic<uint32_t> bell;  // bumped by every arrival; the futex word
  alignas(64) std::atomic<uint32_t> sleepers;
  int32_t pids[kMaxLocalRanks];
  int64_t ranks[kMaxLocalRanks];
  PaddedWord arrived[kMaxLocalRanks];  // per rank: the last synchronisation point reached
  OpDescriptor ops[2][kMaxLocalRanks];  // per parity of the point: what each rank calls there
};

std::size_t ShmGroup::segment_bytes(int64_t local_size) {
  static_assert(sizeof(Header) <= kHeaderBytes, "the header must fit before the slots");
  return kHeaderBytes + 2 * static_cast<std::size_t>(local_size) * slot_bytes_for(local_size);
}

ShmGroup::ShmGroup(ShmSegment segment, ShmMember me, bool initialise, std::chrono::milliseconds timeout)
    : segment_(std::move(segment)), me_(me), timeout_(timeout), slot_bytes_(slot_bytes_for(me.local_size)) {
  if (me_.local_size < 1 || me_.local_size > kMaxLocalRanks) {
    throw DistributedError(fmt::format("the shm backend supports 1 to {} ranks per node, not {}",
                                       kMaxLocalRanks, me_.local_size));
  }
  if (segment_.size() < segment_bytes(me_.local_size)) {
    throw DistributedError(fmt::format("shared memory {} is smaller than {} ranks need",
                                       segment_.name(), me_.local_size));
  }
  auto& h = header();
  if (initialise) {
    new (&h) Header{};
    h.local_size = me_.local_size;
    h.slot_bytes = slot_bytes_;
    h.magic = kMagic;
  } else if (h.magic != kMagic || h.local_size != me_.local_size || h.slot_bytes != slot_bytes_) {
    throw DistributedError(fmt::format(
        "shared memory {} was laid out for {} ranks per node, this rank expects {}: are all ranks "
        "of this node started with the same LOCAL_WORLD_SIZE and the same Bolt?",
        segment_.name(), h.local_size, me_.local_size));
  }
}

ShmGroup::Header& ShmGroup::header() const { return *static_cast<Header*>(segment_.data()); }

std::byte* ShmGroup::slot(uint64_t parity, int64_t local_rank) const {
  auto* base = static_cast<std::byte*>(segment_.data()) + kHeaderBytes;
  return base + (parity * static_cast<uint64_t>(me_.local_size) + static_cast<uint64_t>(local_rank)) * slot_bytes_;
}

void ShmGroup::attach() {
  auto& h = header();
  h.pids[me_.local_rank] = static_cast<int32_t>(::getpid());
  h.ranks[me_.local_rank] = me_.global_rank;
  wait_for_all("attach", nullptr);
  segment_.unlink();
}

void ShmGroup::wait_for_all(const char* what, const OpDescriptor* op) {
  auto& h = header();
  const uint32_t target = ++arrivals_;
  if (op) {
    auto& posted = h.ops[target & 1][me_.local_rank];
    posted = *op;
    posted.point = target;
  }
  h.arrived[me_.local_rank].value.store(target);
  h.bell.fetch_add(1);
  if (h.sleepers.load() != 0) futex_wake_all(&h.bell);

  auto awake = std::chrono::steady_clock::now();
  auto deadline = awake + timeout_;
  auto next_check = awake + kPeerCheckInterval;
  for (int spins = 0;; ++spins) {
    if (abandoned_->load()) {
      throw DistributedError(fmt::format("shared-memory {} #{} abandoned: rank {} is shutting down",
                                         what, target, me_.global_rank));
    }
    const uint32_t bell = h.bell.load();
    bool all = true;
    for (int64_t r = 0; r < me_.local_size && all; ++r) all = reached(h.arrived[r].value.load(), target);
    if (all) {
      if (op) check_same_op(target, what, *op);
      return;
    }
    if (spins < kSpinsBeforeSleep) {
      std::this_thread::yield();
      continue;
    }
    h.sleepers.fetch_add(1);
    futex_wait(&h.bell, bell, kPeerCheckInterval);
    h.sleepers.fetch_sub(1);
    const auto now = std::chrono::steady_clock::now();
    deadline += time_stopped(awake, now, kPeerCheckInterval);  // its peers most likely were too
    awake = now;
    if (now >= next_check) {
      check_peers(target, what, deadline);
      next_check = std::chrono::steady_clock::now() + kPeerCheckInterval;
    }
  }
}

void ShmGroup::check_same_op(uint32_t target, const char* what, const OpDescriptor& op) const {
  // A peer cannot post for target + 2 before this rank arrives at target + 1: the slot of
  // this parity still holds what each peer posted for `target`.
  const auto& h = header();
  for (int64_t r = 0; r < me_.local_size; ++r) {
    const auto& theirs = h.ops[target & 1][r];
    if (theirs.point == target && theirs.tag == op.tag && theirs.bytes == op.bytes) continue;
    const std::string their_call = theirs.point == target
        ? fmt::format("'{}' ({} bytes)", theirs.purpose, theirs.bytes)
        : std::string("a different kind of collective");
    throw DistributedError(fmt::format(
        "collective mismatch at shared-memory {} #{}: rank {} called '{}' ({} bytes) where rank {} (local "
        "rank {}) called {}: every rank must make the same collectives in the same order (did a rank skip "
        "one, or run a different number of steps or batches?)",
        what, target, me_.global_rank, op.purpose, op.bytes, h.ranks[r], r, their_call));
  }
}

void ShmGroup::check_peers(uint32_t target, const char* what,
                           std::chrono::steady_clock::time_point deadline) const {
  const auto& h = header();
  const bool late = std::chrono::steady_clock::now() >= deadline;
  for (int64_t r = 0; r < me_.local_size; ++r) {
    if (reached(h.arrived[r].value.load(), target)) continue;
    const int pid = h.pids[r];
    const std::string who = pid != 0 ? fmt::format("rank {} (local rank {}, pid {})", h.ranks[r], r, pid)
                                     : fmt::format("local rank {}", r);
    if (pid != 0 && process_exited(pid)) {
      throw PeerFailureError(fmt::format("{} exited while rank {} waited for it in shared-memory {} #{}",
                                         who, me_.global_rank, what, target));
    }
    if (late) {
      throw PeerFailureError(fmt::format(
          "{} did not reach shared-memory {} #{} within {:g} s (trainer.dist_timeout_s): it is "
          "stuck, stopped or far slower than rank {}",
          who, what, target, static_cast<double>(timeout_.count()) / 1000, me_.global_rank));
    }
  }
}

template <class Piece>
void ShmGroup::for_each_piece(at::Tensor& tensor, Piece&& piece) {
  if (!tensor.device().is_cpu()) throw DistributedError("the shm backend reduces CPU tensors only");
  auto contiguous = tensor.contiguous();
  auto* data = static_cast<std::byte*>(contiguous.data_ptr());
  const auto element = static_cast<std::size_t>(contiguous.element_size());
  const auto total = static_cast<std::size_t>(contiguous.numel()) * element;
  const auto piece_bytes = slot_bytes_ / element * element;
  for (std::size_t offset = 0; offset < total; offset += piece_bytes) {
    piece(data + offset, std::min(piece_bytes, total - offset), pieces_++ & 1);
  }
  if (contiguous.data_ptr() != tensor.data_ptr()) tensor.copy_(contiguous);
}

void ShmGroup::allreduce_sum(at::Tensor& tensor, const std::function<void(at::Tensor&)>& between_nodes,
                             std::string_view purpose, double scale) {
  const auto type = tensor.scalar_type();
  if (scale != 1.0 && !at::isFloatingType(type)) {
    throw DistributedError(fmt::format("a mean over ranks of a {} tensor: only floating-point tensors have one",
                                       c10::toString(type)));
  }
  const auto element = static_cast<std::size_t>(tensor.element_size());
  for_each_piece(tensor, [&](std::byte* data, std::size_t bytes, uint64_t parity) {
    std::memcpy(slot(parity, me_.local_rank), data, bytes);
    const OpDescriptor op("allreduce", type, bytes, purpose);
    wait_for_all("allreduce", &op);
    // This rank's chunk: an equal share of the elements, 16-element aligned.
    const std::size_t count = bytes / element;
    const auto ranks = static_cast<std::size_t>(me_.local_size);
    const std::size_t share = ((count + ranks - 1) / ranks + 15) / 16 * 16;
    const std::size_t begin = std::min(count, share * static_cast<std::size_t>(me_.local_rank));
    const std::size_t end = std::min(count, begin + share);
    if (end > begin) {
      std::byte* out = slot(parity, 0);
      if (me_.local_size > 1 || scale != 1.0) {
        std::vector<const std::byte*> in;
        for (int64_t r = 0; r < me_.local_size; ++r) in.push_back(slot(parity, r));
        AT_DISPATCH_ALL_TYPES_AND2(at::kHalf, at::kBFloat16, type, "shm_allreduce", [&] {
          sum_slots<scalar_t>(out, in, begin * element, end - begin, scale);
        });
      }
      if (between_nodes) {
        auto chunk = at::from_blob(out + begin * element, {static_cast<int64_t>(end - begin)},
                                   at::TensorOptions().dtype(type));
        between_nodes(chunk);
      }
    }
    wait_for_all("allreduce", nullptr);
    std::memcpy(data, slot(parity, 0), bytes);
  });
}

void ShmGroup::broadcast(at::Tensor& tensor, int64_t root_local_rank, std::string_view purpose) {
  for_each_piece(tensor, [&](std::byte* data, std::size_t bytes, uint64_t parity) {
    if (me_.local_rank == root_local_rank) std::memcpy(slot(parity, root_local_rank), data, bytes);
    const OpDescriptor op("broadcast", tensor.scalar_type(), bytes, purpose);
    wait_for_all("broadcast", &op);
    if (me_.local_rank != root_local_rank) std::memcpy(data, slot(parity, root_local_rank), bytes);
  });
}

}  // namespace bolt::dist
