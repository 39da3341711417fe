#pragma once
// One POSIX shared-memory object mapped into this process (RAII). The ranks of a node reduce
// through it; its name carries the creator's pid so a later job can tell a dead job's
// leftover (remove_stale_segments) from a live one.
#include <cstddef>
#include <string>

namespace bolt::dist {

class ShmSegment {
 public:
  // Creates `name` exclusively (never follows or reuses what is there), sized `bytes` with
  // its pages reserved: a full /dev/shm is an error here, not a SIGBUS on first touch.
  static ShmSegment create(const std::string& name, std::size_t bytes);
  // Maps an existing object created by a peer of this node.
  static ShmSegment open(const std::string& name);

  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&&) = delete;
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;
  ~ShmSegment();

  // Removes the name; the mapping stays valid until every process unmaps it. Called once all
  // ranks have mapped the segment, so a SIGKILL afterwards leaves nothing in /dev/shm.
  void unlink();
  void* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  ShmSegment(std::string name, void* data, std::size_t size, bool owner)
      : name_(std::move(name)), data_(data), size_(size), owner_(owner) {}
  std::string name_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
  bool owner_ = false;  // still named in /dev/shm and ours to remove
};

// The object name for one node of one job: "/bolt-shm-<pid>-<run id>-n<node>-r<restart>".
std::string shm_segment_name(int pid, const std::string& run_id, long node_rank, long restart);
// True when `pid` is gone or a zombie its parent has not reaped: it will never arrive anywhere.
bool process_exited(int pid);
// Unlinks this user's "bolt-shm-<pid>-..." objects whose creating process is gone (a job
// killed between creating and unlinking its segment). Returns how many it removed.
int remove_stale_segments();

}  // namespace bolt::dist
