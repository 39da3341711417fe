#pragma once
// The launch contract in one place: the variables bolt-launch gives each worker (torchrun's
// names plus BOLT_*), written by the launcher (to_worker_env) and read by the worker
// (WorkerEnvironment::from) from this one table. Torch-free, header-only.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace bolt::contract {

inline constexpr const char* kRank = "RANK";
inline constexpr const char* kWorldSize = "WORLD_SIZE";
inline constexpr const char* kLocalRank = "LOCAL_RANK";
inline constexpr const char* kLocalWorldSize = "LOCAL_WORLD_SIZE";
inline constexpr const char* kNodeRank = "NODE_RANK";
inline constexpr const char* kNodeCount = "NNODES";
inline constexpr const char* kMasterAddr = "MASTER_ADDR";
inline constexpr const char* kMasterPort = "MASTER_PORT";
inline constexpr const char* kRunId = "BOLT_RUN_ID";
inline constexpr const char* kRestartCount = "BOLT_RESTART_COUNT";
inline constexpr const char* kDevice = "BOLT_DEVICE";
inline constexpr const char* kLaunchTime = "BOLT_LAUNCH_TIME";
inline constexpr const char* kSlurmJobId = "BOLT_SLURM_JOB_ID";

// What one worker is told.
struct WorkerVariables {
  int64_t rank = 0, world_size = 1, local_rank = 0, local_world_size = 1, node_rank = 0, nnodes = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  std::string run_id;
  int64_t restart_count = 0;
  std::string device;
  double launch_time = 0;
  std::string slurm_job_id;  // empty: not under Slurm (the variable is then not set)
};

// A device name as flags, config and BOLT_DEVICE spell it: cpu | cuda | cuda:N (N < 10000).
struct DeviceName {
  bool cuda = false;
  int index = 0;  // cuda:N's N (0 for "cuda")
};
inline std::optional<DeviceName> parse_device_name(std::string_view text) {
  if (text == "cpu") return DeviceName{};
  if (text.substr(0, 4) != "cuda") return std::nullopt;
  if (text.size() == 4) return DeviceName{true, 0};
  const auto digits = text.substr(5);
  if (text[4] != ':' || digits.empty() || digits.size() > 4 || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int index = 0;
  for (const char c : digits) index = index * 10 + (c - '0');
  return DeviceName{true, index};
}

inline std::map<std::string, std::string> to_worker_env(const WorkerVariables& v) {
  std::map<std::string, std::string> env{{kRank, std::to_string(v.rank)},
                                         {kWorldSize, std::to_string(v.world_size)},
                                         {kLocalRank, std::to_string(v.local_rank)},
                                         {kLocalWorldSize, std::to_string(v.local_world_size)},
                                         {kNodeRank, std::to_string(v.node_rank)},
                                         {kNodeCount, std::to_string(v.nnodes)},
                                         {kMasterAddr, v.master_addr},
                                         {kMasterPort, std::to_string(v.master_port)},
                                         {kRunId, v.run_id},
                                         {kRestartCount, std::to_string(v.restart_count)},
                                         {kDevice, v.device},
                                         {kLaunchTime, fmt::format("{:.6f}", v.launch_time)}};
  if (!v.slurm_job_id.empty()) env[kSlurmJobId] = v.slurm_job_id;
  return env;
}

}  // namespace bolt::contract
