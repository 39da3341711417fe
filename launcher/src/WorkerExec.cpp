#include "WorkerExec.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "bolt/launch/Supervisor.h"

namespace bolt::launch {

namespace {
std::vector<std::string> exec_argv(const std::string& worker, const std::vector<std::string>& args) {
  std::vector<std::string> argv{worker};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}
}  // namespace

void exec_with_env(const std::string& worker, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
  auto argv_strings = exec_argv(worker, args);
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(worker.c_str(), argv.data());
  const int error = errno;
  const auto message = fmt::format("bolt-launch: error: cannot run worker {}: {}\n", worker,
                                   std::strerror(error));
  ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
  (void)ignored;
  ::_exit(127);
}

void exec_worker(const LaunchPlan& plan, const std::string& worker,
                 const std::vector<std::string>& worker_args,
                 const std::map<std::string, std::string>& extra_env) {
  auto env = plan.worker_env(plan.ranks.front());
  env.insert(extra_env.begin(), extra_env.end());
  exec_with_env(worker, worker_args, env);
}

}  // namespace bolt::launch
