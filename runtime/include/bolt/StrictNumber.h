#pragma once
// One strict integer parser for flags, environment variables and config values (launcher,
// slurm and runtime): the whole text must be a decimal integer that fits in 64 bits; no
// whitespace, no '+', no trailing characters, no hexadecimal. Torch-free, header-only.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bolt {

inline std::optional<int64_t> parse_integer(std::string_view text) {
  int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace bolt
