#pragma once
// `bolt-launch status <job id | submit dir | logs dir>`: one row per task of what
// `bolt-launch submit` submitted (array index, the point's overrides, Slurm's state, epoch
// reached, best validation value, requeues, run directory), and which point won.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt::launch {

// One submission (its directory holds manifest.json) as `status --json` prints it:
// {"submission", "monitor", "monitor_mode", "tasks": [one object per task]}.
nlohmann::json submission(const std::string& submit_dir);

int run_status(const std::vector<std::string>& args);  // args[0] is "status"

}  // namespace bolt::launch
