#include "RankReport.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>

namespace bolt::diagnosis {

nlohmann::json to_json(const ActivitySnapshot& s) {
  nlohmann::json recent = nlohmann::json::array();
  for (const auto& c : s.recent) {
    nlohmann::json entry = {{"seq", c.seq}, {"kind", c.kind}, {"purpose", c.purpose},
                            {"bytes", c.bytes}, {"started", c.started}};
    if (c.finished > 0) entry["finished"] = c.finished;
    if (!c.failed.empty()) entry["failed"] = c.failed;
    recent.push_back(std::move(entry));
  }
  return {{"stage", s.stage},
          {"epoch", s.epoch},
          {"step", s.step},
          {"doing", to_string(s.doing)},
          {"doing_since", s.doing_since},
          {"waiting_on", s.waiting_on},
          {"collectives", s.collectives},
          {"seconds_without_progress", s.seconds_without_progress},
          {"recent", std::move(recent)}};
}

nlohmann::json make_record(const std::string& kind, const RankIdentity& who, const ActivitySnapshot& activity) {
  return {{"kind", kind},         {"time", unix_now()},       {"rank", who.rank},
          {"local_rank", who.local_rank}, {"world_size", who.world_size}, {"host", who.host},
          {"pid", who.pid},       {"activity", to_json(activity)}};
}

std::filesystem::path write_record(const std::filesystem::path& run_dir, const char* folder,
                                   const nlohmann::json& record) {
  const auto dir = run_dir / folder;
  std::error_code ec;
  // Never re-creates a run directory (a fit that failed in set-up removes its own).
  if (!std::filesystem::is_directory(run_dir, ec)) return {};
  std::filesystem::create_directory(dir, ec);
  const auto file = dir / ("rank-" + std::to_string(record.value("rank", int64_t{0})) + ".json");
  const auto temp = dir / ("." + file.filename().string() + "." + std::to_string(::getpid()));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return {};
  const std::string text = record.dump(1) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || std::rename(temp.c_str(), file.c_str()) != 0) {
    ::unlink(temp.c_str());
    return {};
  }
  return file;
}

}  // namespace bolt::diagnosis
