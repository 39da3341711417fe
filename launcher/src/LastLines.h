#pragma once
// The last `count` lines of a text file (empty when it cannot be read): a failed rank's stderr
// or log, for the summary and the diagnosis.
#include <cstddef>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bolt::launch {

inline std::vector<std::string> last_lines(const std::filesystem::path& file, std::size_t count) {
  std::ifstream in(file);
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > count) tail.pop_front();
  }
  return {tail.begin(), tail.end()};
}

}  // namespace bolt::launch
