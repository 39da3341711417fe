#include "bolt/launch/Launcher.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/launch/LaunchPlan.h"
#include "bolt/launch/Supervisor.h"
#include "diagnosis/Why.h"
#include "submit/JobStatus.h"
#include "submit/Submit.h"

namespace fs = std::filesystem;

namespace bolt::launch {

namespace {

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

std::string launcher_path() {
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "bolt-launch" : self.string();
}

std::string default_worker_path() {
  const fs::path self = launcher_path();
  return self.has_parent_path() ? (self.parent_path() / "bolt-worker").string() : "bolt-worker";
}

int run_launcher(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "submit") return run_submit({argv + 1, argv + argc});
  if (argc > 1 && std::string(argv[1]) == "status") return run_status({argv + 1, argv + argc});
  if (argc > 1 && std::string(argv[1]) == "why") return run_why({argv + 1, argv + argc});
  auto options = parse_launch_options(argc, argv);
  if (!options) return 0;
  LaunchPlan plan = resolve_plan(*options, process_env);
  if (!plan.note.empty()) std::cerr << plan.note << '\n';
  const auto log_ranks = parse_rank_list(options->log_ranks, plan.world_size);  // checked before anything runs

  if (options->print_plan) {
    for (const auto& rank : plan.ranks) std::cout << plan.to_json(rank).dump() << '\n';
    return 0;
  }
  if (options->worker_args.empty()) {
    throw UsageError("nothing to run: give the worker's arguments after --, e.g. "
                     "bolt-launch --device cpu -- fit --config cfg.json");
  }
  if (options->check) options->worker_args.push_back("--check");
  const std::string worker = options->worker.empty() ? default_worker_path() : options->worker;
  std::error_code ec;
  if (::access(worker.c_str(), X_OK) != 0 || !fs::is_regular_file(worker, ec)) {
    throw UsageError(fmt::format("worker {} is not an executable file (--worker PATH)", worker));
  }

  std::map<std::string, std::string> extra_env;
  if (plan.local_world_size > 1 && !process_env("OMP_NUM_THREADS")) {
    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    const auto threads = std::max<int64_t>(1, cores / plan.local_world_size);
    extra_env["OMP_NUM_THREADS"] = std::to_string(threads);
    std::cerr << fmt::format("bolt-launch: OMP_NUM_THREADS={} for each of {} local ranks ({} cores); "
                             "set OMP_NUM_THREADS to override\n",
                             threads, plan.local_world_size, cores);
  }
  if (options->max_restarts > 0 && plan.nnodes > 1) {
    throw UsageError(fmt::format(
        "--max-restarts restarts the ranks of one node, but this job has {} nodes: a restart "
        "would need every node's launcher to agree (under Slurm, requeue the job instead)", plan.nnodes));
  }
  if (plan.exec_in_place && options->max_restarts == 0) {
    exec_worker(plan, worker, options->worker_args, extra_env);
  }

  if (plan.node_rank == 0) check_port_free(plan.master_addr, static_cast<int>(plan.master_port));
  if (!options->log_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options->log_dir, ec);
    if (ec) throw EnvironmentError(fmt::format("cannot create --log-dir {}: {}", options->log_dir, ec.message()));
  }
  SupervisorOptions supervisor;
  supervisor.worker = worker;
  supervisor.worker_args = options->worker_args;
  supervisor.log_dir = options->log_dir;
  supervisor.term_timeout_s = options->term_timeout_s;
  supervisor.extra_env = extra_env;
  supervisor.max_restarts = options->max_restarts;
  supervisor.repick_port = plan.source != "slurm" && (options->standalone || options->master_port == 0);
  supervisor.log_ranks = log_ranks;
  return supervise(plan, supervisor);
}

}  // namespace bolt::launch
