#pragma once
// One way for bolt-launch and its subcommands to run a CLI11 parser: --help (and --version)
// print and report "stop here", parse errors become UsageError (exit 2) with a prefix.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bolt/Error.h"

namespace bolt::launch {

// Returns false when help or the version was printed and the program should exit 0.
inline bool parse_command_line(CLI::App& app, const std::vector<std::string>& args, const std::string& error_prefix,
                               const std::string& version = {}) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return false;
  } catch (const CLI::CallForVersion&) {
    std::cout << version << '\n';
    return false;
  } catch (const CLI::ParseError& e) {
    throw UsageError(error_prefix + e.what());
  }
  return true;
}

}  // namespace bolt::launch
