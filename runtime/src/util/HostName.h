#pragma once
// The name this rank reports for its machine: under Slurm the node's name (what scontrol and
// sinfo call it), else the host name.
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

namespace bolt {

inline std::string node_name() {
  if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node) return node;
  char buffer[HOST_NAME_MAX + 1] = {};
  ::gethostname(buffer, sizeof buffer - 1);
  return buffer;
}

}  // namespace bolt
