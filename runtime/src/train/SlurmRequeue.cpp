#include "SlurmRequeue.h"

#include <cctype>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../util/Subprocess.h"

namespace bolt {

std::string requeue_slurm_job(const std::string& job_id) {
  const std::vector<std::string> args{"scontrol", "requeue", job_id};
  const auto result = run_subprocess(args);
  return result.ok() ? std::string() : describe_failure(args, result);
}

std::optional<double> parse_slurm_duration(const std::string& text) {
  // [days-]hours:minutes:seconds, minutes:seconds, or a word (UNLIMITED, INVALID, NOT_SET).
  static const std::regex pattern(R"(^(?:(\d{1,6})-)?(?:(\d{1,6}):)?(\d{1,6}):(\d{1,6})$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return std::nullopt;
  auto number = [&](int i) { return m[i].matched ? std::stod(m[i].str()) : 0.0; };
  if (m[1].matched && !m[2].matched) return std::nullopt;  // "1-02:03" is not a Slurm run time
  return ((number(1) * 24 + number(2)) * 60 + number(3)) * 60 + number(4);
}

std::optional<double> slurm_seconds_left(const std::string& job_id) {
  const auto result = run_subprocess({"scontrol", "show", "job", "-o", job_id});
  if (!result.ok()) return std::nullopt;
  auto field = [&](const std::string& name) -> std::optional<double> {
    const auto at = result.output.find(" " + name + "=");
    if (at == std::string::npos) return std::nullopt;
    const auto start = at + name.size() + 2;
    return parse_slurm_duration(result.output.substr(start, result.output.find(' ', start) - start));
  };
  const auto limit = field("TimeLimit");
  const auto elapsed = field("RunTime");
  if (!limit || !elapsed) return std::nullopt;
  return *limit - *elapsed;
}

bool is_time_limit_stop(std::optional<double> seconds_left, double signal_lead_s) {
  // Slurm sends --signal=SIG@LEAD up to a minute before LEAD (its timer's resolution).
  return seconds_left && *seconds_left <= signal_lead_s + 60.0;
}

int64_t count_time_limit_requeues(const std::filesystem::path& run_dir) {
  std::ifstream in(run_dir / kRequeueRecord);
  int64_t count = 0;
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line, nullptr, false);
    if (row.is_object() && row.value("reason", "") == "time_limit") ++count;
  }
  return count;
}

void append_requeue_record(const std::filesystem::path& run_dir, const nlohmann::json& row) {
  std::ofstream out(run_dir / kRequeueRecord, std::ios::app);
  out << row.dump() << '\n';
}

}  // namespace bolt
