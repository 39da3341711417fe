#include "bolt/launch/LaunchOptions.h"

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "ParseCommandLine.h"

#include "bolt/Error.h"
#include "bolt/Version.h"

namespace bolt::launch {

std::optional<LaunchOptions> parse_launch_options(int argc, char** argv) {
  std::vector<std::string> own;
  LaunchOptions options;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) own.emplace_back(argv[i]);
  for (++i; i < argc; ++i) options.worker_args.emplace_back(argv[i]);

  CLI::App app{
      "bolt-launch: starts bolt-worker ranks on this machine or in a Slurm step.\n"
      "  bolt-launch --device cpu -- fit --config cfg.json          one process\n"
      "  bolt-launch --nproc-per-node 4 -- fit --config cfg.json    4 local ranks (DDP)\n"
      "  bolt-launch submit [--nodes N ...] -- fit --config cfg.json  an sbatch job (submit --help)\n"
      "  bolt-launch status JOB|DIR                                 its tasks (status --help)\n"
      "  bolt-launch why RUN_DIR                                    what went wrong: root cause, hung rank (why --help)\n"
      "Everything after -- goes to bolt-worker.",
      "bolt-launch"};
  app.get_formatter()->column_width(40);
  app.add_option("--device", options.device,
                 "single process on cpu, cuda or cuda:N (with --nproc-per-node: the device kind)")
      ->envname("BOLT_DEVICE");
  app.add_option("--nproc-per-node,--nproc_per_node", options.nproc_per_node,
                 "ranks to start on this node: N, or auto (visible GPUs, else 1)")
      ->envname("BOLT_NPROC_PER_NODE");
  app.add_option("--nnodes", options.nnodes, "number of nodes (launchers) in the job [1; Slurm: the step's]")
      ->envname("BOLT_NNODES")->check(whole_number_in(1, 100000));
  app.add_option("--node-rank,--node_rank", options.node_rank, "this node's index, 0..nnodes-1 [0; Slurm: SLURM_NODEID]")
      ->envname("BOLT_NODE_RANK")->check(whole_number_in(0, 99999));
  app.add_option("--master-addr,--master_addr", options.master_addr,
                 "host of rank 0, the rendezvous store [127.0.0.1; Slurm: first node of the step]")
      ->envname("MASTER_ADDR");
  app.add_option("--master-port,--master_port", options.master_port,
                 "rendezvous port; 0 picks a free one [29500; Slurm: derived from the job id]")
      ->envname("MASTER_PORT")->check(whole_number_in(0, 65535));
  app.add_flag("--no-slurm", options.no_slurm, "ignore SLURM_* variables and launch locally")
      ->envname("BOLT_NO_SLURM");
  app.add_flag("--standalone", options.standalone, "single node: pick a free master port")
      ->envname("BOLT_STANDALONE");
  app.add_option("--worker", options.worker, "worker binary (default: bolt-worker next to bolt-launch)")
      ->envname("BOLT_WORKER");
  app.add_option("--log-dir,--log_dir", options.log_dir,
                 "write each rank's output to DIR/rank-N.stdout|.stderr instead of the console")
      ->envname("BOLT_LOG_DIR");
  app.add_option("--log-ranks", options.log_ranks,
                 "show only these ranks' lines on the console, e.g. 0 or 0,2-3 (each rank's rank-N.log is complete)")
      ->envname("BOLT_LOG_RANKS");
  app.add_option("--term-timeout", options.term_timeout_s,
                 "seconds between SIGTERM and SIGKILL when stopping ranks")
      ->envname("BOLT_TERM_TIMEOUT")->check(seconds_in(0, 86400))->capture_default_str();
  app.add_option("--max-restarts,--max_restarts", options.max_restarts,
                 "after a rank fails, restart all local ranks up to N times (BOLT_RESTART_COUNT "
                 "tells them; a fit resumes from its last.pt), backing off 0.5 s, 1 s, 2 s, ... up to 30 s; single node only")
      ->envname("BOLT_MAX_RESTARTS")->check(whole_number_in(0, 1000))->capture_default_str();
  app.add_option("--run-id,--run_id", options.run_id, "job id passed to workers (default: generated)")
      ->envname("BOLT_RUN_ID");
  app.add_flag("--check", options.check,
               "check, on every rank, in seconds, what the job needs (config, plugins, data dir, device, master, "
               "agreement between nodes, one allreduce), print one table and exit 0 or with the first failure");
  app.add_flag("--print-plan", options.print_plan,
               "print the resolved plan of every local rank as JSON lines and exit");
  app.set_version_flag("--version", "bolt-launch " BOLT_VERSION_STRING);

  if (!parse_command_line(app, own, "", "bolt-launch " BOLT_VERSION_STRING)) return std::nullopt;
  if (options.node_rank >= std::max(options.nnodes, 1)) {
    throw UsageError("--node-rank " + std::to_string(options.node_rank) +
                     " must be below --nnodes " + std::to_string(std::max(options.nnodes, 1)));
  }
  return options;
}

// "0,2-3" -> {0, 2, 3}; every rank must exist in the job.
std::set<int64_t> parse_rank_list(const std::string& text, int64_t world_size) {
  std::set<int64_t> ranks;
  if (text.empty()) return ranks;
  auto refuse = [&](const std::string& why) {
    return UsageError(fmt::format("--log-ranks '{}': {}; give ranks of 0..{} as 0,2-3", text, why, world_size - 1));
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(',', start), text.size());
    const auto item = text.substr(start, end - start);
    const auto dash = item.find('-');
    auto number = [&](const std::string& digits) {
      if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
        throw refuse(fmt::format("'{}' is not a rank", item));
      }
      const int64_t rank = std::stoll(digits);
      if (rank >= world_size) throw refuse(fmt::format("rank {} is not in this job", rank));
      return rank;
    };
    const int64_t first = number(item.substr(0, dash));
    const int64_t last = dash == std::string::npos ? first : number(item.substr(dash + 1));
    if (last < first) throw refuse(fmt::format("'{}' runs backwards", item));
    for (int64_t r = first; r <= last; ++r) ranks.insert(r);
    start = end + 1;
  }
  return ranks;
}


}  // namespace bolt::launch
