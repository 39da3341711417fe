#pragma once
// The worker's options merged in precedence order: declared defaults < JSON config < command
// line. CLI11 parses the command line and reads the (already parsed) JSON document through a
// config formatter. Torch-free: the sections' options are declared by the caller, so the
// merge is fuzzed without libtorch or plugins.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bolt/Config.h"

namespace bolt {

struct WorkerInvocation {
  std::string stage;       // fit | validate | test (empty with --list / --print-config)
  nlohmann::json config;   // {"plugins", "model": {"name", ...}, "data": {...}, "trainer", "loggers"}
  bool print_config = false;
  bool list = false;
  std::optional<std::string> help;  // set when --help was asked: the text to print
};

// `document` is the config file's content (read_config_file; an empty object when there is
// none) and `config_file` its name (empty: none). Every declared key gets its value: the
// default, else the file's, else the command line's, coerced to its type. Throws UsageError /
// ConfigError naming the flag or key. `config` holds the sections; the caller adds plugins and
// the model and data names.
WorkerInvocation merge_config(const nlohmann::json& document, const std::string& config_file,
                              const std::map<std::string, OptionSet>& sections,
                              const std::vector<std::string>& args);

}  // namespace bolt
