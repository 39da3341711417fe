#pragma once
#include <string>
#include <vector>

namespace bolt::launch {
// `bolt-launch submit ...` (args[0] is "submit"). Returns the exit code.
int run_submit(const std::vector<std::string>& args);
}  // namespace bolt::launch
