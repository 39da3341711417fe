#include "ShmSegment.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "../util/FileDescriptor.h"
#include "bolt/Error.h"

namespace bolt::dist {

namespace {

constexpr const char* kPrefix = "bolt-shm-";

void* map(int fd, std::size_t bytes, const std::string& name) {
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    throw DistributedError(fmt::format("cannot map shared memory {} ({} bytes): {}", name, bytes,
                                       std::strerror(errno)));
  }
  return data;
}

}  // namespace

bool process_exited(int pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

ShmSegment ShmSegment::create(const std::string& name, std::size_t bytes) {
  FileDescriptor fd(::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    throw DistributedError(fmt::format("cannot create shared memory {}: {}", name, std::strerror(errno)));
  }
  // posix_fallocate reports a full tmpfs now instead of a SIGBUS when a page is first written.
  const int reserved = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes));
  if (reserved != 0) {
    ::shm_unlink(name.c_str());
    throw DistributedError(fmt::format(
        "cannot reserve {:.1f} MB of shared memory in /dev/shm for the shm backend: {}; make "
        "/dev/shm larger (e.g. docker --shm-size) or use --trainer.dist_backend gloo",
        static_cast<double>(bytes) / 1e6, std::strerror(reserved)));
  }
  try {
    return ShmSegment(name, map(fd.get(), bytes, name), bytes, true);
  } catch (...) {
    ::shm_unlink(name.c_str());
    throw;
  }
}

ShmSegment ShmSegment::open(const std::string& name) {
  FileDescriptor fd(::shm_open(name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0));
  if (fd.get() < 0) {
    throw DistributedError(fmt::format("cannot open shared memory {} created by local rank 0: {}",
                                       name, std::strerror(errno)));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || info.st_uid != ::geteuid() || info.st_size <= 0) {
    throw DistributedError(fmt::format(
        "shared memory {} is not a segment of this user's job (owner or size differ)", name));
  }
  const auto bytes = static_cast<std::size_t>(info.st_size);
  return ShmSegment(name, map(fd.get(), bytes, name), bytes, false);
}

ShmSegment::ShmSegment(ShmSegment&& other) noexcept
    : name_(std::move(other.name_)), data_(other.data_), size_(other.size_), owner_(other.owner_) {
  other.data_ = nullptr;
  other.owner_ = false;
}

ShmSegment::~ShmSegment() {
  unlink();
  if (data_ != nullptr) ::munmap(data_, size_);
}

void ShmSegment::unlink() {
  if (owner_) ::shm_unlink(name_.c_str());
  owner_ = false;
}

std::string shm_segment_name(int pid, const std::string& run_id, long node_rank, long restart) {
  std::string safe;
  for (char c : run_id.substr(0, 64)) safe += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return fmt::format("/{}{}-{}-n{}-r{}", kPrefix, pid, safe, node_rank, restart);
}

int remove_stale_segments() {
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> dir(::opendir("/dev/shm"));
  if (!dir) return 0;
  int removed = 0;
  const auto prefix_length = std::strlen(kPrefix);
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix_length, kPrefix) != 0) continue;
    const int pid = std::atoi(name.c_str() + prefix_length);
    struct stat info {};
    if (pid <= 0 || ::fstatat(::dirfd(dir.get()), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0 ||
        info.st_uid != ::geteuid() || !process_exited(pid)) {
      continue;
    }
    if (::shm_unlink(("/" + name).c_str()) == 0) ++removed;
  }
  return removed;
}

}  // namespace bolt::dist
