#pragma once
// Ranks as people read them: {5, 0, 2, 6, 7} -> "0, 2, 5-7".
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace bolt::launch {

inline std::string rank_ranges(std::vector<int64_t> ranks) {
  std::sort(ranks.begin(), ranks.end());
  std::string text;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!text.empty()) text += ", ";
    text += std::to_string(ranks[i]);
    if (j > i) text += "-" + std::to_string(ranks[j]);
    i = j + 1;
  }
  return text;
}

}  // namespace bolt::launch
