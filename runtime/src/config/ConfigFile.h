#pragma once
// The worker's JSON config file: {"plugins": [...], "trainer": {...}, "data": {...},
// "model": {...}, "loggers": {...}, "submit": {...}}. Torch-free (fuzzed without libtorch).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt {

// The option sections a config holds, in the order --help lists them.
const std::vector<std::string>& config_sections();
// `bolt-launch submit` reads its cluster defaults from this section; the worker ignores it.
inline constexpr const char* kSubmitSection = "submit";

// Reads and checks a config file; throws ConfigError naming the file (and line/column when the
// JSON is invalid, a key given twice, the unknown section with the valid ones, a section that
// is not an object, a file that is not a regular file).
nlohmann::json read_config_file(const std::string& path);
// The same checks over text already read; `path` names it in messages.
nlohmann::json parse_config_text(const std::string& text, const std::string& path);

}  // namespace bolt
