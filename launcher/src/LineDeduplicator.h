#pragma once
// One console for N ranks: identical lines (ignoring a leading log timestamp) that several
// ranks print within a short window become one line, "[ranks 0-3] <line>", instead of four.
// Pure (times are passed in): unit-tested as tables. Each rank's own log file stays complete.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace bolt::launch {

struct ConsoleLine {
  std::vector<int64_t> ranks;
  bool is_stderr = false;
  std::string text;
};

// "[rank 2] text", "[ranks 0-3] text", "[ranks 0, 2, 5-7] text".
std::string console_text(const ConsoleLine& line);
// The text without a leading "YYYY-MM-DD HH:MM:SS,mmm " (the part that differs between ranks).
std::string dedup_key(const std::string& text);

class LineDeduplicator {
 public:
  explicit LineDeduplicator(double window_s) : window_s_(window_s) {}
  void add(int64_t rank, bool is_stderr, std::string text, double now);
  // Lines whose window has ended, in the order their first copy arrived.
  std::vector<ConsoleLine> take_due(double now);
  std::vector<ConsoleLine> take_all();
  std::optional<double> next_due() const;

 private:
  struct Group {
    ConsoleLine line;
    std::string key;
    double due = 0;
  };
  double window_s_;
  std::deque<Group> groups_;
};

}  // namespace bolt::launch
