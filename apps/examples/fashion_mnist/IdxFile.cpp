#include "IdxFile.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace fashion_mnist {

namespace {

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

// Reads exactly `size` bytes or reports how many there were.
void read_exact(gzFile file, void* out, std::size_t size, const std::string& name, const char* what) {
  std::size_t done = 0;
  auto* bytes = static_cast<unsigned char*>(out);
  while (done < size) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1u << 30));
    const int n = gzread(file, bytes + done, chunk);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw bolt::DataError(fmt::format("{} is corrupt ({}) while reading its {}", name, message, what));
    }
    if (n == 0) {
      throw bolt::DataError(fmt::format("{} is truncated: its {} needs {} bytes, the file has {}",
                                        name, what, size, done));
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

void decode_idx(int fd, uint64_t file_size, const std::string& name, int expected_dims, const IdxAllocate& allocate) {
  std::unique_ptr<gzFile_s, GzCloser> file(gzdopen(fd, "rb"));
  if (!file) {
    ::close(fd);
    throw bolt::DataError(fmt::format("cannot read {}", name));
  }
  gzbuffer(file.get(), 1 << 20);
  unsigned char magic[4];
  read_exact(file.get(), magic, sizeof magic, name, "header");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != expected_dims) {
    throw bolt::DataError(fmt::format(
        "{} is not an IDX file of {}-dimensional unsigned bytes (magic {:02x}{:02x}{:02x}{:02x}, "
        "expected 000008{:02x})",
        name, expected_dims, magic[0], magic[1], magic[2], magic[3], expected_dims));
  }
  std::vector<int64_t> sizes;
  int64_t total = 1;
  for (int d = 0; d < expected_dims; ++d) {
    unsigned char be[4];
    read_exact(file.get(), be, sizeof be, name, "header");
    const int64_t size = (int64_t{be[0]} << 24) | (int64_t{be[1]} << 16) | (int64_t{be[2]} << 8) | be[3];
    if (size <= 0 || size > (1 << 28)) {
      throw bolt::DataError(fmt::format("{} has an implausible dimension size {}", name, size));
    }
    sizes.push_back(size);
    if (total > (int64_t{1} << 40) / size) {
      throw bolt::DataError(fmt::format("{} announces more than 1 TB of data in its header: it is not a real IDX file", name));
    }
    total *= size;
  }
  // A header announcing more than the file can hold lies, and believing it would allocate
  // that much before the read finds the file short.
  if (static_cast<uint64_t>(total) > file_size * 1100 + 4096) {
    throw bolt::DataError(fmt::format("{} announces {} bytes of data in its header, but a file of {} bytes cannot "
                                      "hold that many: the file is corrupt or not IDX", name, total, file_size));
  }
  read_exact(file.get(), allocate(sizes), static_cast<std::size_t>(total), name, "data");
  unsigned char extra;
  if (gzread(file.get(), &extra, 1) != 0) {
    throw bolt::DataError(fmt::format("{} has bytes after the {} its header announces", name, total));
  }
}

}  // namespace fashion_mnist
