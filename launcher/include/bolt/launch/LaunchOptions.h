#pragma once
// bolt-launch's flags (torchrun's names). Each can also come from an environment variable,
// listed in --help: an explicit flag beats the variable.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bolt::launch {

struct LaunchOptions {
  std::optional<std::string> device;          // --device cpu|cuda|cuda:N
  std::optional<std::string> nproc_per_node;  // --nproc-per-node N|auto
  int nnodes = 0;          // 0: not given (1 locally, the allocation's under Slurm)
  int node_rank = -1;      // -1: not given
  std::string master_addr; // empty: not given (127.0.0.1 locally, first node under Slurm)
  int master_port = -1;    // -1: not given (29500 locally, derived from the job id under Slurm)
  bool no_slurm = false;   // ignore SLURM_* (e.g. a local test inside an allocation)
  bool standalone = false;
  std::string worker;   // empty: bolt-worker next to bolt-launch
  std::string log_dir;  // empty: prefixed lines on the console
  std::string log_ranks;  // "0,2-3": the ranks the console shows (empty: all)
  bool check = false;     // --check: the workers run their pre-flight checks instead of the stage
  double term_timeout_s = 10.0;
  int max_restarts = 0;
  std::string run_id;
  bool print_plan = false;
  std::vector<std::string> worker_args;  // everything after --
};

// Parses argv; returns nothing when --help/--version printed and the launcher should exit 0.
// Throws UsageError on bad flags.
std::optional<LaunchOptions> parse_launch_options(int argc, char** argv);

// --log-ranks: "0,2-3" -> {0, 2, 3}; every rank must be below world_size (UsageError).
std::set<int64_t> parse_rank_list(const std::string& text, int64_t world_size);

}  // namespace bolt::launch
