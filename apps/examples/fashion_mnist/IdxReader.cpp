#include "IdxReader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include <filesystem>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace fashion_mnist {

namespace {

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

// Reads exactly `size` bytes or reports how many there were.
void read_exact(gzFile file, void* out, std::size_t size, const std::string& path, const char* what) {
  std::size_t done = 0;
  auto* bytes = static_cast<unsigned char*>(out);
  while (done < size) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size - done, 1u << 30));
    const int n = gzread(file, bytes + done, chunk);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw bolt::DataError(fmt::format("{} is corrupt ({}) while reading its {}", path, message, what));
    }
    if (n == 0) {
      throw bolt::DataError(fmt::format("{} is truncated: its {} needs {} bytes, the file has {}",
                                        path, what, size, done));
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

at::Tensor read_idx(const std::string& path, int expected_dims) {
  if (!std::filesystem::is_regular_file(path)) {
    throw bolt::DataError(fmt::format("{} does not exist (check data.data_dir)", path));
  }
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) throw bolt::DataError(fmt::format("cannot open {}", path));
  gzbuffer(file.get(), 1 << 20);
  unsigned char magic[4];
  read_exact(file.get(), magic, sizeof magic, path, "header");
  // IDX magic: two zero bytes, the element type (0x08 = unsigned byte), the dimension count.
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] != expected_dims) {
    throw bolt::DataError(fmt::format(
        "{} is not an IDX file of {}-dimensional unsigned bytes (magic {:02x}{:02x}{:02x}{:02x}, "
        "expected 000008{:02x})",
        path, expected_dims, magic[0], magic[1], magic[2], magic[3], expected_dims));
  }
  std::vector<int64_t> sizes;
  int64_t total = 1;
  for (int d = 0; d < expected_dims; ++d) {
    unsigned char be[4];
    read_exact(file.get(), be, sizeof be, path, "header");
    const int64_t size = (int64_t{be[0]} << 24) | (int64_t{be[1]} << 16) | (int64_t{be[2]} << 8) | be[3];
    if (size <= 0 || size > (1 << 28)) {
      throw bolt::DataError(fmt::format("{} has an implausible dimension size {}", path, size));
    }
    sizes.push_back(size);
    if (total > (int64_t{1} << 40) / size) {
      throw bolt::DataError(fmt::format("{} announces more than 1 TB of data in its header: it is not a real IDX file", path));
    }
    total *= size;
  }
  // Deflate packs at most ~1032:1: a header announcing more than the file can hold lies, and
  // believing it would allocate that much before the read finds the file short.
  std::error_code ec;
  const auto on_disk = std::filesystem::file_size(path, ec);
  if (!ec && static_cast<uint64_t>(total) > on_disk * 1100 + 4096) {
    throw bolt::DataError(fmt::format("{} announces {} bytes of data in its header, but a file of {} bytes cannot "
                                      "hold that many: the file is corrupt or not IDX", path, total, on_disk));
  }
  auto data = at::empty(sizes, at::kByte);
  read_exact(file.get(), data.data_ptr<uint8_t>(), static_cast<std::size_t>(total), path, "data");
  unsigned char extra;
  if (gzread(file.get(), &extra, 1) != 0) {
    throw bolt::DataError(fmt::format("{} has bytes after the {} its header announces", path,
                                      fmt::format("{}", total)));
  }
  return data;
}

namespace {

// Cache file layout: "BOLTIDX1", int64 dimension count, int64 sizes..., raw bytes.
constexpr char kCacheMagic[8] = {'B', 'O', 'L', 'T', 'I', 'D', 'X', '1'};

std::optional<at::Tensor> load_cache(const std::filesystem::path& file, int expected_dims) {
  std::ifstream in(file, std::ios::binary);
  char magic[8];
  int64_t dims = 0;
  if (!in.read(magic, 8) || std::memcmp(magic, kCacheMagic, 8) != 0 ||
      !in.read(reinterpret_cast<char*>(&dims), sizeof dims) || dims != expected_dims) {
    return std::nullopt;
  }
  std::vector<int64_t> sizes(static_cast<std::size_t>(dims));
  if (!in.read(reinterpret_cast<char*>(sizes.data()), static_cast<std::streamsize>(dims * sizeof(int64_t)))) {
    return std::nullopt;
  }
  // A damaged entry is discarded (and rebuilt by the caller) unless its sizes account for
  // exactly the bytes that follow them.
  std::error_code ec;
  const auto header = static_cast<int64_t>(8 + sizeof dims + dims * sizeof(int64_t));
  const auto payload = static_cast<int64_t>(std::filesystem::file_size(file, ec)) - header;
  int64_t total = 1;
  for (const auto size : sizes) {
    if (size <= 0 || total > payload / size) return std::nullopt;
    total *= size;
  }
  if (ec || total != payload) return std::nullopt;
  auto data = at::empty(sizes, at::kByte);
  if (!in.read(reinterpret_cast<char*>(data.data_ptr<uint8_t>()), data.numel()) || in.peek() != EOF) {
    return std::nullopt;
  }
  return data;
}

void store_cache(const std::filesystem::path& file, const at::Tensor& data) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  // Written under a private name and renamed: concurrent ranks never see half a file.
  const auto temp = file.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temp, std::ios::binary);
    const int64_t dims = data.dim();
    out.write(kCacheMagic, 8);
    out.write(reinterpret_cast<const char*>(&dims), sizeof dims);
    for (auto size : data.sizes()) out.write(reinterpret_cast<const char*>(&size), sizeof size);
    out.write(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), data.numel());
    if (!out) {
      std::filesystem::remove(temp, ec);
      return;
    }
  }
  std::filesystem::rename(temp, file, ec);
  if (ec) std::filesystem::remove(temp, ec);
}

}  // namespace

at::Tensor read_idx_cached(const std::string& path, int expected_dims, const std::string& cache_dir) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (cache_dir.empty() || ec) return read_idx(path, expected_dims);
  struct stat info {};
  ::stat(path.c_str(), &info);
  const auto mtime = static_cast<int64_t>(info.st_mtime);
  const auto file = std::filesystem::path(cache_dir) /
                    fmt::format("{}-{}-{}.idxcache", std::filesystem::path(path).filename().string(), size, mtime);
  if (auto cached = load_cache(file, expected_dims)) return *cached;
  auto data = read_idx(path, expected_dims);
  store_cache(file, data);
  return data;
}

}  // namespace fashion_mnist
