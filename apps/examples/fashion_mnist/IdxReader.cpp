#include "IdxReader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <filesystem>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "IdxFile.h"
#include "bolt/Error.h"

namespace fashion_mnist {

at::Tensor read_idx(const std::string& path, int expected_dims) {
  if (!std::filesystem::is_regular_file(path)) {
    throw bolt::DataError(fmt::format("{} does not exist (check data.data_dir)", path));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    if (fd >= 0) ::close(fd);
    throw bolt::DataError(fmt::format("cannot open {}", path));
  }
  at::Tensor data;
  decode_idx(fd, static_cast<uint64_t>(info.st_size), path, expected_dims, [&](const std::vector<int64_t>& sizes) {
    data = at::empty(sizes, at::kByte);
    return data.data_ptr<uint8_t>();
  });
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
