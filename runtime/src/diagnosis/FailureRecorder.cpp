#include "FailureRecorder.h"

#include <cxxabi.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <typeinfo>

#include "SignalSafeWriter.h"
#include "Symbolizer.h"

namespace bolt::diagnosis {

namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr int kMaxFrames = 64;
const int kStackRequestSignal = SIGRTMIN + 5;

// Process-wide by necessity: signal handlers can reach nothing else. Paths live in fixed
// buffers so the handler formats nothing.
struct Recorder {
  RankIdentity who;
  std::mutex mutex;  // guards run_dir (the handler reads the fixed copies below)
  std::filesystem::path run_dir;
  char errors_dir[4096] = {};
  char errors_file[4096] = {};
  char errors_temp[4096] = {};
  std::atomic<bool> has_errors_file{false};
  std::atomic<const ActivityLog*> activity{nullptr};
  ActivitySnapshot last_activity;  // of the trainer that ended (guarded by mutex)
  std::atomic<bool> reported{false};  // one record per process: the first failure's
  pid_t main_thread = 0;
  void* stack_frames[kMaxFrames] = {};
  std::atomic<int> stack_depth{-1};
  std::vector<char> alternate_stack;
};

Recorder& recorder() {
  static Recorder instance;
  return instance;
}

void on_fatal_signal(int sig, siginfo_t* info, void*) {
  auto& r = recorder();
  if (!r.reported.exchange(true) && r.has_errors_file.load()) {
    ::mkdir(r.errors_dir, 0755);  // async-signal-safe; created only when a rank fails
    const int fd = ::open(r.errors_temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
      SignalSafeWriter out(fd);
      const auto* log = r.activity.load();
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME, &now);
      out.text("{\n \"kind\": \"crash\",\n \"signal\": \"SIG").text(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
      out.text("\",\n \"fault_address\": ").number(reinterpret_cast<uintptr_t>(info ? info->si_addr : nullptr));
      out.text(",\n \"time\": ").number(now.tv_sec).text(".").padded(now.tv_nsec / 1000000, 3);
      out.text(",\n \"rank\": ").number(r.who.rank).text(",\n \"local_rank\": ").number(r.who.local_rank);
      out.text(",\n \"world_size\": ").number(r.who.world_size).text(",\n \"host\": ").quoted(r.who.host.c_str());
      out.text(",\n \"pid\": ").number(::getpid());
      out.text(",\n \"activity\": {\"stage\": ").quoted(log ? log->stage_relaxed() : "");
      out.text(", \"epoch\": ").number(log ? log->epoch_relaxed() : -1);
      out.text(", \"step\": ").number(log ? log->step_relaxed() : -1).text("}");
      out.text(",\n \"stack\": [");
      void* frames[kMaxFrames];
      const int depth = ::backtrace(frames, kMaxFrames);
      out.backtrace_lines(frames, depth);
      out.text("\n ]\n}\n");
      ::close(fd);
      ::rename(r.errors_temp, r.errors_file);
      SignalSafeWriter err(STDERR_FILENO);
      err.text("bolt-worker: error: rank ").number(r.who.rank).text(" crashed with SIG")
          .text(sigabbrev_np(sig) ? sigabbrev_np(sig) : "?").text("; its stack is in ").text(r.errors_file).text("\n");
    }
  }
  // SA_RESETHAND restored the default action: die of the same signal, as the launcher expects.
  ::raise(sig);
}

void on_terminate() {
  std::string message = "std::terminate called without an active exception";
  if (auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      message = std::string("std::terminate after an uncaught exception: ") + e.what();
    } catch (...) {
      message = "std::terminate after an uncaught exception of an unknown type";
    }
  }
  record_exception("std::terminate", message, 128 + SIGABRT);
  std::abort();
}

void on_stack_request(int) {
  auto& r = recorder();
  r.stack_depth.store(::backtrace(r.stack_frames, kMaxFrames));
}

}  // namespace

void install_failure_recorder(const RankIdentity& who) {
  auto& r = recorder();
  r.who = who;
  r.main_thread = static_cast<pid_t>(::syscall(SYS_gettid));
  // backtrace() loads libgcc on its first call, which must not happen inside a handler.
  void* warm[2];
  ::backtrace(warm, 2);
  r.alternate_stack.resize(256 * 1024);
  stack_t alternate{};
  alternate.ss_sp = r.alternate_stack.data();
  alternate.ss_size = r.alternate_stack.size();
  ::sigaltstack(&alternate, nullptr);
  struct sigaction action {};
  action.sa_sigaction = &on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : kFatalSignals) ::sigaction(sig, &action, nullptr);
  struct sigaction request {};
  request.sa_handler = &on_stack_request;
  request.sa_flags = SA_RESTART;
  sigemptyset(&request.sa_mask);
  ::sigaction(kStackRequestSignal, &request, nullptr);
  std::set_terminate(&on_terminate);
  // Plugins' child processes must not hold the supervisor's pipe open.
  if (const char* fd_text = std::getenv("BOLT_SUPERVISOR_FD")) {
    const int fd = std::atoi(fd_text);
    if (fd > 2) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
}

const RankIdentity& rank_identity() { return recorder().who; }

void watch_activity(const ActivityLog* log) { recorder().activity.store(log); }

void forget_activity(const ActivityLog& log) {
  auto& r = recorder();
  auto last = log.snapshot();
  std::lock_guard lock(r.mutex);
  r.last_activity = std::move(last);
  r.activity.store(nullptr);
}

ActivitySnapshot current_activity() {
  auto& r = recorder();
  if (const auto* log = r.activity.load()) return log->snapshot();
  std::lock_guard lock(r.mutex);
  return r.last_activity;
}

void set_run_directory(const std::filesystem::path& run_dir) {
  auto& r = recorder();
  {
    std::lock_guard lock(r.mutex);
    if (r.run_dir == run_dir) return;
    r.run_dir = run_dir;
  }
  std::error_code ec;
  // A restarted or requeued rank continues a run directory: its earlier records describe an
  // attempt that is over, and would be read as this one's.
  const auto own = "rank-" + std::to_string(r.who.rank) + ".json";
  std::filesystem::remove(run_dir / "errors" / own, ec);
  std::filesystem::remove(run_dir / "diagnosis" / own, ec);
  const auto dir = (run_dir / "errors").string();
  const auto file = (run_dir / "errors" / own).string();
  const auto temp = (run_dir / "errors" / (".rank-" + std::to_string(r.who.rank) + ".crash")).string();
  if (file.size() < sizeof r.errors_file && temp.size() < sizeof r.errors_temp) {
    r.has_errors_file.store(false);
    std::memcpy(r.errors_dir, dir.c_str(), dir.size() + 1);
    std::memcpy(r.errors_file, file.c_str(), file.size() + 1);
    std::memcpy(r.errors_temp, temp.c_str(), temp.size() + 1);
    r.has_errors_file.store(true);
  }
  if (const char* fd_text = std::getenv("BOLT_SUPERVISOR_FD")) {
    const int fd = std::atoi(fd_text);
    const std::string line = "run_dir " + run_dir.string() + "\n";
    if (fd > 2) (void)::write(fd, line.data(), line.size());
  }
}

std::filesystem::path run_directory() {
  auto& r = recorder();
  std::lock_guard lock(r.mutex);
  return r.run_dir;
}

std::filesystem::path record_exception(const std::string& type, const std::string& message, int exit_code) {
  auto& r = recorder();
  const auto dir = run_directory();
  if (dir.empty() || r.reported.exchange(true)) return {};
  auto record = make_record(type == "std::terminate" ? "crash" : "error", r.who, current_activity());
  record["error"] = {{"type", type}, {"message", message}, {"exit_code", exit_code}};
  if (type == "std::terminate") {
    void* frames[kMaxFrames];
    const int depth = ::backtrace(frames, kMaxFrames);
    record["stack"] = symbolize_frames(frames, depth);
  }
  return write_record(dir, "errors", record);
}

std::filesystem::path record_exception(const std::exception& e, const std::string& message, int exit_code) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status),
                                                   &std::free);
  return record_exception(status == 0 && name ? name.get() : typeid(e).name(), message, exit_code);
}

void begin_leaving(const std::exception& e, const std::string& message, int exit_code) {
  record_exception(e, message, exit_code);
  // Only in a rank (a bolt-worker): a process that merely links libbolt keeps its signals.
  if (recorder().main_thread == 0) return;
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) ::signal(sig, SIG_IGN);
}

std::vector<std::string> main_thread_stack(int wait_ms) {
  auto& r = recorder();
  if (r.main_thread == 0) return {};
  r.stack_depth.store(-1);
  if (::syscall(SYS_tgkill, ::getpid(), r.main_thread, kStackRequestSignal) != 0) return {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (r.stack_depth.load() < 0) {
    if (std::chrono::steady_clock::now() > deadline) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The first two frames are the request's handler and the kernel's signal trampoline.
  const int depth = r.stack_depth.load();
  return depth > 2 ? symbolize_frames(r.stack_frames + 2, depth - 2) : std::vector<std::string>{};
}

}  // namespace bolt::diagnosis
