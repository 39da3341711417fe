#pragma once
// Collectives among the ranks of one node through one shared-memory segment: every rank
// copies its data into its own slot, reduces its own chunk over all slots in rank order (a
// fixed order: bitwise-reproducible sums), and copies the result back (reduce-scatter +
// all-gather, no sockets, no copies through the kernel). Waits are futex sleeps on one word
// of the segment, bounded by the collective timeout and watching the peers' pids, so a peer
// that dies or stops ends the wait with a named error instead of a hang.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include <ATen/ATen.h>

#include "ShmSegment.h"

namespace bolt::dist {

struct ShmMember {
  int64_t local_rank = 0;
  int64_t local_size = 1;
  int64_t global_rank = 0;
};

class ShmGroup {
 public:
  // Bytes of the segment for `local_size` ranks (header and two sets of slots).
  static std::size_t segment_bytes(int64_t local_size);
  static constexpr int64_t kMaxLocalRanks = 256;

  // `initialise`: this rank created the segment and lays out its header (before any peer
  // opens it). Every rank then calls attach().
  ShmGroup(ShmSegment segment, ShmMember me, bool initialise, std::chrono::milliseconds timeout);
  // Records this rank's pid and waits for all local ranks; the creator then unlinks the name.
  void attach();

  // Sums `tensor` (contiguous, CPU) over the node's ranks in place. `between_nodes`, when
  // set, receives each node-summed chunk this rank owns and must sum it over the nodes (the
  // same chunk's owners on the other nodes call it with equal sizes, in the same order).
  // `purpose` names the collective: ranks calling different collectives at the same point (a
  // rank skipped one) fail at once with both named, instead of exchanging mismatched data.
  // `scale` multiplies every term (1/world size: a mean, for floating-point tensors).
  void allreduce_sum(at::Tensor& tensor, const std::function<void(at::Tensor&)>& between_nodes = {},
                     std::string_view purpose = {}, double scale = 1.0);
  void broadcast(at::Tensor& tensor, int64_t root_local_rank, std::string_view purpose = {});
  void barrier() { wait_for_all("barrier", nullptr); }
  // From another thread: a collective waiting now or later gives up at once (within one sleep
  // slice) instead of at the timeout: this rank is going away.
  void abandon() { abandoned_->store(true); }
  int64_t local_size() const { return me_.local_size; }

 private:
  struct Header;
  struct OpDescriptor;
  Header& header() const;
  std::byte* slot(uint64_t parity, int64_t local_rank) const;
  // `op`: what this rank calls at this point, compared with every peer's once all arrived.
  void wait_for_all(const char* what, const OpDescriptor* op);
  void check_same_op(uint32_t target, const char* what, const OpDescriptor& op) const;
  void check_peers(uint32_t target, const char* what, std::chrono::steady_clock::time_point deadline) const;
  template <class Piece>
  void for_each_piece(at::Tensor& tensor, Piece&& piece);

  ShmSegment segment_;
  ShmMember me_;
  std::chrono::milliseconds timeout_;
  std::size_t slot_bytes_ = 0;
  uint32_t arrivals_ = 0;  // collectives' synchronisation points passed, same on every rank
  uint64_t pieces_ = 0;    // pieces moved: their parity picks the slot set
  std::unique_ptr<std::atomic<bool>> abandoned_ = std::make_unique<std::atomic<bool>>(false);
};

}  // namespace bolt::dist
