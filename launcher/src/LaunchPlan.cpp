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
#include <regex>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::launch {

std::map<std::string, std::string> LaunchPlan::worker_env(const RankPlan& rank) const {
  return {{"RANK", std::to_string(rank.rank)},
          {"WORLD_SIZE", std::to_string(world_size)},
          {"LOCAL_RANK", std::to_string(rank.local_rank)},
          {"LOCAL_WORLD_SIZE", std::to_string(local_world_size)},
          {"NODE_RANK", std::to_string(node_rank)},
          {"NNODES", std::to_string(nnodes)},
          {"MASTER_ADDR", master_addr},
          {"MASTER_PORT", std::to_string(master_port)},
          {"BOLT_RUN_ID", run_id},
          {"BOLT_RESTART_COUNT", std::to_string(restart_count)},
          {"BOLT_DEVICE", rank.device},
          {"BOLT_LAUNCH_TIME", fmt::format("{:.6f}", launch_time)}};
}

nlohmann::ordered_json LaunchPlan::to_json(const RankPlan& rank) const {
  return {{"world_size", world_size},   {"rank", rank.rank},
          {"local_rank", rank.local_rank}, {"local_world_size", local_world_size},
          {"node_rank", node_rank},     {"nnodes", nnodes},
          {"master_addr", master_addr}, {"master_port", master_port},
          {"device", rank.device},      {"run_id", run_id},
          {"source", source}};
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
  static const std::regex pattern(R"(cpu|cuda(:\d+)?)");
  if (!std::regex_match(device, pattern)) {
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

LaunchPlan resolve_local_plan(const LaunchOptions& options, const EnvLookup& env) {
  LaunchPlan plan;
  const int gpus = visible_gpu_count(env);
  if (options.device) check_device_syntax(*options.device);

  int64_t nproc = 1;
  if (options.nproc_per_node) {
    const auto& text = *options.nproc_per_node;
    if (text == "auto") {
      nproc = std::max(1, gpus);
    } else {
      std::size_t used = 0;
      try {
        nproc = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || nproc < 1) {
        throw UsageError(fmt::format("--nproc-per-node '{}' is not a positive number or auto", text));
      }
    }
  }
  const bool pinned_cuda = options.device && options.device->rfind("cuda:", 0) == 0;
  if (pinned_cuda && nproc > 1) {
    throw UsageError(fmt::format("--device {} pins one GPU but --nproc-per-node is {}: use "
                                 "--device cuda to give each rank its own GPU", *options.device, nproc));
  }
  plan.source = options.nproc_per_node || options.nnodes > 1 ? "local" : "device";
  plan.local_world_size = nproc;
  plan.nnodes = options.nnodes;
  plan.node_rank = options.node_rank;
  plan.world_size = nproc * options.nnodes;
  plan.master_addr = options.master_addr;
  plan.master_port = options.master_port;
  plan.run_id = options.run_id.empty() ? generated_run_id() : options.run_id;
  if (auto restarts = env("BOLT_RESTART_COUNT")) plan.restart_count = std::atoll(restarts->c_str());
  plan.exec_in_place = nproc == 1;
  plan.launch_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto launched = env("BOLT_LAUNCH_TIME")) plan.launch_time = std::atof(launched->c_str());
  if (options.standalone || options.master_port == 0) {
    if (options.nnodes > 1) {
      throw UsageError("--standalone / --master-port 0 pick a port on this node only; with "
                       "--nnodes > 1 give every node the same --master-port");
    }
    plan.master_port = pick_free_port();
  }
  for (int64_t local = 0; local < nproc; ++local) {
    RankPlan rank;
    rank.local_rank = local;
    rank.rank = options.node_rank * nproc + local;
    if (options.device && (*options.device == "cpu" || pinned_cuda)) {
      rank.device = *options.device;
    } else if (options.device || gpus > 0) {
      if (gpus == 0) {
        throw UsageError(fmt::format("--device {} asked for, but no GPU is visible "
                                     "(CUDA_VISIBLE_DEVICES, /proc/driver/nvidia)", *options.device));
      }
      rank.device = fmt::format("cuda:{}", local % gpus);
    } else {
      rank.device = "cpu";
    }
    plan.ranks.push_back(rank);
  }
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
