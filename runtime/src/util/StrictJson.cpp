#include "StrictJson.h"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {

template <class Input>
nlohmann::json parse(Input&& input, const std::string& what, JsonLimits limits) {
  std::vector<std::set<std::string>> keys_of_open_objects;
  using Event = nlohmann::json::parse_event_t;
  auto callback = [&](int depth, Event event, nlohmann::json& parsed) {
    if (depth > limits.max_depth) {
      throw ConfigError(fmt::format("{} nests deeper than {} levels{}{}", what, limits.max_depth,
                                    limits.expected_shape ? ": expected " : "",
                                    limits.expected_shape ? limits.expected_shape : ""));
    }
    if (!limits.refuse_duplicate_keys) return true;
    if (event == Event::object_start) keys_of_open_objects.emplace_back();
    if (event == Event::object_end) keys_of_open_objects.pop_back();
    if (event == Event::key && !keys_of_open_objects.back().insert(parsed.get<std::string>()).second) {
      throw ConfigError(fmt::format("{}: key \"{}\" appears twice in one object; keep one", what,
                                    parsed.get<std::string>()));
    }
    return true;
  };
  try {
    return nlohmann::json::parse(std::forward<Input>(input), callback);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(fmt::format("{} is not valid JSON: {}", what, json_error_text(e)));
  }
}

}  // namespace

std::string json_error_text(const nlohmann::json::exception& e) {
  // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." → what follows "] ".
  const std::string text = e.what();
  const auto prefix_end = text.find("] ");
  return prefix_end == std::string::npos ? text : text.substr(prefix_end + 2);
}

nlohmann::json parse_strict_json(std::istream& in, const std::string& what, JsonLimits limits) {
  return parse(in, what, limits);
}

nlohmann::json parse_strict_json(const std::string& text, const std::string& what, JsonLimits limits) {
  return parse(text, what, limits);
}

}  // namespace bolt
