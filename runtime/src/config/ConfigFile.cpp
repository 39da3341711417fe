#include "ConfigFile.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../util/StrictJson.h"
#include "bolt/Error.h"

namespace bolt {

namespace {

// A config is {"section": {"key": value}}, a few levels deep; deeper nesting is a mistake (and
// would overflow the stack later on).
constexpr JsonLimits kConfigLimits{16, true, "{\"section\": {\"key\": value}}"};

nlohmann::json checked(nlohmann::json document, const std::string& path) {
  if (!document.is_object()) {
    throw ConfigError(fmt::format("config file {}: the top level must be an object", path));
  }
  const auto& sections = config_sections();
  for (const auto& [key, value] : document.items()) {
    if (key == "plugins") {
      if (!value.is_array() && !value.is_string()) {
        throw ConfigError(fmt::format("config file {}: \"plugins\" must be a list of plugin names or paths", path));
      }
      continue;
    }
    if (key != kSubmitSection && std::find(sections.begin(), sections.end(), key) == sections.end()) {
      throw ConfigError(fmt::format("config file {}: unknown section \"{}\"; valid: plugins, submit, {}",
                                    path, key, fmt::join(sections, ", ")));
    }
    if (!value.is_object()) {
      throw ConfigError(fmt::format("config file {}: section \"{}\" must be an object", path, key));
    }
  }
  return document;
}

}  // namespace

const std::vector<std::string>& config_sections() {
  static const std::vector<std::string> sections = {"trainer", "data", "model", "loggers"};
  return sections;
}

nlohmann::json read_config_file(const std::string& path) {
  // A FIFO or device would block the read forever; a directory reads as an I/O error.
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    throw ConfigError(fmt::format("config file {} is not a regular file ({}): give a JSON file", path,
                                  std::filesystem::is_directory(status) ? "a directory" : "a FIFO, socket or device"));
  }
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(fmt::format("config file {} {}", path,
                                  std::ifstream(path).good() ? "is not readable" : "does not exist or is not readable"));
  }
  return checked(parse_strict_json(in, "config file " + path, kConfigLimits), path);
}

nlohmann::json parse_config_text(const std::string& text, const std::string& path) {
  return checked(parse_strict_json(text, "config file " + path, kConfigLimits), path);
}

}  // namespace bolt
