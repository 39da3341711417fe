#pragma once
namespace bolt::launch {
// bolt-launch's whole life: options → plan → exec or supervise. Returns the exit code.
int run_launcher(int argc, char** argv);
}  // namespace bolt::launch
