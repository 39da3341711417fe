#include "LineDeduplicator.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "RankRanges.h"

namespace bolt::launch {

std::string console_text(const ConsoleLine& line) {
  return fmt::format("[rank{} {}] {}", line.ranks.size() == 1 ? "" : "s", rank_ranges(line.ranks), line.text);
}

std::string dedup_key(const std::string& text) {
  // "2026-11-27 23:05:16,406 " (spdlog and Python logging's default asctime)
  static constexpr const char* kShape = "dddd-dd-dd dd:dd:dd";
  const std::size_t n = std::char_traits<char>::length(kShape);
  if (text.size() <= n) return text;
  for (std::size_t i = 0; i < n; ++i) {
    const bool digit = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return text;
  }
  std::size_t end = n;
  if (end < text.size() && (text[end] == ',' || text[end] == '.')) {
    ++end;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  }
  return text.substr(end);
}

void LineDeduplicator::add(int64_t rank, bool is_stderr, std::string text, double now) {
  auto key = dedup_key(text);
  for (auto& group : groups_) {
    auto& ranks = group.line.ranks;
    if (group.key == key && group.line.is_stderr == is_stderr && now < group.due &&
        std::find(ranks.begin(), ranks.end(), rank) == ranks.end()) {
      ranks.push_back(rank);
      return;
    }
  }
  groups_.push_back({ConsoleLine{{rank}, is_stderr, std::move(text)}, std::move(key), now + window_s_});
}

std::vector<ConsoleLine> LineDeduplicator::take_due(double now) {
  std::vector<ConsoleLine> due;
  while (!groups_.empty() && groups_.front().due <= now) {
    due.push_back(std::move(groups_.front().line));
    groups_.pop_front();
  }
  return due;
}

std::vector<ConsoleLine> LineDeduplicator::take_all() {
  std::vector<ConsoleLine> all;
  for (auto& group : groups_) all.push_back(std::move(group.line));
  groups_.clear();
  return all;
}

std::optional<double> LineDeduplicator::next_due() const {
  if (groups_.empty()) return std::nullopt;
  return groups_.front().due;
}

}  // namespace bolt::launch
