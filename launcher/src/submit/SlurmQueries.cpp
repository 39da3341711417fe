#include "SlurmQueries.h"

#include <cctype>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "util/Subprocess.h"
#include "bolt/Error.h"

namespace bolt::launch {

std::optional<std::size_t> parse_max_array_size(const std::string& show_config) {
  static const std::regex pattern(R"((?:^|\n)MaxArraySize\s*=\s*(\d{1,9}))");
  std::smatch m;
  if (!std::regex_search(show_config, m, pattern)) return std::nullopt;
  return static_cast<std::size_t>(std::stoul(m[1].str()));
}

std::string parse_sbatch_job_id(const std::string& output) {
  static const std::regex pattern(R"(^\s*(\d{1,12})(;[^\n]*)?\s*$)");
  std::smatch m;
  if (!std::regex_match(output, m, pattern)) {
    throw EnvironmentError(fmt::format("sbatch --parsable printed '{}', not a job id", output));
  }
  return m[1].str();
}

std::map<std::string, std::string> parse_job_record(const std::string& line) {
  std::map<std::string, std::string> fields;
  static const std::regex key(R"((?:^|\s)([A-Za-z:/]+)=)");
  std::vector<std::pair<std::string, std::size_t>> starts;  // key, where its value begins
  std::vector<std::size_t> key_at;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), key); it != std::sregex_iterator(); ++it) {
    starts.emplace_back((*it)[1].str(), static_cast<std::size_t>(it->position(0) + it->length(0)));
    key_at.push_back(static_cast<std::size_t>(it->position(1)));
  }
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto end = i + 1 < starts.size() ? key_at[i + 1] : line.size();
    auto value = line.substr(starts[i].second, end - starts[i].second);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    fields.emplace(starts[i].first, value);
  }
  return fields;
}

std::vector<std::size_t> parse_array_task_ids(const std::string& text) {
  std::vector<std::size_t> out;
  const auto list = text.substr(0, text.find('%'));
  std::stringstream parts(list);
  static const std::regex range(R"((\d{1,7})(?:-(\d{1,7}))?(?::(\d{1,7}))?)");
  for (std::string part; std::getline(parts, part, ',');) {
    std::smatch m;
    if (!std::regex_match(part, m, range)) continue;
    const auto first = std::stoul(m[1].str());
    const auto last = m[2].matched ? std::stoul(m[2].str()) : first;
    const auto step = m[3].matched ? std::max(1ul, std::stoul(m[3].str())) : 1ul;
    for (auto i = first; i <= last && out.size() < 1000000; i += step) out.push_back(i);
  }
  return out;
}

std::map<std::size_t, TaskRecord> query_job_tasks(const std::string& id) {
  std::map<std::size_t, TaskRecord> tasks;
  const auto result = run_subprocess({"scontrol", "show", "job", "-o", id});
  if (!result.ok()) return tasks;
  std::stringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("JobId=") == std::string::npos) continue;
    auto fields = parse_job_record(line);
    const TaskRecord task{fields["JobState"], fields["JobId"], fields["Command"]};
    const auto indices = fields.count("ArrayTaskId") ? parse_array_task_ids(fields["ArrayTaskId"])
                                                     : std::vector<std::size_t>{0};
    for (const auto index : indices) tasks[index] = task;
  }
  return tasks;
}

}  // namespace bolt::launch
