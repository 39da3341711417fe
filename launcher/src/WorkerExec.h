#pragma once
// Replacing a process with the worker: its environment set, its arguments after the binary.
#include <map>
#include <string>
#include <vector>

namespace bolt::launch {

// Sets `env`, then execv()s `worker`; on failure writes the reason to stderr and _exit(127)s.
[[noreturn]] void exec_with_env(const std::string& worker, const std::vector<std::string>& args,
                                const std::map<std::string, std::string>& env);

}  // namespace bolt::launch
