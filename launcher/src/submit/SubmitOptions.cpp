#include "SubmitOptions.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "../ParseCommandLine.h"
#include "SbatchScript.h"
#include "bolt/Error.h"

namespace bolt::launch {

namespace {

std::string scalar_text(const std::string& where, const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  throw ConfigError(fmt::format("{}: expected a string or a number, got {}", where, value.dump()));
}

// The "submit" section's keys onto the options (before the command line is parsed over them).
void apply_section(const std::string& file, const nlohmann::json& section, SubmitOptions& o) {
  if (!section.is_object()) throw ConfigError(fmt::format("config file {}: section \"submit\" must be an object", file));
  const std::map<std::string, std::optional<int>*> optional_ints = {
      {"ntasks_per_node", &o.ntasks_per_node}, {"nproc_per_node", &o.nproc_per_node},
      {"gpus_per_node", &o.gpus_per_node},     {"cpus_per_task", &o.cpus_per_task},
      {"max_parallel", &o.max_parallel}};
  const std::map<std::string, int*> ints = {{"nodes", &o.nodes}, {"signal_lead", &o.signal_lead_s}};
  const std::map<std::string, std::string*> strings = {
      {"mem", &o.mem},   {"time", &o.time},         {"partition", &o.partition}, {"account", &o.account},
      {"qos", &o.qos},   {"constraint", &o.constraint}, {"job_name", &o.job_name}, {"submit_dir", &o.submit_dir}};
  const std::map<std::string, bool*> bools = {{"exclusive", &o.exclusive}, {"requeue", &o.requeue}};
  for (const auto& [key, value] : section.items()) {
    const auto where = fmt::format("config file {}: submit.{}", file, key);
    if (auto i = optional_ints.find(key); i != optional_ints.end()) {
      if (!value.is_number_integer()) throw ConfigError(fmt::format("{}: expected an integer, got {}", where, value.dump()));
      *i->second = value.get<int>();
    } else if (auto n = ints.find(key); n != ints.end()) {
      if (!value.is_number_integer()) throw ConfigError(fmt::format("{}: expected an integer, got {}", where, value.dump()));
      *n->second = value.get<int>();
    } else if (auto s = strings.find(key); s != strings.end()) {
      if (!value.is_string() && !value.is_number_integer()) {
        throw ConfigError(fmt::format("{}: expected a string, got {}", where, value.dump()));
      }
      *s->second = scalar_text(where, value);  // "time": 60 means what --time=60 means
    } else if (auto b = bools.find(key); b != bools.end()) {
      if (!value.is_boolean()) throw ConfigError(fmt::format("{}: expected true or false, got {}", where, value.dump()));
      *b->second = value.get<bool>();
    } else if (key == "sbatch_args") {
      if (!value.is_array()) throw ConfigError(fmt::format("{}: expected a list of strings", where));
      for (const auto& arg : value) o.sbatch_args.push_back(scalar_text(where, arg));
    } else if (key == "sweep") {
      if (!value.is_object()) throw ConfigError(fmt::format("{}: expected {{\"section.key\": [values...]}}", where));
      for (const auto& [axis, values] : value.items()) {
        if (!values.is_array() || values.empty()) {
          throw ConfigError(fmt::format("{}.{}: expected a non-empty list of values", where, axis));
        }
        SweepAxis parsed{axis, {}};
        for (const auto& v : values) parsed.values.push_back(scalar_text(where + "." + axis, v));
        o.sweep.push_back(parse_sweep_axis(parsed.key + "=x"));  // checks the key's shape
        o.sweep.back().values = parsed.values;
      }
    } else {
      throw ConfigError(fmt::format(
          "{}: unknown key; valid: nodes, ntasks_per_node, nproc_per_node, gpus_per_node, cpus_per_task, mem, "
          "time, partition, account, qos, constraint, exclusive, job_name, signal_lead, requeue, sbatch_args, "
          "sweep, max_parallel, submit_dir", where));
    }
  }
}

// The config's "submit" section, when the file is there and is JSON; anything else about the
// file is the worker's to report (it validates the whole config before anything is submitted).
void apply_config_defaults(const std::vector<std::string>& worker_args, SubmitOptions& o) {
  const auto path = worker_config_path(worker_args);
  std::error_code ec;
  if (!path || !std::filesystem::is_regular_file(*path, ec)) return;  // the worker names what is wrong with it
  std::ifstream in(*path);
  const auto document = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_object() && document.contains("submit")) apply_section(*path, document["submit"], o);
}

void check(const SubmitOptions& o) {
  auto at_least = [](const char* flag, std::optional<int> value, int low, int high) {
    if (value && (*value < low || *value > high)) {
      throw UsageError(fmt::format("{} {} is outside {}..{}", flag, *value, low, high));
    }
  };
  at_least("--nodes", o.nodes, 1, 100000);
  at_least("--ntasks-per-node", o.ntasks_per_node, 1, 4096);
  at_least("--nproc-per-node", o.nproc_per_node, 1, 4096);
  at_least("--gpus-per-node", o.gpus_per_node, 1, 4096);
  at_least("--cpus-per-task", o.cpus_per_task, 1, 4096);
  at_least("--signal-lead", o.signal_lead_s, 1, 86400);
  at_least("--max-parallel", o.max_parallel, 1, 100000);
  if (o.nproc_per_node && o.ntasks_per_node) {
    throw UsageError("--ntasks-per-node (one task per rank) and --nproc-per-node (one task per node "
                     "starting N ranks) choose different launch shapes: give one");
  }
  if (o.gpus_per_node && o.ntasks_per_node && *o.gpus_per_node != *o.ntasks_per_node) {
    throw UsageError(fmt::format("--gpus-per-node {} with --ntasks-per-node {}: one task per rank needs one "
                                 "GPU per task, so give equal numbers (or only --gpus-per-node)",
                                 *o.gpus_per_node, *o.ntasks_per_node));
  }
  if (o.gpus_per_node && o.nproc_per_node && *o.gpus_per_node != *o.nproc_per_node) {
    throw UsageError(fmt::format("--gpus-per-node {} with --nproc-per-node {}: each rank drives one GPU",
                                 *o.gpus_per_node, *o.nproc_per_node));
  }
  for (const auto& [flag, value] : std::vector<std::pair<const char*, const std::string*>>{
           {"--mem", &o.mem}, {"--time", &o.time}, {"--partition", &o.partition}, {"--account", &o.account},
           {"--qos", &o.qos}, {"--constraint", &o.constraint}, {"--job-name", &o.job_name}}) {
    directive_value(flag, *value);  // throws for what cannot be one #SBATCH line
  }
  for (const auto& arg : o.sbatch_args) {
    directive_value("--sbatch-arg", arg);
    if (arg.rfind("-", 0) != 0) {
      throw UsageError(fmt::format("--sbatch-arg '{}' is not an sbatch option (it starts with -, e.g. "
                                   "--sbatch-arg=--mail-type=END)", arg));
    }
  }
  // Slurm's forms: minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S (or unlimited).
  static const std::regex slurm_time(R"(\d{1,9}(:\d{1,2}){0,2}|\d{1,6}-\d{1,2}(:\d{1,2}){0,2}|[Uu][Nn][Ll][Ii][Mm][Ii][Tt][Ee][Dd]|[Ii][Nn][Ff][Ii][Nn][Ii][Tt][Ee])");
  if (!o.time.empty() && !std::regex_match(o.time, slurm_time)) {
    throw UsageError(fmt::format("--time '{}' is not a Slurm time limit: give minutes, H:MM:SS or D-HH:MM:SS", o.time));
  }
  if (o.sweep.empty() && o.max_parallel) throw UsageError("--max-parallel limits a sweep's array: give --sweep too");
  if (o.worker_args.empty()) {
    throw UsageError("nothing to submit: give the worker's arguments after --, e.g. "
                     "bolt-launch submit --nodes 2 -- fit --config cfg.json");
  }
  for (const auto& arg : o.worker_args) {
    if (arg == "--help" || arg == "-h" || arg == "--list" || arg == "--print-config") {
      throw UsageError(fmt::format("{} after -- asks the worker a question; submit runs a stage: "
                                   "bolt-launch submit ... -- fit --config cfg.json", arg));
    }
  }
}

}  // namespace

std::optional<std::string> worker_config_path(const std::vector<std::string>& worker_args) {
  std::optional<std::string> path;
  for (std::size_t i = 0; i < worker_args.size(); ++i) {
    if (worker_args[i] == "--config" && i + 1 < worker_args.size()) path = worker_args[++i];
    else if (worker_args[i].rfind("--config=", 0) == 0) path = worker_args[i].substr(9);
  }
  return path;
}

SweepAxis parse_sweep_axis(const std::string& text) {
  const auto equals = text.find('=');
  const auto key = text.substr(0, equals);
  const auto dot = key.find('.');
  if (equals == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 == key.size() ||
      key.find_first_of(" \t\n$`'\"\\;") != std::string::npos) {
    throw UsageError(fmt::format("--sweep '{}': expected SECTION.KEY=V1,V2,... (e.g. --sweep model.lr=0.01,0.02)", text));
  }
  SweepAxis axis{key, {}};
  const auto list = text.substr(equals + 1);
  std::size_t start = 0;
  for (;;) {
    const auto comma = list.find(',', start);
    axis.values.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const auto& v : axis.values) {
    if (v.empty()) throw UsageError(fmt::format("--sweep '{}': an empty value (two commas, or one at an end)", text));
  }
  return axis;
}

std::optional<SubmitOptions> parse_submit_options(const std::vector<std::string>& args) {
  SubmitOptions o;
  std::vector<std::string> own;
  std::size_t i = 1;
  for (; i < args.size() && args[i] != "--"; ++i) own.push_back(args[i]);
  for (++i; i < args.size(); ++i) o.worker_args.push_back(args[i]);
  apply_config_defaults(o.worker_args, o);

  CLI::App app{"bolt-launch submit: writes an sbatch script for a Bolt job, submits it and prints the job id.\n"
               "  bolt-launch submit --nodes 2 --ntasks-per-node 2 --time 1:00:00 -- fit --config cfg.json\n"
               "  bolt-launch submit --sweep model.lr=0.01,0.02 --max-parallel 2 -- fit --config cfg.json\n"
               "Each flag can also be a key of the config's \"submit\" section (ntasks_per_node: 2);\n"
               "the command line wins. Everything after -- goes to bolt-worker.",
               "bolt-launch submit"};
  app.get_formatter()->column_width(36);
  int nodes = o.nodes, ntasks = 0, nproc = 0, gpus = 0, cpus = 0, parallel = 0;
  app.add_option("--nodes", nodes, "nodes [1]");
  app.add_option("--ntasks-per-node", ntasks, "one task per rank, N per node [1]");
  app.add_option("--nproc-per-node", nproc, "one task per node; bolt-launch starts N ranks in it");
  app.add_option("--gpus-per-node", gpus, "GPUs per node; alone: one task per node with one rank per GPU");
  app.add_option("--cpus-per-task", cpus, "CPUs per task");
  app.add_option("--mem", o.mem, "memory per node (sbatch --mem)");
  app.add_option("--time", o.time, "time limit (sbatch --time, e.g. 4:00:00)");
  app.add_option("--partition", o.partition, "partition");
  app.add_option("--account", o.account, "account");
  app.add_option("--qos", o.qos, "quality of service");
  app.add_option("--constraint", o.constraint, "node features (sbatch --constraint)");
  app.add_flag("--exclusive", o.exclusive, "whole nodes");
  app.add_option("--job-name", o.job_name, "job name [bolt-<run name>]");
  app.add_option("--signal-lead", o.signal_lead_s, "seconds before the time limit that SIGUSR1 comes "
                 "(--signal=USR1@S): the ranks checkpoint and the job requeues [90]");
  app.add_flag("--requeue,!--no-requeue", o.requeue, "requeue on preemption and time limit [yes]");
  app.add_option("--sbatch-arg", o.sbatch_args, "any other sbatch option, one per flag (--sbatch-arg=--mail-type=END)");
  std::vector<std::string> sweeps;
  app.add_option("--sweep", sweeps, "SECTION.KEY=V1,V2,...: one job array over the grid of all --sweep flags");
  app.add_option("--max-parallel", parallel, "array tasks running at once (--array=...%P)");
  app.add_option("--submit-dir", o.submit_dir, "where the script, config copy and sweep file go "
                 "[<logs_dir>/submit/<job name>-<time>]");
  app.add_flag("--dry-run", o.dry_run, "print the script(s) and submit nothing");

  if (!parse_command_line(app, own, "submit: ")) return std::nullopt;
  auto given = [&](const char* flag) { return app.get_option(flag)->count() > 0; };
  if (given("--nodes")) o.nodes = nodes;
  if (given("--ntasks-per-node")) o.ntasks_per_node = ntasks;
  if (given("--nproc-per-node")) o.nproc_per_node = nproc;
  if (given("--gpus-per-node")) o.gpus_per_node = gpus;
  if (given("--cpus-per-task")) o.cpus_per_task = cpus;
  if (given("--max-parallel")) o.max_parallel = parallel;
  if (!sweeps.empty()) {
    o.sweep.clear();  // the command line's grid replaces the config's
    for (const auto& s : sweeps) o.sweep.push_back(parse_sweep_axis(s));
  }
  check(o);
  return o;
}

}  // namespace bolt::launch
