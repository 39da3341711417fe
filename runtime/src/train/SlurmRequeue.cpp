#include "SlurmRequeue.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace bolt {

std::string requeue_slurm_job(const std::string& job_id) {
  std::vector<std::string> args{"scontrol", "requeue", job_id};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  // scontrol's own message (if any) goes to this rank's stderr, i.e. the job's output.
  if (const int error = ::posix_spawnp(&pid, "scontrol", nullptr, nullptr, argv.data(), environ); error != 0) {
    return fmt::format("cannot run scontrol: {}", std::strerror(error));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fmt::format("waitpid(scontrol): {}", std::strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return WIFEXITED(status) ? fmt::format("scontrol requeue {} exited {}", job_id, WEXITSTATUS(status))
                           : fmt::format("scontrol requeue {} was killed by signal {}", job_id, WTERMSIG(status));
}

}  // namespace bolt
