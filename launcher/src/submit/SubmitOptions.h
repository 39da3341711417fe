#pragma once
// `bolt-launch submit`'s flags. Each also comes from the "submit" section of the job's JSON
// config (the key with '_' for '-': "ntasks_per_node"), so a project keeps its cluster defaults
// in one file; a flag on the command line wins over the section.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt::launch {

// One --sweep KEY=V1,V2,...: the values of one worker option.
struct SweepAxis {
  std::string key;  // section.key, e.g. model.lr
  std::vector<std::string> values;
};

struct SubmitOptions {
  int nodes = 1;
  std::optional<int> ntasks_per_node;  // one task per rank
  std::optional<int> nproc_per_node;   // one task per node, bolt-launch starts N ranks
  std::optional<int> gpus_per_node;
  std::optional<int> cpus_per_task;
  std::string mem, time, partition, account, qos, constraint, job_name;
  bool exclusive = false;
  int signal_lead_s = 90;
  bool requeue = true;
  std::vector<std::string> sbatch_args;  // each becomes one "#SBATCH <arg>" line
  std::vector<SweepAxis> sweep;
  std::optional<int> max_parallel;  // array tasks running at once (%P)
  std::string submit_dir;           // empty: <logs_dir>/submit/<job name>-<time>
  bool dry_run = false;
  std::vector<std::string> worker_args;  // <stage> --config FILE [--section.key VALUE]...
};

// Parses `bolt-launch submit [flags] -- <worker args>` (argv[0] is "submit"), reading the
// config file named by the worker's --config for its "submit" section. Returns nothing when
// --help was printed. Throws UsageError/ConfigError naming the flag or key.
std::optional<SubmitOptions> parse_submit_options(const std::vector<std::string>& args);

// "model.lr=0.01,0.02" -> {model.lr, [0.01, 0.02]}; throws UsageError on a malformed one.
SweepAxis parse_sweep_axis(const std::string& text);

// The value of the worker's --config (either "--config F" or "--config=F"), if any.
std::optional<std::string> worker_config_path(const std::vector<std::string>& worker_args);

}  // namespace bolt::launch
