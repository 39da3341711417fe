#pragma once
// The supervisor's output side: reads every rank's stdout and stderr pipes and the ranks'
// control pipe, splits lines, and writes one console: "[rank N]" prefixes, identical stderr
// lines of several ranks merged ("[ranks 0-3] ..."), only --log-ranks' ranks shown, and rank 0's
// live progress bar redrawn in place between other lines when the console is a terminal.
#include <poll.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "LineDeduplicator.h"

namespace bolt::launch {

struct ConsoleOptions {
  std::set<int64_t> shown_ranks;  // empty: all
  double dedup_window_s = 0.2;
  bool live_progress = false;     // stdout is a terminal: pass rank 0's redraws ("\r...") through
};

class OutputPump {
 public:
  using ControlHandler = std::function<void(const std::string& line)>;
  using StderrHandler = std::function<void(std::size_t worker, const std::string& line)>;
  OutputPump(ConsoleOptions options, ControlHandler on_control, StderrHandler on_stderr);
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  void watch(int fd, std::size_t worker, int64_t rank, bool is_stderr);
  void watch_control(int fd);
  bool any_open() const;
  // Appends a pollfd per open stream; handle() reads those that are ready (same order).
  void add_pollfds(std::vector<pollfd>& fds);
  void handle(const std::vector<pollfd>& fds, std::size_t first);
  // Milliseconds until merged lines are due (-1: none pending); flush() prints the due ones.
  int timeout_ms() const;
  void flush(bool all = false);
  // Closes every stream (a new attempt starts with new pipes).
  void clear();

 private:
  struct Stream {
    int fd = -1;
    std::size_t worker = 0;
    int64_t rank = 0;
    bool is_stderr = false;
    bool is_control = false;
    std::string pending;
    std::string redrawn;  // the last redraw shown from this stream, until its line ends
  };
  void read(Stream& s);
  void line(Stream& s, std::string text);
  void show_redraw(Stream& s);
  void print(const ConsoleLine& line);

  ConsoleOptions options_;
  ControlHandler on_control_;
  StderrHandler on_stderr_;
  LineDeduplicator dedup_;
  std::vector<Stream> streams_;
  std::vector<Stream*> polled_;
  std::optional<std::string> bar_;  // the progress bar drawn on the console's last line
};

}  // namespace bolt::launch
