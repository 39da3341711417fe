#include "Subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "FileDescriptor.h"

extern char** environ;

namespace bolt {

namespace {

struct SpawnActions {
  posix_spawn_file_actions_t actions{};
  SpawnActions() { ::posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { ::posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct Pipe {
  std::optional<FileDescriptor> read_end, write_end;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end.emplace(fds[0]);
    write_end.emplace(fds[1]);
    return true;
  }
};

// Reads both pipes to their ends (one may fill while the other is read: poll both).
void drain(Pipe& out, Pipe* err, std::string& output, std::string& errors) {
  std::vector<pollfd> fds{{out.read_end->get(), POLLIN, 0}};
  if (err) fds.push_back({err->read_end->get(), POLLIN, 0});
  std::size_t open = fds.size();
  char buffer[4096];
  while (open > 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        (i == 0 ? output : errors).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

}  // namespace

SubprocessResult run_subprocess(const std::vector<std::string>& args, StderrTo stderr_to) {
  SubprocessResult result;
  Pipe out, err;
  if (!out.open() || (stderr_to == StderrTo::Errors && !err.open())) {
    result.failure = fmt::format("pipe: {}", std::strerror(errno));
    return result;
  }
  SpawnActions spawn;
  ::posix_spawn_file_actions_adddup2(&spawn.actions, out.write_end->get(), STDOUT_FILENO);
  if (stderr_to == StderrTo::Output) ::posix_spawn_file_actions_adddup2(&spawn.actions, out.write_end->get(), STDERR_FILENO);
  if (stderr_to == StderrTo::Errors) ::posix_spawn_file_actions_adddup2(&spawn.actions, err.write_end->get(), STDERR_FILENO);
  ::posix_spawn_file_actions_addopen(&spawn.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> owned(args);
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (const int error = ::posix_spawnp(&pid, argv[0], &spawn.actions, nullptr, argv.data(), environ); error != 0) {
    result.failure = fmt::format("cannot run {}: {}", args.front(), std::strerror(error));
    return result;
  }
  // Our copies of the write ends closed, or the reads below never see the end of the output.
  out.write_end.reset();
  err.write_end.reset();
  drain(out, stderr_to == StderrTo::Errors ? &err : nullptr, result.output, result.errors);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      result.failure = fmt::format("waitpid({}): {}", args.front(), std::strerror(errno));
      return result;
    }
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string describe_failure(const std::vector<std::string>& args, const SubprocessResult& result) {
  if (!result.failure.empty()) return result.failure;
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  return result.exit_code > 128 ? fmt::format("{} was killed by signal {}", command, result.exit_code - 128)
                                : fmt::format("{} exited {}", command, result.exit_code);
}

}  // namespace bolt
