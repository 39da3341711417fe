#include "bolt/launch/LaunchPlan.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"
#include "bolt/WorkerContract.h"
#include "bolt/slurm/SlurmEnvironment.h"

namespace bolt::launch {

std::map<std::string, std::string> LaunchPlan::worker_env(const RankPlan& rank) const {
  contract::WorkerVariables v;
  v.rank = rank.rank;
  v.world_size = world_size;
  v.local_rank = rank.local_rank;
  v.local_world_size = local_world_size;
  v.node_rank = node_rank;
  v.nnodes = nnodes;
  v.master_addr = master_addr;
  v.master_port = master_port;
  v.run_id = run_id;
  v.restart_count = restart_count;
  v.device = rank.device;
  v.launch_time = launch_time;
  v.slurm_job_id = slurm_job_id;
  return contract::to_worker_env(v);
}

nlohmann::ordered_json LaunchPlan::to_json(const RankPlan& rank) const {
  nlohmann::ordered_json out = {{"world_size", world_size},   {"rank", rank.rank},
                                {"local_rank", rank.local_rank}, {"local_world_size", local_world_size},
                                {"node_rank", node_rank},     {"nnodes", nnodes},
                                {"master_addr", master_addr}, {"master_port", master_port},
                                {"device", rank.device},      {"run_id", run_id},
                                {"source", source}};
  if (!sources.empty()) out["sources"] = sources;
  return out;
}

int visible_gpu_count(const EnvLookup& env) {
  if (auto visible = env("CUDA_VISIBLE_DEVICES")) {
    if (visible->empty() || *visible == "-1" || *visible == "none" || *visible == "NoDevFiles") return 0;
    return static_cast<int>(std::count(visible->begin(), visible->end(), ',')) + 1;
  }
  std::error_code ec;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)entry;
    ++count;
  }
  return count;
}

void check_device_syntax(const std::string& device) {
  if (!contract::parse_device_name(device)) {
    throw UsageError(fmt::format("--device '{}' is not one of cpu, cuda, cuda:N", device));
  }
}

namespace {
std::string generated_run_id() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return fmt::format("{:x}-{:x}", std::chrono::duration_cast<std::chrono::seconds>(now).count(),
                     ::getpid());
}
}  // namespace

namespace {

int64_t parse_nproc(const LaunchOptions& options, int gpus) {
  if (!options.nproc_per_node) return 1;
  const auto& text = *options.nproc_per_node;
  if (text == "auto") return std::max(1, gpus);
  const auto parsed = parse_integer(text);
  const int64_t nproc = parsed.value_or(0);
  if (nproc < 1) {
    throw UsageError(fmt::format("--nproc-per-node '{}' is not a positive number or auto", text));
  }
  // One process per rank on one node: past a few thousand it is a typo, not a plan.
  constexpr int64_t kMaxLocalRanks = 4096;
  if (nproc > kMaxLocalRanks) {
    throw UsageError(fmt::format("--nproc-per-node {} is more than {} ranks on one node", nproc, kMaxLocalRanks));
  }
  return nproc;
}

// cpu and cuda:N are taken as given; otherwise each rank gets local rank modulo the visible
// GPUs (one visible GPU, e.g. under --gpus-per-task=1, is always cuda:0), or the CPU.
std::string device_for(const LaunchOptions& options, int64_t local_rank, int gpus) {
  if (options.device && (*options.device == "cpu" || options.device->rfind("cuda:", 0) == 0)) {
    return *options.device;
  }
  if (gpus > 0) return fmt::format("cuda:{}", local_rank % gpus);
  if (options.device) {
    throw UsageError(fmt::format("--device {} asked for, but no GPU is visible "
                                 "(CUDA_VISIBLE_DEVICES, /proc/driver/nvidia)", *options.device));
  }
  return "cpu";
}

void add_ranks(LaunchPlan& plan, const LaunchOptions& options, int64_t first_rank, int gpus) {
  for (int64_t local = 0; local < plan.local_world_size; ++local) {
    plan.ranks.push_back({first_rank + local, local, device_for(options, local, gpus)});
  }
}

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void common_fields(LaunchPlan& plan, const LaunchOptions& options, const EnvLookup& env) {
  plan.launch_time = now_unix();
  if (auto launched = env("BOLT_LAUNCH_TIME")) plan.launch_time = std::atof(launched->c_str());
  if (!options.run_id.empty()) plan.run_id = options.run_id;
  if (options.device) check_device_syntax(*options.device);
}

}  // namespace

LaunchPlan resolve_local_plan(const LaunchOptions& options, const EnvLookup& env) {
  LaunchPlan plan;
  common_fields(plan, options, env);
  const int gpus = visible_gpu_count(env);
  const int64_t nproc = parse_nproc(options, gpus);
  const bool pinned_cuda = options.device && options.device->rfind("cuda:", 0) == 0;
  if (pinned_cuda && nproc > 1) {
    throw UsageError(fmt::format("--device {} pins one GPU but --nproc-per-node is {}: use "
                                 "--device cuda to give each rank its own GPU", *options.device, nproc));
  }
  const int64_t nnodes = std::max(options.nnodes, 1);
  plan.source = options.nproc_per_node || nnodes > 1 ? "local" : "device";
  plan.local_world_size = nproc;
  plan.nnodes = nnodes;
  plan.node_rank = std::max(options.node_rank, 0);
  plan.world_size = nproc * nnodes;
  plan.master_addr = options.master_addr.empty() ? "127.0.0.1" : options.master_addr;
  plan.master_port = options.master_port < 0 ? 29500 : options.master_port;
  if (plan.run_id.empty()) plan.run_id = generated_run_id();
  if (auto restarts = env("BOLT_RESTART_COUNT")) plan.restart_count = std::atoll(restarts->c_str());
  plan.exec_in_place = nproc == 1;
  if (options.standalone || options.master_port == 0) {
    if (nnodes > 1) {
      throw UsageError("--standalone / --master-port 0 pick a port on this node only; with "
                       "--nnodes > 1 give every node the same --master-port");
    }
    plan.master_port = pick_free_port();
  }
  add_ranks(plan, options, plan.node_rank * nproc, gpus);
  return plan;
}

namespace {

LaunchPlan resolve_slurm_plan(const LaunchOptions& options, const slurm::SlurmEnvironment& slurm,
                              const EnvLookup& env) {
  LaunchPlan plan;
  common_fields(plan, options, env);
  plan.source = "slurm";
  plan.sources = slurm.sources;
  if (plan.run_id.empty()) {
    plan.run_id = slurm.job_id;
    plan.sources["run_id"] = "SLURM_JOB_ID";
  }
  plan.restart_count = slurm.restart_count;
  plan.slurm_job_id = slurm.job_id;
  const int gpus = visible_gpu_count(env);
  if (options.nproc_per_node) {
    // Shape (b): one task per node spawns that node's ranks.
    const int64_t nproc = parse_nproc(options, gpus);
    if (slurm.tasks_on_this_node != 1) {
      throw UsageError(fmt::format(
          "--nproc-per-node {} spawns a node's ranks itself, but Slurm started {} tasks on this "
          "node ({}): use one task per node (srun --ntasks-per-node=1) or drop --nproc-per-node",
          nproc, slurm.tasks_on_this_node, slurm.sources.at("local_world_size")));
    }
    plan.local_world_size = nproc;
    plan.world_size = slurm.num_tasks * nproc;
    plan.nnodes = slurm.num_tasks;
    plan.node_rank = slurm.proc_id;
    plan.sources["local_world_size"] = "--nproc-per-node";
    plan.sources["world_size"] += " x --nproc-per-node";
    plan.exec_in_place = nproc == 1;
    add_ranks(plan, options, slurm.proc_id * nproc, gpus);
  } else {
    // Shape (a): every Slurm task is one rank.
    plan.local_world_size = slurm.tasks_on_this_node;
    plan.world_size = slurm.num_tasks;
    plan.nnodes = slurm.num_nodes;
    plan.node_rank = slurm.node_id;
    plan.exec_in_place = true;
    plan.ranks.push_back({slurm.proc_id, slurm.local_id, device_for(options, slurm.local_id, gpus)});
  }
  if (options.nnodes > 0 && options.nnodes != plan.nnodes) {
    throw UsageError(fmt::format("--nnodes {} but the Slurm step has {} nodes ({})", options.nnodes,
                                 plan.nnodes, plan.sources["nnodes"]));
  }
  if (options.node_rank >= 0 && options.node_rank != plan.node_rank) {
    throw UsageError(fmt::format("--node-rank {} but this is node {} of the Slurm step (SLURM_NODEID)",
                                 options.node_rank, plan.node_rank));
  }
  if (!options.master_addr.empty()) {
    plan.master_addr = options.master_addr;
    plan.sources["master_addr"] = "--master-addr/MASTER_ADDR";
  } else {
    plan.master_addr = slurm.master_addr;
  }
  if (plan.master_addr.empty()) {
    throw EnvironmentError("no master address: SLURM_STEP_NODELIST, SLURM_JOB_NODELIST and "
                           "SLURM_SUBMIT_HOST are all unset; give --master-addr");
  }
  if (options.master_port > 0) {
    plan.master_port = options.master_port;
    plan.sources["master_port"] = "--master-port/MASTER_PORT";
  } else {
    plan.master_port = slurm::derive_master_port(slurm.job_id);
    plan.sources["master_port"] = "derived from SLURM_JOB_ID";
  }
  return plan;
}

}  // namespace

LaunchPlan resolve_plan(const LaunchOptions& options, const EnvLookup& env) {
  const auto slurm = options.no_slurm ? std::nullopt : slurm::SlurmEnvironment::detect(env);
  if (!slurm) return resolve_local_plan(options, env);
  if (slurm->in_step && !slurm->interactive) return resolve_slurm_plan(options, *slurm, env);
  const std::string where = slurm->interactive ? "an interactive srun --pty shell"
                                               : "an salloc or sbatch shell, outside any srun step";
  const bool local_ok = (options.nproc_per_node && std::max(options.nnodes, 1) == 1) ||
                        (options.device && !options.nproc_per_node && options.nnodes <= 1);
  if (!local_ok) {
    throw UsageError(fmt::format(
        "inside Slurm job {} but in {}: run under srun (e.g. `srun --ntasks-per-node=G "
        "bolt-launch -- fit ...` in the batch script), or give --nproc-per-node N (or --device) "
        "to run on this node only", slurm->job_id, where));
  }
  auto plan = resolve_local_plan(options, env);
  plan.note = fmt::format("bolt-launch: inside Slurm job {} but in {}: running {} rank(s) on this "
                          "node only, not across the allocation (use srun for that)",
                          slurm->job_id, where, plan.local_world_size);
  return plan;
}

int pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw EnvironmentError(fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw EnvironmentError(fmt::format("cannot find a free port: {}", std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

void check_port_free(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found) {
    throw UsageError(fmt::format("--master-addr '{}' does not resolve", host));
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool bound = ::bind(fd, found->ai_addr, found->ai_addrlen) == 0;
  const int error = errno;
  ::close(fd);
  freeaddrinfo(found);
  if (!bound && error == EADDRINUSE) {
    throw DistributedError(fmt::format(
        "master port {} on {} is already in use: pick another with --master-port, or "
        "--standalone for a free one", port, host));
  }
}

}  // namespace bolt::launch
