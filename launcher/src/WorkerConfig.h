#pragma once
// The config a worker command line resolves to, as the worker itself resolves it
// (`bolt-worker ... --print-config`): its checks of every key, plugin and value run, and the
// launcher reads loggers.logs_dir and the run name without knowing plugins' keys. Used by
// `submit` (before anything is written) and `why -- <worker args>` (to find the run).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt::launch {

// Throws UsageError (the worker exited 2) or Error with the worker's message after `prefix`.
nlohmann::json resolved_worker_config(const std::vector<std::string>& worker_args, const std::string& prefix);
// loggers.name, or the model's name when it is empty (as the worker names the run).
std::string run_name_of(const nlohmann::json& config);

}  // namespace bolt::launch
