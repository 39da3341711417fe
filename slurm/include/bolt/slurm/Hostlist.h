#pragma once
// Slurm's compact lists, expanded: host lists ("gpu[001-004,07],cpu3", "r[1-2]n[01-02]") and
// tasks-per-node counts ("2(x3),1"). Malformed input throws EnvironmentError naming it.
#include <cstdint>
#include <string>
#include <vector>

namespace bolt::slurm {

std::vector<std::string> expand_hostlist(const std::string& hostlist);
std::vector<int64_t> expand_tasks_per_node(const std::string& counts);

}  // namespace bolt::slurm
