#pragma once
// JSON from files and records a user may hand us, parsed with two limits nlohmann's parser
// does not have: a nesting depth (deep documents overflow the stack later, in dump() or a
// comparison) and, optionally, one value per key (a key given twice would silently lose its
// first value). Torch-free: the fuzz harnesses build it without libtorch.
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace bolt {

struct JsonLimits {
  int max_depth = 16;
  bool refuse_duplicate_keys = true;
  const char* expected_shape = nullptr;  // said after the depth error, e.g. {"section": {...}}
};

// Throws ConfigError "<what> is not valid JSON: ..." / "<what> nests deeper than N levels" /
// "<what>: key "k" appears twice in one object; keep one". `what` names the input ("config
// file x.json").
nlohmann::json parse_strict_json(std::istream& in, const std::string& what, JsonLimits limits = {});
nlohmann::json parse_strict_json(const std::string& text, const std::string& what, JsonLimits limits = {});

// nlohmann's message without its "[json.exception.<kind>.<id>] " prefix.
std::string json_error_text(const nlohmann::json::exception& e);

}  // namespace bolt
