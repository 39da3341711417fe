#include "bolt/slurm/SlurmEnvironment.h"

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"
#include "bolt/slurm/Hostlist.h"

namespace bolt::slurm {

namespace {

struct Reader {
  const EnvLookup& lookup;
  std::map<std::string, std::string>& sources;

  // The first of `names` that is set; records it as the source of `key`.
  std::optional<std::string> first(const std::string& key, std::initializer_list<const char*> names) {
    for (const char* name : names) {
      if (auto value = lookup(name)) {
        sources[key] = name;
        return value;
      }
    }
    return std::nullopt;
  }

  std::optional<int64_t> number(const std::string& key, std::initializer_list<const char*> names, int64_t min) {
    auto text = first(key, names);
    if (!text) return std::nullopt;
    const auto value = parse_integer(*text).value_or(min - 1);
    if (value < min) {
      throw EnvironmentError(fmt::format("{}='{}' is not an integer >= {}", sources[key], *text, min));
    }
    return value;
  }
};

}  // namespace

std::optional<SlurmEnvironment> SlurmEnvironment::detect(const EnvLookup& lookup) {
  auto job = lookup("SLURM_JOB_ID");
  if (!job) job = lookup("SLURM_JOBID");
  if (!job) return std::nullopt;
  SlurmEnvironment env;
  Reader read{lookup, env.sources};
  env.job_id = *job;
  auto array_job = lookup("SLURM_ARRAY_JOB_ID");
  auto array_task = lookup("SLURM_ARRAY_TASK_ID");
  if (array_job && array_task) env.job_id = *array_job + "_" + *array_task;
  env.in_step = lookup("SLURM_STEP_ID").has_value() || lookup("SLURM_STEPID").has_value();
  env.interactive = lookup("SLURM_PTY_PORT").has_value();
  env.restart_count = read.number("restart_count", {"SLURM_RESTART_COUNT"}, 0).value_or(0);

  env.num_tasks = read.number("world_size", {"SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"}, 1).value_or(1);
  env.num_nodes = read.number("nnodes", {"SLURM_STEP_NUM_NODES", "SLURM_JOB_NUM_NODES", "SLURM_NNODES"}, 1).value_or(1);
  env.proc_id = read.number("rank", {"SLURM_PROCID"}, 0).value_or(0);
  env.local_id = read.number("local_rank", {"SLURM_LOCALID"}, 0).value_or(0);
  env.node_id = read.number("node_rank", {"SLURM_NODEID"}, 0).value_or(0);

  if (auto nodelist = read.first("master_addr", {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"})) {
    env.nodes = expand_hostlist(*nodelist);
    env.master_addr = env.nodes.front();
  } else if (auto submit = read.first("master_addr", {"SLURM_SUBMIT_HOST"})) {
    env.master_addr = *submit;  // last resort: often a login node outside the allocation
  }
  int64_t per_node_count = -1;
  if (auto counts = read.first("local_world_size", {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"})) {
    const auto per_node = expand_tasks_per_node(*counts);
    per_node_count = static_cast<int64_t>(per_node.size());
    if (env.node_id >= static_cast<int64_t>(per_node.size())) {
      throw EnvironmentError(fmt::format("SLURM_NODEID={} but {}='{}' lists {} nodes", env.node_id,
                                         env.sources["local_world_size"], *counts, per_node.size()));
    }
    env.tasks_on_this_node = per_node[static_cast<std::size_t>(env.node_id)];
    int64_t total = 0;
    for (auto c : per_node) total += c;
    if (env.in_step && total != env.num_tasks) {
      throw EnvironmentError(fmt::format("{}='{}' adds up to {} tasks but {}={}",
                                         env.sources["local_world_size"], *counts, total,
                                         env.sources["world_size"], env.num_tasks));
    }
  }
  // One step's node count, node list and tasks-per-node list describe the same nodes.
  auto step_scoped = [&](const char* key) { return env.sources[key].rfind("SLURM_STEP_", 0) == 0; };
  if (env.in_step && step_scoped("nnodes") && step_scoped("master_addr") &&
      static_cast<int64_t>(env.nodes.size()) != env.num_nodes) {
    throw EnvironmentError(fmt::format("{}={} but {} names {} host(s)", env.sources["nnodes"], env.num_nodes,
                                       env.sources["master_addr"], env.nodes.size()));
  }
  if (env.in_step && step_scoped("nnodes") && step_scoped("local_world_size") && per_node_count >= 0 &&
      per_node_count != env.num_nodes) {
    throw EnvironmentError(fmt::format("{}={} but {} lists {} node(s)", env.sources["nnodes"], env.num_nodes,
                                       env.sources["local_world_size"], per_node_count));
  }
  if (env.proc_id >= env.num_tasks) {
    throw EnvironmentError(fmt::format("SLURM_PROCID={} is not below {}={}", env.proc_id,
                                       env.sources["world_size"], env.num_tasks));
  }
  if (env.local_id >= env.tasks_on_this_node) {
    throw EnvironmentError(fmt::format("SLURM_LOCALID={} is not below this node's task count {}",
                                       env.local_id, env.tasks_on_this_node));
  }
  if (env.node_id >= env.num_nodes) {
    throw EnvironmentError(fmt::format("SLURM_NODEID={} is not below {}={}", env.node_id,
                                       env.sources["nnodes"], env.num_nodes));
  }
  return env;
}

int derive_master_port(const std::string& job_id) {
  // Array jobs "<id>_<task>": mix the task in so sibling tasks on one node differ too.
  uint64_t id = 0;
  for (char c : job_id) {
    if (c >= '0' && c <= '9') {
      id = id * 10 + static_cast<uint64_t>(c - '0');
    } else {
      id = id * 31 + 7;
    }
  }
  return 15000 + static_cast<int>(id % 15000);
}

}  // namespace bolt::slurm
