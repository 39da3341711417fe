#pragma once
#include <string>

namespace bolt::launch {

// bolt-launch's whole life: options → plan → exec or supervise; or, as `bolt-launch submit`
// and `bolt-launch status`, a Slurm submission and its table. Returns the exit code.
int run_launcher(int argc, char** argv);

// This bolt-launch's absolute path, and the bolt-worker beside it.
std::string launcher_path();
std::string default_worker_path();
}  // namespace bolt::launch
