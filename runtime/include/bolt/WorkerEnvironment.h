#pragma once
// The worker's side of the launch contract (DESIGN.md): torchrun's variable names, with
// Open MPI's OMPI_COMM_WORLD_* as a fallback when RANK is unset. bolt-worker never reads
// SLURM_*; bolt-launch translates those.
#include "bolt/Export.h"
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace bolt {

struct BOLT_API WorkerEnvironment {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  int64_t local_world_size = 1;
  int64_t node_rank = 0;
  int64_t nnodes = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string device;  // empty: not set by the launcher
  std::string run_id;
  int64_t restart_count = 0;
  std::string slurm_job_id;  // BOLT_SLURM_JOB_ID: the job to requeue on the requeue signal
  double launch_time = 0;  // BOLT_LAUNCH_TIME: Unix time the launcher started (0: unknown)
  std::string source;  // "torchrun", "openmpi" or "default"

  using Lookup = std::function<std::optional<std::string>(const std::string&)>;
  // Throws EnvironmentError naming the variable when a value is malformed or inconsistent.
  static WorkerEnvironment from(const Lookup& lookup);
  static WorkerEnvironment from_process();
};

}  // namespace bolt
