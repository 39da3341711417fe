#pragma once
// bolt-worker's command line: `<stage> [--config FILE] [--plugin P]... [--model M] [--data D]
// [--<section>.<key> VALUE]...`. CLI11 parses it, reading the JSON file through a config
// formatter, so the precedence is declared defaults < JSON file < command line.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../plugin/PluginLoader.h"

namespace bolt {

struct WorkerInvocation {
  std::string stage;       // fit | validate | test (empty with --list / --print-config)
  nlohmann::json config;   // {"plugins", "model": {"name", ...}, "data": {...}, "trainer", "loggers"}
  bool print_config = false;
  bool list = false;
  std::optional<std::string> help;  // set when --help was asked: the text to print
};

// Reads a JSON config file; throws ConfigError naming the file (and line/column when the
// JSON is invalid, or the unknown section with the valid ones).
nlohmann::json read_config_file(const std::string& path);

// Loads the plugins named on the command line and in the config file into `loader`.
WorkerInvocation parse_worker_command_line(const std::vector<std::string>& args,
                                           PluginLoader& loader);

}  // namespace bolt
