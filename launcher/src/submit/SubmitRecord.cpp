#include "SubmitRecord.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt::launch {

void write_json_file(const fs::path& path, const nlohmann::json& value) { write_text_file(path, value.dump(2) + "\n"); }

void write_text_file(const fs::path& path, const std::string& text) {
  const auto temp = path.parent_path() / ("." + path.filename().string() + ".tmp");
  // O_EXCL|O_NOFOLLOW: a link planted at the temp name is an error, never followed.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw EnvironmentError(fmt::format("cannot create {}: {}", temp.string(), std::strerror(errno)));
  std::size_t written = 0;
  while (written < text.size()) {
    const auto n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const auto why = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      throw EnvironmentError(fmt::format("cannot write {}: {}", temp.string(), why));
    }
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) throw EnvironmentError(fmt::format("cannot rename {} to {}: {}", temp.string(), path.string(), ec.message()));
}

std::string name_safe(const std::string& text, std::size_t max_length) {
  std::string out;
  for (const char c : text.substr(0, max_length)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '+' || c == '-';
    out += keep ? c : '_';
  }
  return out;
}

std::optional<nlohmann::json> read_json_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path);
  auto value = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

}  // namespace bolt::launch
