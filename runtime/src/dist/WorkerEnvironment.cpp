#include "bolt/WorkerEnvironment.h"

#include <cstdlib>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {

int64_t parse_count(const std::string& name, const std::string& text, int64_t min) {
  std::size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < min) {
    throw EnvironmentError(
        fmt::format("environment variable {}='{}' is not an integer >= {}", name, text, min));
  }
  return value;
}

}  // namespace

WorkerEnvironment WorkerEnvironment::from(const Lookup& lookup) {
  WorkerEnvironment env;
  auto read = [&](const std::string& name, int64_t& field, int64_t min) {
    if (auto value = lookup(name)) {
      field = parse_count(name, *value, min);
      return true;
    }
    return false;
  };
  if (lookup("RANK")) {
    env.source = "torchrun";
    read("RANK", env.rank, 0);
    if (!read("WORLD_SIZE", env.world_size, 1)) {
      throw EnvironmentError("RANK is set but WORLD_SIZE is not: set both (or neither)");
    }
    if (!read("LOCAL_RANK", env.local_rank, 0)) env.local_rank = env.rank;
    if (!read("LOCAL_WORLD_SIZE", env.local_world_size, 1)) env.local_world_size = env.world_size;
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
    if (lookup("WORLD_SIZE")) {
      read("WORLD_SIZE", env.world_size, 1);
      if (env.world_size != 1) throw EnvironmentError("WORLD_SIZE is set but RANK is not");
    }
  }
  read("NODE_RANK", env.node_rank, 0);
  if (!read("NNODES", env.nnodes, 1)) {
    env.nnodes = (env.world_size + env.local_world_size - 1) / env.local_world_size;
  }
  if (auto addr = lookup("MASTER_ADDR")) env.master_addr = *addr;
  read("MASTER_PORT", env.master_port, 1);
  if (env.master_port > 65535) {
    throw EnvironmentError(fmt::format("MASTER_PORT={} is not a TCP port", env.master_port));
  }
  if (auto device = lookup("BOLT_DEVICE")) env.device = *device;
  if (auto id = lookup("BOLT_RUN_ID")) env.run_id = *id;
  if (auto job = lookup("BOLT_SLURM_JOB_ID")) env.slurm_job_id = *job;
  read("BOLT_RESTART_COUNT", env.restart_count, 0);
  if (auto launched = lookup("BOLT_LAUNCH_TIME")) env.launch_time = std::atof(launched->c_str());

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
