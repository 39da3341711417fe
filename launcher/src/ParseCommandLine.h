#pragma once
// One way for bolt-launch and its subcommands to run a CLI11 parser: --help (and --version)
// print and report "stop here", parse errors become UsageError (exit 2) with a prefix.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"

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
  } catch (const CLI::ExtrasError&) {
    auto extras = app.remaining();
    throw UsageError(fmt::format("{}unknown argument{} {}; see {} --help", error_prefix, extras.size() == 1 ? "" : "s",
                                 fmt::join(extras, " "), app.get_name()));
  } catch (const CLI::ParseError& e) {
    throw UsageError(error_prefix + e.what());
  }
  return true;
}

// CLI11 checks worded as Bolt's errors (CLI11's own print the whole double range):
// "--nnodes: 0 is not a whole number in 1..65536".
inline CLI::Validator whole_number_in(int64_t min, int64_t max) {
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        const auto parsed = parse_integer(value);
        if (parsed && *parsed >= min && *parsed <= max) return {};
        return fmt::format("'{}' is not a whole number in {}..{}", value, min, max);
      },
      fmt::format("INT in {}..{}", min, max));
}

inline CLI::Validator seconds_in(double min, double max) {
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        char* end = nullptr;
        const double parsed = std::strtod(value.c_str(), &end);
        if (!value.empty() && end == value.c_str() + value.size() && std::isfinite(parsed) && parsed >= min &&
            parsed <= max) {
          return {};
        }
        return fmt::format("'{}' is not a number of seconds in {}..{}", value, min, max);
      },
      fmt::format("SECONDS in {}..{}", min, max));
}

}  // namespace bolt::launch
