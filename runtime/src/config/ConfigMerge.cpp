#include "ConfigMerge.h"

#include <algorithm>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ConfigFile.h"
#include "bolt/Error.h"

namespace bolt {

namespace {

// CLI11 config formatter over an already-parsed JSON document: {"section": {"key": value}}
// becomes the item "section.key" (the option --section.key); "model.name"/"data.name" and
// "plugins" become --model/--data/--plugin.
class JsonConfigFormatter : public CLI::Config {
 public:
  explicit JsonConfigFormatter(nlohmann::json document) : document_(std::move(document)) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

  std::vector<CLI::ConfigItem> from_config(std::istream&) const override {
    std::vector<CLI::ConfigItem> items;
    for (const auto& [section, body] : document_.items()) {
      if (section == "plugins") {
        items.push_back(item("plugin", body, false));
        continue;
      }
      if (section == kSubmitSection) continue;  // bolt-launch submit's, not the worker's
      for (const auto& [key, value] : body.items()) {
        if (key == "name" && (section == "model" || section == "data")) {
          items.push_back(item(section, value, true));
        } else {
          items.push_back(item(section + "." + key, value, true));
        }
      }
    }
    return items;
  }

 private:
  static std::string text(const nlohmann::json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
  }
  // A list key's array becomes one comma-separated value, as on the command line
  // (--loggers.tracker_keys loss,score); --plugin stays one value per item.
  static CLI::ConfigItem item(const std::string& name, const nlohmann::json& value, bool join_arrays) {
    CLI::ConfigItem out;
    out.name = name;
    if (value.is_array() && join_arrays) {
      std::string joined;
      for (const auto& v : value) joined += (joined.empty() ? "" : ",") + text(v);
      out.inputs.push_back(joined);
    } else if (value.is_array()) {
      for (const auto& v : value) out.inputs.push_back(text(v));
    } else {
      out.inputs.push_back(text(value));
    }
    return out;
  }
  nlohmann::json document_;
};

// "a,b" -> ["a", "b"]; "" -> [].
nlohmann::json split_list(const std::string& text) {
  nlohmann::json out = nlohmann::json::array();
  std::size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    const auto comma = text.find(',', start);
    out.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// A JSON value of the wrong kind (an array for a count, a number for a name) would otherwise
// be turned into text and pass, or lose all but one element: refused where it stands.
void check_value_types(const nlohmann::json& document, const std::map<std::string, OptionSet>& sections,
                       const std::string& file) {
  for (const auto& [section, body] : document.items()) {
    const auto options = sections.find(section);
    if (options == sections.end() || !body.is_object()) continue;
    for (const auto& [key, value] : body.items()) {
      const auto* spec = options->second.find(key);
      if (spec == nullptr) continue;  // an unknown key is reported with the valid ones later
      bool fits = false;
      switch (spec->type) {
        case OptionType::Int: fits = value.is_number_integer(); break;
        case OptionType::Float: fits = value.is_number(); break;
        case OptionType::Bool: fits = value.is_boolean(); break;
        case OptionType::String: fits = value.is_string(); break;
        case OptionType::StringList:
          fits = value.is_string() || (value.is_array() && std::all_of(value.begin(), value.end(),
                                                                       [](const auto& v) { return v.is_string(); }));
          break;
      }
      if (!fits) {
        throw ConfigError(fmt::format("config file {}: {}.{} must be {}, not {}", file, section, key,
                                      spec->type == OptionType::StringList ? "a list of strings"
                                                                           : std::string("a JSON ") + to_string(spec->type),
                                      value.dump().substr(0, 60)));
      }
    }
  }
  for (const char* section : {"model", "data", "trainer"}) {
    if (document.contains(section) && document[section].is_object() && document[section].contains("name") &&
        !document[section]["name"].is_string()) {
      throw ConfigError(fmt::format("config file {}: {}.name must be a string, not {}", file, section,
                                    document[section]["name"].dump().substr(0, 60)));
    }
  }
}

}  // namespace

WorkerInvocation merge_config(const nlohmann::json& document, const std::string& config_file,
                              const std::map<std::string, OptionSet>& sections,
                              const std::vector<std::string>& args) {
  if (!config_file.empty()) check_value_types(document, sections, config_file);
  CLI::App app{"bolt-worker: runs one rank of a Bolt fit / validate / test",
               "bolt-worker"};
  app.get_formatter()->column_width(44);
  WorkerInvocation invocation;
  std::string stage;
  app.add_option("stage", stage, "fit, validate or test")
      ->check(CLI::IsMember({"fit", "validate", "test"}));
  app.set_config("--config", "", "JSON config: {\"plugins\": [...], \"trainer\": {...}, "
                 "\"data\": {...}, \"model\": {...}, \"loggers\": {...}}");
  app.config_formatter(std::make_shared<JsonConfigFormatter>(document));
  std::vector<std::string> plugin_flags;
  std::string model_flag, data_flag;
  app.add_option("--plugin", plugin_flags, "plugin library to load (path, or name found in "
                 "BOLT_PLUGIN_PATH / lib/bolt/plugins); repeatable");
  app.add_option("--model", model_flag, "registered model to train (model.name in JSON)");
  app.add_option("--data", data_flag, "registered data module to use (data.name in JSON)");
  app.add_flag("--print-config", invocation.print_config, "print the merged config as JSON and exit");
  app.add_flag("--list", invocation.list, "list the models and data modules the plugins register");
  for (const auto& [name, options] : sections) {
    for (const auto& spec : options.specs()) {
      auto* opt = app.add_option("--" + name + "." + spec.name, spec.help);
      opt->group(name + " options");
      opt->type_name(fmt::format("<{}>", to_string(spec.type)));
      opt->default_str(spec.default_value.is_string() ? spec.default_value.get<std::string>()
                                                      : spec.default_value.dump());
      opt->expected(1);
      opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  app.allow_extras(true);
  app.allow_config_extras(CLI::config_extras_mode::capture);

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    invocation.help = app.help();
    return invocation;
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  for (const auto& extra : app.remaining()) {
    const bool from_cli = extra.rfind("-", 0) == 0;
    const auto name_start = std::min(extra.find_first_not_of('-'), extra.size());
    const auto equals = extra.find('=');
    const auto key = extra.substr(name_start, equals == std::string::npos ? std::string::npos : equals - name_start);
    const auto section = key.substr(0, key.find('.'));
    if (key.find('.') != std::string::npos && sections.count(section) != 0) {
      throw ConfigError(fmt::format("unknown {} {}; valid {} keys: {}",
                                    from_cli ? "option" : "config key", from_cli ? "--" + key : key,
                                    section, fmt::join(sections.at(section).names(), ", ")));
    }
    throw UsageError(from_cli ? fmt::format("unknown option {}; see bolt-worker --help", extra)
                              : fmt::format("unexpected argument '{}' (usage: bolt-worker "
                                            "fit|validate|test --config FILE ...)", extra));
  }

  nlohmann::json config = nlohmann::json::object();
  for (const auto& [name, options] : sections) {
    nlohmann::json values = nlohmann::json::object();
    for (const auto& spec : options.specs()) {
      const auto* opt = app.get_option("--" + name + "." + spec.name);
      if (opt->count() == 0) {
        values[spec.name] = spec.default_value;
        continue;
      }
      const auto& results = opt->results();
      nlohmann::json raw = spec.type == OptionType::StringList ? split_list(results.back())
                                                               : nlohmann::json(results.back());
      values[spec.name] = coerce_option_value(name, spec, raw);
    }
    config[name] = values;
  }

  invocation.stage = stage;
  invocation.config = std::move(config);
  if (invocation.stage.empty() && !invocation.list && !invocation.print_config) {
    throw UsageError("no stage given: bolt-worker fit|validate|test --config FILE [--section.key VALUE]...");
  }
  return invocation;
}

}  // namespace bolt
