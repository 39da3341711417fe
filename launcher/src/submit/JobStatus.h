#pragma once
// `bolt-launch status <job id | submit dir | logs dir>`: one row per task of what
// `bolt-launch submit` submitted (array index, the point's overrides, Slurm's state, epoch
// reached, best validation value, requeues, run directory), and which point won.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt::launch {

// The rows of one submission (its directory holds manifest.json), as JSON objects.
nlohmann::json submission_rows(const std::string& submit_dir);

int run_status(const std::vector<std::string>& args);  // args[0] is "status"

}  // namespace bolt::launch
