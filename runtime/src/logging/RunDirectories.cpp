// Torch-free: compiled into libbolt and into the launcher (bolt-launch status finds runs too).
#include "bolt/RunDirectories.h"

#include <algorithm>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

namespace {
std::vector<std::pair<int64_t, fs::path>> versions(const fs::path& root) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  static const std::regex pattern(R"(version_(\d+))");
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::smatch match;
    const auto name = entry.path().filename().string();
    if (entry.is_directory() && std::regex_match(name, match, pattern)) {
      out.emplace_back(std::stoll(match[1]), entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

fs::path create_run_directory(const fs::path& logs_dir, const std::string& name) {
  const auto root = logs_dir / name;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) {
    throw EnvironmentError(fmt::format("cannot create run directory under {}: {}", root.string(),
                                       ec.message()));
  }
  auto existing = versions(root);
  int64_t next = existing.empty() ? 0 : existing.back().first + 1;
  // create_directory fails when another process took the name first: try the next one.
  for (;; ++next) {
    const auto dir = root / fmt::format("version_{}", next);
    if (fs::create_directory(dir, ec)) return dir;
    if (ec) {
      throw EnvironmentError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    }
  }
}

fs::path find_newest_version_with(const fs::path& logs_dir, const std::string& name,
                                  const fs::path& relative) {
  auto all = versions(logs_dir / name);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (fs::exists(it->second / relative)) return it->second;
  }
  return {};
}

fs::path find_version_of_run(const fs::path& logs_dir, const std::string& name,
                             const std::string& run_id) {
  if (run_id.empty()) return {};
  auto all = versions(logs_dir / name);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::ifstream in(it->second / "launch.json");
    const auto launch = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (launch.is_object() && launch.value("run_id", std::string()) == run_id) return it->second;
  }
  return {};
}

}  // namespace bolt
