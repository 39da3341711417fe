#pragma once
// Options a component declares (the seed's add_argparse_args) and the resolved values it
// receives. A section is one of "trainer", "data", "model", "loggers"; its keys appear as
// `--<section>.<key>` on the command line and as `{"<section>": {"<key>": ...}}` in JSON.
#include "bolt/Export.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt {

enum class OptionType { Int, Float, Bool, String, StringList };

const char* to_string(OptionType type);

struct BOLT_API OptionSpec {
  std::string name;
  OptionType type;
  nlohmann::json default_value;
  std::string help;
  std::optional<double> min;         // inclusive lower bound for numbers
  std::vector<std::string> choices;  // allowed values for strings (empty: any)
};

class BOLT_API OptionSet {
 public:
  explicit OptionSet(std::string section);

  OptionSet& add_int(const std::string& name, int64_t default_value, const std::string& help,
                     std::optional<int64_t> min = std::nullopt);
  OptionSet& add_float(const std::string& name, double default_value, const std::string& help,
                       std::optional<double> min = std::nullopt);
  OptionSet& add_bool(const std::string& name, bool default_value, const std::string& help);
  OptionSet& add_string(const std::string& name, const std::string& default_value,
                        const std::string& help, std::vector<std::string> choices = {});
  OptionSet& add_string_list(const std::string& name, std::vector<std::string> default_value,
                             const std::string& help);

  const std::string& section() const { return section_; }
  const std::vector<OptionSpec>& specs() const { return specs_; }
  const OptionSpec* find(const std::string& name) const;
  std::vector<std::string> names() const;
  nlohmann::json defaults() const;

 private:
  OptionSpec& add(OptionSpec spec);
  std::string section_;
  std::vector<OptionSpec> specs_;
};

// Converts a JSON value (from a file) or a string (from the command line) into the option's
// type, checking bounds and choices. Throws ConfigError naming "<section>.<key>".
nlohmann::json coerce_option_value(const std::string& section, const OptionSpec& spec,
                                   const nlohmann::json& value);

// Read-only view of one section's resolved values.
class BOLT_API Config {
 public:
  Config() = default;
  Config(std::string section, nlohmann::json values);

  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;
  bool contains(const std::string& key) const;

  const std::string& section() const { return section_; }
  const nlohmann::json& json() const { return values_; }

 private:
  const nlohmann::json& at(const std::string& key) const;
  std::string section_;
  nlohmann::json values_ = nlohmann::json::object();
};

}  // namespace bolt
