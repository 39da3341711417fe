#include "StopSignal.h"

#include <atomic>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {
// A signal handler can only reach static storage: this flag is the one global the requeue
// protocol needs (lock-free, so async-signal-safe).
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_stop_requested.store(true, std::memory_order_relaxed); }

int parse_signal(const std::string& name) {
  if (name == "USR1") return SIGUSR1;
  if (name == "USR2") return SIGUSR2;
  if (name == "TERM") return SIGTERM;
  if (name == "none") return 0;
  throw ConfigError(fmt::format("trainer.requeue_signal '{}' is not one of USR1, USR2, TERM, none", name));
}
}  // namespace

StopSignal::StopSignal(const std::string& name) : name_(name), signal_(parse_signal(name)) {
  g_stop_requested.store(false);
  if (signal_ == 0) return;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(signal_, &action, &previous_) != 0) {
    throw EnvironmentError(fmt::format("cannot install the SIG{} handler", name));
  }
}

StopSignal::~StopSignal() {
  if (signal_ == 0) return;
  // A rank leaving with an error ignores SIGTERM from then on (diagnosis::begin_leaving):
  // restore only a disposition that is still ours.
  struct sigaction current {};
  if (::sigaction(signal_, nullptr, &current) == 0 && current.sa_handler == on_stop_signal) {
    ::sigaction(signal_, &previous_, nullptr);
  }
}

bool StopSignal::received() const { return g_stop_requested.load(std::memory_order_relaxed); }

}  // namespace bolt
