#include "OutputPump.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <iostream>

namespace bolt::launch {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The text a redraw leaves on screen: after the last carriage return, without "erase line".
std::string last_redraw(const std::string& text) {
  auto shown = text.substr(text.rfind('\r') + 1);
  for (std::size_t at; (at = shown.find("\x1b[K")) != std::string::npos;) shown.erase(at, 3);
  return shown;
}

}  // namespace

OutputPump::OutputPump(ConsoleOptions options, ControlHandler on_control, StderrHandler on_stderr)
    : options_(std::move(options)), on_control_(std::move(on_control)), on_stderr_(std::move(on_stderr)),
      dedup_(options_.dedup_window_s) {}

OutputPump::~OutputPump() { clear(); }

void OutputPump::watch(int fd, std::size_t worker, int64_t rank, bool is_stderr) {
  streams_.push_back({fd, worker, rank, is_stderr, false, {}, {}});
}

void OutputPump::watch_control(int fd) { streams_.push_back({fd, 0, -1, false, true, {}, {}}); }

bool OutputPump::any_open() const {
  return std::any_of(streams_.begin(), streams_.end(), [](const Stream& s) { return s.fd >= 0; });
}

void OutputPump::add_pollfds(std::vector<pollfd>& fds) {
  polled_.clear();
  for (auto& s : streams_) {
    if (s.fd < 0) continue;
    fds.push_back({s.fd, POLLIN, 0});
    polled_.push_back(&s);
  }
}

void OutputPump::handle(const std::vector<pollfd>& fds, std::size_t first) {
  for (std::size_t i = 0; i < polled_.size() && first + i < fds.size(); ++i) {
    if (fds[first + i].revents & (POLLIN | POLLHUP | POLLERR)) read(*polled_[i]);
  }
  flush();
}

int OutputPump::timeout_ms() const {
  const auto due = dedup_.next_due();
  if (!due) return -1;
  return static_cast<int>(std::max(0.0, std::ceil((*due - now_s()) * 1000)));
}

void OutputPump::flush(bool all) {
  for (const auto& line : all ? dedup_.take_all() : dedup_.take_due(now_s())) print(line);
  if (all && bar_) {
    std::cout << '\n';
    bar_.reset();
  }
  std::cout.flush();
  std::cerr.flush();
}

void OutputPump::clear() {
  for (auto& s : streams_) {
    if (!s.pending.empty() && !s.is_control) line(s, std::move(s.pending));
    if (s.fd >= 0) ::close(s.fd);
  }
  flush(true);
  streams_.clear();
  polled_.clear();
}

void OutputPump::read(Stream& s) {
  char buffer[65536];
  const ssize_t n = ::read(s.fd, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    if (!s.pending.empty()) line(s, std::move(s.pending));
    s.pending.clear();
    ::close(s.fd);
    s.fd = -1;
    return;
  }
  s.pending.append(buffer, static_cast<std::size_t>(n));
  std::size_t start = 0, newline;
  while ((newline = s.pending.find('\n', start)) != std::string::npos) {
    line(s, s.pending.substr(start, newline - start));
    start = newline + 1;
  }
  s.pending.erase(0, start);
  if (options_.live_progress && !s.is_stderr && !s.is_control && s.pending.find('\r') != std::string::npos) {
    show_redraw(s);
  }
}

void OutputPump::show_redraw(Stream& s) {
  s.redrawn = last_redraw(s.pending);
  bar_ = "[rank " + std::to_string(s.rank) + "] " + s.redrawn;
  s.pending.clear();
  std::cout << '\r' << *bar_ << "\x1b[K";
  std::cout.flush();
}

void OutputPump::line(Stream& s, std::string text) {
  if (s.is_control) {
    on_control_(text);
    return;
  }
  if (!s.redrawn.empty()) {
    // The bar's line ends: its last state stays on screen as a plain line.
    if (text.empty()) text = s.redrawn;
    s.redrawn.clear();
    if (bar_) std::cout << "\r\x1b[K";
    bar_.reset();
  }
  if (text.find('\r') != std::string::npos) text = last_redraw(text);
  if (s.is_stderr) on_stderr_(s.worker, text);
  if (!options_.shown_ranks.empty() && options_.shown_ranks.count(s.rank) == 0) return;
  // Warnings and errors, which every rank tends to print, are merged; stdout (rank 0's log and
  // progress) is shown at once: a person or a script watching for a line must not wait.
  if (!s.is_stderr) {
    print({{s.rank}, false, std::move(text)});
    return;
  }
  dedup_.add(s.rank, s.is_stderr, std::move(text), now_s());
}

void OutputPump::print(const ConsoleLine& line) {
  // Lines go above the bar: clear it, print, draw it again.
  if (bar_) std::cout << "\r\x1b[K";
  auto& out = line.is_stderr ? std::cerr : std::cout;
  if (bar_ && line.is_stderr) std::cout.flush();
  out << console_text(line) << '\n';
  if (bar_) {
    out.flush();
    std::cout << *bar_;
  }
}

}  // namespace bolt::launch
