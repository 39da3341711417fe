// A Slurm task's environment (one KEY=VALUE per line) → the launch plan, as bolt-launch
// resolves it (both shapes: one task per rank, and --nproc-per-node under one task per node).
// A plan that comes out must be consistent; anything else must be Bolt's one-line refusal.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "FuzzSupport.h"
#include "bolt/launch/LaunchPlan.h"

namespace {

std::map<std::string, std::string> parse_lines(const std::string& text) {
  std::map<std::string, std::string> env;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const auto line = text.substr(start, end - start);
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  return env;
}

void check_plan(const bolt::launch::LaunchPlan& plan, const std::string& input) {
  using bolt::fuzz::defect;
  if (plan.world_size < 1 || plan.nnodes < 1 || plan.node_rank < 0 || plan.node_rank >= plan.nnodes ||
      plan.local_world_size < 1 || plan.master_port < 1 || plan.master_port > 65535 || plan.master_addr.empty()) {
    defect("an inconsistent plan", input);
  }
  std::set<int64_t> ranks;
  for (const auto& rank : plan.ranks) {
    if (rank.rank < 0 || rank.rank >= plan.world_size || rank.local_rank < 0 ||
        rank.local_rank >= plan.local_world_size || !ranks.insert(rank.rank).second) {
      defect("a rank outside the plan or given twice", input);
    }
    const auto env = plan.worker_env(rank);
    if (env.at("RANK") != std::to_string(rank.rank) || env.at("WORLD_SIZE") != std::to_string(plan.world_size)) {
      defect("the worker environment disagrees with the plan", input);
    }
  }
  if (plan.ranks.empty()) defect("a plan without ranks", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto env = parse_lines(text);
  if (env.count("SLURM_JOB_ID") == 0) return 0;  // the Slurm resolution is what is fuzzed
  env.erase("CUDA_VISIBLE_DEVICES");
  env["CUDA_VISIBLE_DEVICES"] = "";  // no GPU lookups through /proc
  bolt::launch::LaunchOptions options;
  switch (data[0] % 4) {  // the launch shapes a job script uses
    case 1: options.nproc_per_node = "2"; break;
    case 2: options.device = "cpu"; break;
    case 3: options.nproc_per_node = "auto"; options.master_port = 29400; break;
    default: break;
  }
  const bolt::launch::EnvLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    const auto found = env.find(name);
    if (found == env.end()) return std::nullopt;
    return found->second;
  };
  bolt::fuzz::expect_only_bolt_errors(text, [&] { check_plan(bolt::launch::resolve_plan(options, lookup), text); });
  return 0;
}
