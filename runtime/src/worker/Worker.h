#pragma once
#include <string>
#include <vector>

namespace bolt {
// bolt-worker's whole life: parse, load plugins, build the components, run the stage.
// Returns the exit code; throws bolt::Error for the caller to report.
int run_worker(const std::vector<std::string>& args);
}  // namespace bolt
