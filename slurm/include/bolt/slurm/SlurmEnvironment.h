#pragma once
// What a Slurm task can learn about its job and step from SLURM_* variables (Lightning's
// SLURMEnvironment, as one small class): step-scoped variables first, then job-scoped ones
// (see DESIGN.md's table), each value remembering the variable it came from.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bolt::slurm {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct SlurmEnvironment {
  std::string job_id;        // "<array job>_<task>" for array jobs
  bool in_step = false;      // inside an srun step (not an salloc/sbatch shell)
  bool interactive = false;  // srun --pty: a shell, not a rank
  int64_t num_tasks = 1;
  int64_t num_nodes = 1;
  int64_t proc_id = 0;
  int64_t local_id = 0;
  int64_t node_id = 0;
  int64_t tasks_on_this_node = 1;
  int64_t restart_count = 0;
  std::vector<std::string> nodes;
  std::string master_addr;
  std::map<std::string, std::string> sources;  // plan key → SLURM variable used

  // Nothing when the process is not part of a Slurm job (no SLURM_JOB_ID). Throws
  // EnvironmentError naming the variable when values are malformed or inconsistent.
  static std::optional<SlurmEnvironment> detect(const EnvLookup& lookup);
};

// A rendezvous port for the job, in [15000, 30000): below Linux's ephemeral ports
// (32768–60999) so that outgoing connections never hold it, and different for jobs whose ids
// differ by less than 15000, so two jobs sharing a node do not collide.
int derive_master_port(const std::string& job_id);

}  // namespace bolt::slurm
