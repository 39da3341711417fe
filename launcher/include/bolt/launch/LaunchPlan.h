#pragma once
// "Where am I" turned into what to start: one entry per local rank with the worker
// environment of DESIGN.md (RANK, WORLD_SIZE, LOCAL_RANK, ..., BOLT_DEVICE).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bolt/launch/LaunchOptions.h"

namespace bolt::launch {

struct RankPlan {
  int64_t rank = 0;
  int64_t local_rank = 0;
  std::string device;
};

struct LaunchPlan {
  int64_t world_size = 1;
  int64_t local_world_size = 1;
  int64_t node_rank = 0;
  int64_t nnodes = 1;
  std::string master_addr;
  int64_t master_port = 0;
  std::string run_id;
  int64_t restart_count = 0;
  std::string slurm_job_id;  // the job the workers requeue on the requeue signal (Slurm only)
  double launch_time = 0;  // Unix time, for the workers' launch-to-first-step figure
  std::string source;    // "device", "local", "slurm"
  std::map<std::string, std::string> sources;  // plan key → where it came from (flag, variable)
  std::string note;      // said to the user before starting (e.g. how a Slurm shell was read)
  bool exec_in_place = true;  // one local rank: exec the worker instead of supervising it
  std::vector<RankPlan> ranks;

  std::map<std::string, std::string> worker_env(const RankPlan& rank) const;
  nlohmann::ordered_json to_json(const RankPlan& rank) const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Number of GPUs this process may use (CUDA_VISIBLE_DEVICES, else the driver's list).
int visible_gpu_count(const EnvLookup& env);

// Validates cpu | cuda | cuda:N; throws UsageError otherwise.
void check_device_syntax(const std::string& device);

// Throws UsageError for inconsistent flags.
LaunchPlan resolve_local_plan(const LaunchOptions& options, const EnvLookup& env);

// The plan for wherever this process runs: a Slurm step (one task per rank, or one task per
// node with --nproc-per-node), an allocation shell (error, or local with --nproc-per-node /
// --device), or a plain machine. Throws UsageError / EnvironmentError naming what is wrong.
LaunchPlan resolve_plan(const LaunchOptions& options, const EnvLookup& env);

// A free TCP port on this host (bind to port 0).
int pick_free_port();
// Throws DistributedError when `port` cannot be bound on `addr` because it is in use.
void check_port_free(const std::string& addr, int port);

}  // namespace bolt::launch
