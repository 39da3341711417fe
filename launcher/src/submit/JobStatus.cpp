#include "JobStatus.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "../ParseCommandLine.h"
#include "SlurmQueries.h"
#include "SubmitRecord.h"
#include "bolt/MonitorMode.h"
#include "bolt/RunDirectories.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt::launch {

namespace {

bool is_final(const std::string& state) {
  return state != "PENDING" && state != "RUNNING" && state != "REQUEUED" && state != "CONFIGURING" &&
         state != "COMPLETING" && state != "SUSPENDED" && state != "REQUEUE_HOLD" && state != "REQUEUE_FED";
}

// The run directory a task wrote: the one whose launch.json names the task's run id (the job
// id, or "<array job>_<task>"); else, once Slurm has forgotten the task, the newest one.
fs::path run_dir_of(const fs::path& logs_dir, const std::string& run_name, const std::string& run_id) {
  const auto dir = find_version_of_run(logs_dir, run_name, run_id);
  return dir.empty() ? find_newest_version_with(logs_dir, run_name, "launch.json") : dir;
}

// Epoch reached, best monitored validation value and requeues, from the run directory.
void describe_run(const fs::path& run_dir, const nlohmann::json& manifest, nlohmann::json& row) {
  const auto monitor = manifest.value("monitor", std::string("score"));
  const bool maximize = monitor_maximizes(monitor, manifest.value("monitor_mode", std::string("auto")));
  const auto config = read_json_file(run_dir / "config.json");
  if (config && config->contains("trainer")) row["max_epochs"] = (*config)["trainer"].value("max_epochs", 0);
  std::ifstream metrics(run_dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const auto r = nlohmann::json::parse(line, nullptr, false);
    if (!r.is_object() || !r.contains("epoch") || r.contains("stage")) continue;
    row["epoch"] = r["epoch"];
    const auto value = r.find("val_" + monitor);
    if (value == r.end() || !value->is_number()) continue;
    const double v = value->get<double>();
    if (!row.contains("best") || (maximize ? v > row["best"].get<double>() : v < row["best"].get<double>())) row["best"] = v;
  }
  int64_t requeues = 0, time_limits = 0;
  std::ifstream record(run_dir / "requeues.jsonl");
  for (std::string line; std::getline(record, line);) {
    const auto r = nlohmann::json::parse(line, nullptr, false);
    if (!r.is_object()) continue;
    ++requeues;
    time_limits += r.value("reason", "") == "time_limit";
  }
  row["requeues"] = requeues;
  row["time_limit_requeues"] = time_limits;
}

nlohmann::json rows_of(const nlohmann::json& manifest) {
  const fs::path logs_dir = manifest.value("logs_dir", std::string());
  const auto& points = manifest["points"];
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& job : manifest["jobs"]) {
    const auto id = job.value("job_id", std::string());
    const auto tasks = query_job_tasks(id);
    const auto first = job.value("first_point", std::size_t{0});
    const auto count = job.value("count", std::size_t{1});
    for (std::size_t index = 0; index < count; ++index) {
      const bool array = !points.empty();
      const auto task = tasks.find(index);
      nlohmann::json row = {{"job", array ? fmt::format("{}_{}", id, index) : id},
                            {"state", task == tasks.end() ? "-" : task->second.state}};
      const auto point = array && first + index < points.size() ? points[first + index] : nlohmann::json::object();
      row["point"] = nlohmann::json::object();
      std::string text;
      for (const auto& pair : point.value("overrides", nlohmann::json::array())) {
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) continue;
        row["point"][pair[0].get<std::string>()] = pair[1];
        text += (text.empty() ? "" : " ") + pair[0].get<std::string>() + "=" + pair[1].get<std::string>();
      }
      row["point_text"] = text.empty() ? "-" : text;
      const auto run_name = array ? point.value("run_name", std::string()) : manifest.value("run_name", std::string());
      const auto run_id = task == tasks.end() ? std::string()
                          : array ? fmt::format("{}_{}", id, index) : task->second.job_id;
      const auto run_dir = run_dir_of(logs_dir, run_name, run_id);
      row["run_dir"] = run_dir.string();
      if (!run_dir.empty()) describe_run(run_dir, manifest, row);
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace

nlohmann::json submission(const std::string& submit_dir) {
  try {
    const auto manifest = read_json_file(fs::path(submit_dir) / kManifestFile);
    if (!manifest || !manifest->is_object()) throw UsageError(fmt::format("{} has no readable {}", submit_dir, kManifestFile));
    return {{"submission", submit_dir}, {"monitor", manifest->value("monitor", std::string("score"))},
            {"monitor_mode", manifest->value("monitor_mode", std::string("auto"))}, {"tasks", rows_of(*manifest)}};
  } catch (const nlohmann::json::exception& e) {
    // A manifest or run file edited by hand, or written by another version of Bolt.
    throw EnvironmentError(fmt::format("status: {} or a run directory it names holds a value of an unexpected "
                                       "type ({}): was it written by bolt-launch submit?", submit_dir,
                                       std::string(e.what()).substr(std::string(e.what()).find(']') + 2)));
  }
}

namespace {

// The submissions a target names: a job id (Slurm knows its script, beside which the manifest
// is), a submit directory, or a logs directory (all of its submit/*).
std::vector<fs::path> resolve_target(const std::string& target) {
  const bool is_job_id = !target.empty() && target.find_first_not_of("0123456789_") == std::string::npos;
  if (is_job_id) {
    const auto id = target.substr(0, target.find('_'));
    const auto tasks = query_job_tasks(id);
    for (const auto& [index, task] : tasks) {
      const auto dir = fs::path(task.command).parent_path();
      if (!task.command.empty() && fs::exists(dir / kManifestFile)) return {dir};
    }
    throw UsageError(fmt::format("status: Slurm does not know job {} (it forgets finished jobs after MinJobAge), "
                                 "or it was not submitted by bolt-launch submit: give its submit directory or "
                                 "the logs directory instead", target));
  }
  std::error_code ec;
  if (fs::exists(fs::path(target) / kManifestFile, ec)) return {fs::path(target)};
  std::vector<fs::path> dirs;
  for (fs::directory_iterator it(fs::path(target) / "submit", ec), end; !ec && it != end; it.increment(ec)) {
    if (fs::exists(it->path() / kManifestFile)) dirs.push_back(it->path());
  }
  if (dirs.empty()) {
    throw UsageError(fmt::format("status: {} is neither a job id nor a directory holding {} or submit/*/{}", target,
                                 kManifestFile, kManifestFile));
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::string cell(const nlohmann::json& row, const char* key, const char* fallback = "-") {
  if (!row.contains(key)) return fallback;
  const auto& v = row[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.4f}", v.get<double>());
  return v.dump();
}

// Prints one submission's table (columns as wide as their widest cell) and the winner.
void print_table(const nlohmann::json& submission) {
  const auto& rows = submission["tasks"];
  const auto monitor = submission["monitor"].get<std::string>();
  const bool maximize = monitor_maximizes(monitor, submission["monitor_mode"].get<std::string>());
  std::vector<std::vector<std::string>> table{{"job", "point", "state", "epoch", "best val_" + monitor, "requeues (time limit)", "run dir"}};
  const nlohmann::json* best = nullptr;
  for (const auto& row : rows) {
    table.push_back({cell(row, "job"), cell(row, "point_text"), cell(row, "state"),
                     row.contains("epoch") ? fmt::format("{}/{}", cell(row, "epoch"), cell(row, "max_epochs", "?")) : "-",
                     cell(row, "best"),
                     row.contains("requeues") ? fmt::format("{} ({})", cell(row, "requeues"), cell(row, "time_limit_requeues")) : "-",
                     cell(row, "run_dir")});
    if (row.contains("best") && (!best || (maximize ? row["best"] > (*best)["best"] : row["best"] < (*best)["best"]))) best = &row;
  }
  std::vector<std::size_t> widths(table.front().size(), 0);
  for (const auto& line : table) {
    for (std::size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], line[c].size());
  }
  std::cout << fmt::format("submission {}\n", submission["submission"].get<std::string>());
  for (const auto& line : table) {
    std::string text;
    for (std::size_t c = 0; c < line.size(); ++c) {
      text += c + 1 < line.size() ? fmt::format("{:<{}}  ", line[c], widths[c]) : line[c];
    }
    std::cout << text << '\n';
  }
  if (best && rows.size() > 1) {
    std::cout << fmt::format("best: job {} ({}) val_{} {}\n", cell(*best, "job"), cell(*best, "point_text"), monitor,
                             cell(*best, "best"));
  }
}

}  // namespace

int run_status(const std::vector<std::string>& args) {
  CLI::App app{"bolt-launch status: the tasks of jobs from bolt-launch submit, and which sweep point won.\n"
               "  bolt-launch status 1234            a job (array) Slurm still knows\n"
               "  bolt-launch status logs/           every submission under a logs directory",
               "bolt-launch status"};
  std::string target;
  double watch_s = 0;
  bool json = false;
  app.add_option("target", target, "job id, submit directory, or logs directory")->required();
  app.add_option("--watch", watch_s, "refresh every N seconds until every task has ended")->check(seconds_in(0.1, 86400));
  app.add_flag("--json", json, "one JSON document instead of the table");
  if (!parse_command_line(app, {args.begin() + 1, args.end()}, "status: ")) return 0;
  const auto dirs = resolve_target(target);
  for (;;) {
    bool all_final = true;
    nlohmann::json document = nlohmann::json::array();
    if (watch_s > 0 && ::isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J";
    for (const auto& dir : dirs) {
      const auto entry = submission(dir.string());
      for (const auto& row : entry["tasks"]) all_final = all_final && is_final(row["state"].get<std::string>());
      if (json) {
        document.push_back(entry);
      } else {
        print_table(entry);
      }
    }
    if (json) std::cout << document.dump(2) << '\n';
    std::cout.flush();
    if (watch_s <= 0 || all_final) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(watch_s));
  }
}

}  // namespace bolt::launch
