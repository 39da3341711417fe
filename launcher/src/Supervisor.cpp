#include "bolt/launch/Supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>
#include <deque>
#include <set>
#include <iostream>

#include <fmt/format.h>

#include "FailureReport.h"
#include "OutputPump.h"
#include "RestartPolicy.h"
#include "WorkerExec.h"
#include "diagnosis/Diagnosis.h"
#include "util/HostName.h"
#include "bolt/Error.h"

namespace bolt::launch {

namespace {

using Clock = std::chrono::steady_clock;
const int kForwarded[] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP};

// 'T': stopped (SIGSTOP, a debugger). Read before the launcher signals it.
bool process_stopped(pid_t pid) {
  std::FILE* file = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
  if (!file) return false;
  char text[512] = {};
  const std::size_t n = std::fread(text, 1, sizeof text - 1, file);
  std::fclose(file);
  const char* close = std::strrchr(text, ')');  // the command name may hold spaces and parentheses
  return n > 0 && close && close[1] == ' ' && close[2] == 'T';
}

class Supervisor {
 public:
  Supervisor(const LaunchPlan& plan, const SupervisorOptions& options)
      : plan_(plan), options_(options), host_(node_name()),
        pump_(console_options(options), [this](const std::string& line) { on_control(line); },
              [this](std::size_t worker, const std::string& line) { keep_stderr_tail(worker, line); }) {}

  int run() {
    block_signals();
    int code = 0;
    for (int restart = 0;; ++restart) {
      restart_ = restart;
      open_control_pipe();
      for (const auto& rank : plan_.ranks) start(rank);
      ::close(control_write_);  // the ranks hold it now: EOF once they are all gone
      control_write_ = -1;
      loop();
      code = report_group(workers_, first_failure_, {killed_, interrupted_by_}, host_, options_.log_dir,
                          diagnosis());
      const auto decision = decide_restart(code, restart, options_.max_restarts, interrupted_by_.has_value());
      if (!decision.note.empty()) std::cerr << "bolt-launch: " << decision.note << '\n';
      if (!decision.restart) break;
      const double delay_s = decision.delay_s;
      std::cerr << fmt::format("bolt-launch: restarting all {} ranks in {:.1f} s (restart {} of {}, "
                               "BOLT_RESTART_COUNT={}); they resume from last.pt\n",
                               plan_.ranks.size(), delay_s, restart + 1, options_.max_restarts,
                               plan_.restart_count + restart + 1);
      if (!back_off(delay_s)) break;
      if (options_.repick_port) plan_.master_port = pick_free_port();
      reset();
    }
    restore_signals();
    return code;
  }

 private:
  // Waits before a restart; false when SIGINT/SIGTERM/SIGHUP came meanwhile (then no restart).
  bool back_off(double seconds) {
    const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    while (Clock::now() < until) {
      pollfd fd{signal_fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (::poll(&fd, 1, static_cast<int>(std::max<int64_t>(1, left))) > 0) {
        signalfd_siginfo info;
        while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
          const int sig = static_cast<int>(info.ssi_signo);
          if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            std::cerr << fmt::format("bolt-launch: SIG{} before the restart: not restarting\n", sigabbrev_np(sig));
            return false;
          }
        }
      }
    }
    return true;
  }

  void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int sig : kForwarded) sigaddset(&set, sig);
    if (::sigprocmask(SIG_BLOCK, &set, &old_mask_) != 0) {
      throw EnvironmentError(fmt::format("sigprocmask: {}", std::strerror(errno)));
    }
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd_ < 0) throw EnvironmentError(fmt::format("signalfd: {}", std::strerror(errno)));
  }

  // The ranks tell the launcher their run directory through it (BOLT_SUPERVISOR_FD), so
  // that the summary can read the records they leave there.
  void open_control_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw EnvironmentError(fmt::format("pipe: {}", std::strerror(errno)));
    control_write_ = fds[1];
    pump_.watch_control(fds[0]);
  }

  static ConsoleOptions console_options(const SupervisorOptions& options) {
    ConsoleOptions console;
    console.shown_ranks = options.log_ranks;
    console.live_progress = options.log_dir.empty() && ::isatty(STDOUT_FILENO) == 1;
    return console;
  }

  void on_control(const std::string& line) {
    if (line.rfind("run_dir ", 0) == 0) run_dir_ = line.substr(8);
  }

  void keep_stderr_tail(std::size_t worker, const std::string& line) {
    auto& tail = workers_[worker].stderr_tail;
    tail.push_back(line);
    if (tail.size() > kTailLines) tail.pop_front();
  }

  Diagnosis diagnosis() const {
    const bool failed = std::any_of(workers_.begin(), workers_.end(), [](const SupervisedRank& w) {
      return w.exit_code != 0 && w.exit_code != kStoppedForRequeueExitCode;
    });
    if (!failed || run_dir_.empty()) return {};
    DiagnosisContext context;
    context.world_size = plan_.world_size;
    context.frozen_ranks = frozen_;
    context.run_dir = run_dir_;
    return diagnose(read_rank_records(run_dir_), context);
  }

  void note_frozen_ranks() {
    for (const auto& w : workers_) {
      if (w.running && process_stopped(w.pid)) frozen_.insert(w.plan.rank);
    }
  }

  void reset() {
    workers_.clear();
    pump_.clear();
    frozen_.clear();
    stopping_ = killed_ = false;
    drain_deadline_.reset();
    first_failure_.reset();
  }

  void restore_signals() {
    ::close(signal_fd_);
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
  }

  int open_log(int rank, const char* kind) {
    const auto path = fmt::format("{}/rank-{}.{}", options_.log_dir, rank, kind);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw EnvironmentError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    return fd;
  }

  void start(const RankPlan& rank) {
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (options_.log_dir.empty()) {
      if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
        throw EnvironmentError(fmt::format("pipe: {}", std::strerror(errno)));
      }
    } else {
      out[1] = open_log(static_cast<int>(rank.rank), "stdout");
      err[1] = open_log(static_cast<int>(rank.rank), "stderr");
    }
    auto env = plan_.worker_env(rank);
    env.insert(options_.extra_env.begin(), options_.extra_env.end());
    env["BOLT_RESTART_COUNT"] = std::to_string(plan_.restart_count + restart_);
    env["BOLT_SUPERVISOR_FD"] = std::to_string(control_write_);
    // Rank 0 redraws its progress bar in place when the launcher's console is a terminal.
    if (options_.log_dir.empty() && ::isatty(STDOUT_FILENO) == 1) env["BOLT_CONSOLE_TTY"] = "1";
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw EnvironmentError(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
      // Own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      ::fcntl(control_write_, F_SETFD, 0);  // inherited across exec
      for (int sig : kForwarded) ::signal(sig, SIG_DFL);
      ::signal(SIGCHLD, SIG_DFL);
      ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
      exec_with_env(options_.worker, options_.worker_args, env);
    }
    ::setpgid(pid, pid);
    ::close(out[1]);
    ::close(err[1]);
    SupervisedRank worker;
    worker.plan = rank;
    worker.pid = pid;
    worker.running = true;
    workers_.push_back(std::move(worker));
    if (options_.log_dir.empty()) {
      pump_.watch(out[0], workers_.size() - 1, rank.rank, false);
      pump_.watch(err[0], workers_.size() - 1, rank.rank, true);
    }
  }

  int running_count() const {
    int n = 0;
    for (const auto& w : workers_) n += w.running ? 1 : 0;
    return n;
  }

  void signal_all(int sig) {
    for (auto& w : workers_) {
      if (w.running) ::kill(-w.pid, sig);
    }
    // A stopped rank acts on a signal only once it runs again.
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      for (auto& w : workers_) {
        if (w.running) ::kill(-w.pid, SIGCONT);
      }
    }
  }

  void begin_stop() {
    if (stopping_) return;
    note_frozen_ranks();
    stopping_ = true;
    for (auto& w : workers_) {
      if (w.running) w.stopped_by_us = true;
    }
    signal_all(SIGTERM);
    kill_deadline_ = Clock::now() + std::chrono::milliseconds(
                                        static_cast<int64_t>(options_.term_timeout_s * 1000));
  }

  void reap() {
    while (true) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        auto& w = workers_[i];
        if (w.pid != pid) continue;
        w.running = false;
        w.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        // A rank stopped for requeue is not a failure; its peers stop at the same step.
        if (w.exit_code == 0 || w.exit_code == kStoppedForRequeueExitCode) continue;
        // The first failure reported is the first root cause: ranks that died of a peer's
        // death (exit 3) or of our stop signals only stand in until a cause shows up.
        const bool cause = is_root_cause(w, {killed_, interrupted_by_});
        if (!first_failure_ || (cause && !is_root_cause(workers_[*first_failure_], {killed_, interrupted_by_}))) {
          first_failure_ = i;
        }
        if (w.exit_code != 0 && !interrupted_by_) begin_stop();
      }
    }
  }

  void on_signal() {
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
      const int sig = static_cast<int>(info.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
      } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        signal_all(sig);  // preemption notice: the workers decide what to do
      } else {
        if (!interrupted_by_) interrupted_by_ = sig;
        note_frozen_ranks();
        signal_all(sig);
        stopping_ = true;
        for (auto& w : workers_) {
          if (w.running) w.stopped_by_us = true;
        }
        kill_deadline_ = Clock::now() + std::chrono::milliseconds(
                                            static_cast<int64_t>(options_.term_timeout_s * 1000));
      }
    }
  }

  void loop() {
    while (true) {
      if (running_count() == 0 && !pump_.any_open()) break;
      std::vector<pollfd> fds{{signal_fd_, POLLIN, 0}};
      pump_.add_pollfds(fds);
      int timeout_ms = pump_.timeout_ms();
      auto sooner = [&](int64_t ms) {
        const int bounded = static_cast<int>(std::clamp<int64_t>(ms, 0, INT_MAX));
        timeout_ms = timeout_ms < 0 ? bounded : std::min(timeout_ms, bounded);
      };
      if (stopping_ && running_count() > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_deadline_ - Clock::now()).count();
        if (left <= 0) {
          killed_ = true;
          signal_all(SIGKILL);
          kill_deadline_ = Clock::now() + std::chrono::hours(1);
          sooner(100);
        } else {
          sooner(left);
        }
      } else if (running_count() == 0) {
        // The ranks are gone; a stream still open belongs to an orphaned grandchild: drain briefly.
        if (!drain_deadline_) drain_deadline_ = Clock::now() + std::chrono::seconds(2);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*drain_deadline_ - Clock::now()).count();
        if (left <= 0) break;
        sooner(left);
      }
      const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && errno != EINTR) throw EnvironmentError(fmt::format("poll: {}", std::strerror(errno)));
      if (ready > 0) pump_.handle(fds, 1);
      pump_.flush();
      if (ready > 0 && (fds[0].revents & POLLIN)) on_signal();
    }
    pump_.flush(true);
  }

  LaunchPlan plan_;  // a copy: a restart may move it to a new port
  const SupervisorOptions& options_;
  int restart_ = 0;
  std::string host_;
  sigset_t old_mask_{};
  int signal_fd_ = -1;
  std::vector<SupervisedRank> workers_;
  OutputPump pump_;
  bool stopping_ = false;
  bool killed_ = false;
  Clock::time_point kill_deadline_{};
  std::optional<Clock::time_point> drain_deadline_;
  std::optional<std::size_t> first_failure_;
  std::optional<int> interrupted_by_;
  int control_write_ = -1;
  std::string run_dir_;           // as the ranks reported it
  std::set<int64_t> frozen_;      // ranks found stopped when the launcher began to stop them
};

}  // namespace

int supervise(const LaunchPlan& plan, const SupervisorOptions& options) {
  return Supervisor(plan, options).run();
}

}  // namespace bolt::launch
