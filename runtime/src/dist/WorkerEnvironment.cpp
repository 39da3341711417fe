#include "bolt/WorkerEnvironment.h"

#include <cstdlib>

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"
#include "bolt/WorkerContract.h"

namespace bolt {

namespace {

int64_t parse_count(const std::string& name, const std::string& text, int64_t min) {
  const auto value = parse_integer(text).value_or(min - 1);
  if (value < min) {
    throw EnvironmentError(
        fmt::format("environment variable {}='{}' is not an integer >= {}", name, text, min));
  }
  return value;
}

}  // namespace

WorkerEnvironment WorkerEnvironment::from(const Lookup& lookup) {
  WorkerEnvironment env;
  auto read = [&](const char* name, int64_t& field, int64_t min) {
    if (auto value = lookup(name)) {
      field = parse_count(name, *value, min);
      return true;
    }
    return false;
  };
  if (lookup(contract::kRank)) {
    env.source = "torchrun";
    read(contract::kRank, env.rank, 0);
    if (!read(contract::kWorldSize, env.world_size, 1)) {
      throw EnvironmentError("RANK is set but WORLD_SIZE is not: set both (or neither)");
    }
    if (!read(contract::kLocalRank, env.local_rank, 0)) env.local_rank = env.rank;
    if (!read(contract::kLocalWorldSize, env.local_world_size, 1)) env.local_world_size = env.world_size;
  } else if (lookup("OMPI_COMM_WORLD_RANK")) {
    env.source = "openmpi";
    read("OMPI_COMM_WORLD_RANK", env.rank, 0);
    if (!read("OMPI_COMM_WORLD_SIZE", env.world_size, 1)) {
      throw EnvironmentError("OMPI_COMM_WORLD_RANK is set but OMPI_COMM_WORLD_SIZE is not");
    }
    if (!read("OMPI_COMM_WORLD_LOCAL_RANK", env.local_rank, 0)) env.local_rank = env.rank;
    if (!read("OMPI_COMM_WORLD_LOCAL_SIZE", env.local_world_size, 1)) {
      env.local_world_size = env.world_size;
    }
  } else {
    env.source = "default";
    if (lookup(contract::kWorldSize)) {
      read(contract::kWorldSize, env.world_size, 1);
      if (env.world_size != 1) throw EnvironmentError("WORLD_SIZE is set but RANK is not");
    }
  }
  read(contract::kNodeRank, env.node_rank, 0);
  if (!read(contract::kNodeCount, env.nnodes, 1)) {
    env.nnodes = (env.world_size + env.local_world_size - 1) / env.local_world_size;
  }
  if (auto addr = lookup(contract::kMasterAddr)) env.master_addr = *addr;
  read(contract::kMasterPort, env.master_port, 1);
  if (env.master_port > 65535) {
    throw EnvironmentError(fmt::format("MASTER_PORT={} is not a TCP port", env.master_port));
  }
  if (auto device = lookup(contract::kDevice)) env.device = *device;
  if (auto id = lookup(contract::kRunId)) env.run_id = *id;
  if (auto job = lookup(contract::kSlurmJobId)) env.slurm_job_id = *job;
  read(contract::kRestartCount, env.restart_count, 0);
  if (auto launched = lookup(contract::kLaunchTime)) env.launch_time = std::atof(launched->c_str());

  if (env.rank >= env.world_size) {
    throw EnvironmentError(
        fmt::format("rank {} is not below world size {} (RANK/WORLD_SIZE)", env.rank, env.world_size));
  }
  if (env.local_rank >= env.local_world_size) {
    throw EnvironmentError(fmt::format("local rank {} is not below local world size {}",
                                       env.local_rank, env.local_world_size));
  }
  if (env.node_rank >= env.nnodes) {
    throw EnvironmentError(
        fmt::format("node rank {} is not below the node count {} (NODE_RANK/NNODES)", env.node_rank, env.nnodes));
  }
  return env;
}

WorkerEnvironment WorkerEnvironment::from_process() {
  return from([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

}  // namespace bolt
