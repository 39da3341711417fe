#include "bolt/slurm/Hostlist.h"

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::slurm {

namespace {

// Slurm's own limits are far below (MaxNodeCount, 64k tasks per node): a longer expansion
// is a malformed variable, and expanding it would only exhaust memory.
constexpr std::size_t kMaxExpansion = 100000;

[[noreturn]] void malformed(const std::string& what, const std::string& text, const std::string& why) {
  throw EnvironmentError(fmt::format("malformed Slurm {} '{}': {}", what, text, why));
}

int64_t parse_number(const std::string& digits, const std::string& list) {
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
    malformed("host list", list, fmt::format("'{}' is not a number of at most 9 digits", digits));
  }
  return std::stoll(digits);
}

// "001-003,7" → {"001","002","003","7"}: zero padding follows the width of the range start.
std::vector<std::string> expand_ranges(const std::string& body, const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto comma = body.find(',', start);
    const auto item = body.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto dash = item.find('-');
    if (dash == std::string::npos) {
      parse_number(item, list);
      out.push_back(item);
    } else {
      const auto low_text = item.substr(0, dash);
      const auto high_text = item.substr(dash + 1);
      const auto low = parse_number(low_text, list), high = parse_number(high_text, list);
      if (high < low) malformed("host list", list, fmt::format("range {} runs backwards", item));
      if (static_cast<std::size_t>(high - low) >= kMaxExpansion) {
        malformed("host list", list, fmt::format("range {} names more than {} hosts", item, kMaxExpansion));
      }
      const auto width = low_text.size();
      if (out.size() + static_cast<std::size_t>(high - low) >= kMaxExpansion) {
        malformed("host list", list, fmt::format("it names more than {} hosts", kMaxExpansion));
      }
      for (auto n = low; n <= high; ++n) out.push_back(fmt::format("{:0{}d}", n, width));
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// One host expression without top-level commas, e.g. "r[1-2]n[01-02]".
std::vector<std::string> expand_one(const std::string& expr, const std::string& list) {
  std::vector<std::string> prefixes{""};
  std::size_t i = 0;
  while (i < expr.size()) {
    const auto open = expr.find('[', i);
    const auto literal = expr.substr(i, open == std::string::npos ? std::string::npos : open - i);
    if (literal.find(']') != std::string::npos) malformed("host list", list, "unbalanced ']'");
    for (auto& p : prefixes) p += literal;
    if (open == std::string::npos) break;
    const auto close = expr.find(']', open);
    if (close == std::string::npos) malformed("host list", list, "unbalanced '['");
    const auto body = expr.substr(open + 1, close - open - 1);
    if (body.find('[') != std::string::npos) malformed("host list", list, "nested '['");
    std::vector<std::string> next;
    const auto numbers = expand_ranges(body, list);
    if (prefixes.size() * numbers.size() > kMaxExpansion) {
      malformed("host list", list, fmt::format("it expands to more than {} hosts", kMaxExpansion));
    }
    for (const auto& p : prefixes) {
      for (const auto& n : numbers) next.push_back(p + n);
    }
    prefixes = std::move(next);
    i = close + 1;
    if (prefixes.size() > kMaxExpansion) {
      malformed("host list", list, fmt::format("it expands to more than {} hosts", kMaxExpansion));
    }
  }
  return prefixes;
}

}  // namespace

std::vector<std::string> expand_hostlist(const std::string& hostlist) {
  std::vector<std::string> hosts;
  if (hostlist.empty()) malformed("host list", hostlist, "it is empty");
  int depth = 0;
  std::string current;
  auto flush = [&] {
    if (current.empty()) malformed("host list", hostlist, "empty host name");
    for (auto& h : expand_one(current, hostlist)) hosts.push_back(std::move(h));
    if (hosts.size() > kMaxExpansion) malformed("host list", hostlist, fmt::format("it names more than {} hosts", kMaxExpansion));
    current.clear();
  };
  for (char c : hostlist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth < 0 || depth > 1) malformed("host list", hostlist, "unbalanced brackets");
    if (c == ',' && depth == 0) {
      flush();
    } else if (c == ' ') {
      malformed("host list", hostlist, "spaces are not allowed");
    } else {
      current += c;
    }
  }
  if (depth != 0) malformed("host list", hostlist, "unbalanced '['");
  flush();
  return hosts;
}

std::vector<int64_t> expand_tasks_per_node(const std::string& counts) {
  std::vector<int64_t> out;
  if (counts.empty()) malformed("tasks-per-node list", counts, "it is empty");
  std::size_t start = 0;
  while (true) {
    const auto comma = counts.find(',', start);
    const auto item = counts.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto paren = item.find("(x");
    const auto count_text = item.substr(0, paren);
    int64_t repeat = 1;
    if (paren != std::string::npos) {
      if (item.back() != ')') malformed("tasks-per-node list", counts, fmt::format("'{}' lacks ')'", item));
      const auto times = item.substr(paren + 2, item.size() - paren - 3);
      if (times.empty() || times.size() > 9 || times.find_first_not_of("0123456789") != std::string::npos) {
        malformed("tasks-per-node list", counts, fmt::format("'{}' has no repeat count of at most 9 digits", item));
      }
      repeat = std::stoll(times);
      if (repeat == 0) malformed("tasks-per-node list", counts, fmt::format("'{}' repeats a count zero times", item));
    }
    // Every item counts, a plain one too: "1,2(x99999),3" is over the bound as well.
    if (out.size() + static_cast<std::size_t>(repeat) > kMaxExpansion) {
      malformed("tasks-per-node list", counts, fmt::format("it names more than {} nodes", kMaxExpansion));
    }
    if (count_text.empty() || count_text.size() > 9 || count_text.find_first_not_of("0123456789") != std::string::npos) {
      malformed("tasks-per-node list", counts, fmt::format("'{}' is not a count of at most 9 digits", item));
    }
    const auto count = std::stoll(count_text);
    if (count == 0) malformed("tasks-per-node list", counts, fmt::format("'{}' gives a node no tasks", item));
    for (int64_t r = 0; r < repeat; ++r) out.push_back(count);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace bolt::slurm
