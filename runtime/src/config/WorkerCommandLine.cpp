#include "WorkerCommandLine.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bolt/Config.h"
#include "bolt/Error.h"
#include "bolt/Loggers.h"
#include "bolt/Plugin.h"
#include "bolt/Trainer.h"

namespace bolt {

namespace {

const std::vector<std::string> kSections = {"trainer", "data", "model", "loggers"};
// `bolt-launch submit` reads its cluster defaults from this section; the worker ignores it.
constexpr const char* kSubmitSection = "submit";

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

struct EarlyArgs {
  std::optional<std::string> config;
  std::vector<std::string> plugins;
  std::optional<std::string> model, data, trainer;
  bool help = false, list = false;
};

// The few flags needed before the full parser can be built (it depends on the plugins).
EarlyArgs scan_early(const std::vector<std::string>& args) {
  EarlyArgs early;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    auto value_of = [&](const std::string& flag) -> std::optional<std::string> {
      if (arg == flag) {
        if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value", flag));
        return args[++i];
      }
      if (arg.rfind(flag + "=", 0) == 0) return arg.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (arg == "-h" || arg == "--help") early.help = true;
    else if (arg == "--list") early.list = true;
    else if (auto v = value_of("--config")) early.config = v;
    else if (auto v = value_of("--plugin")) early.plugins.push_back(*v);
    else if (auto v = value_of("--model")) early.model = v;
    else if (auto v = value_of("--data")) early.data = v;
    else if (auto v = value_of("--trainer.name")) early.trainer = v;
  }
  return early;
}

// The plugins' own classes (not Bolt's built-ins): one of them is picked when none is named.
template <class Entry>
std::vector<std::string> plugin_names(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& entry : entries) {
    if (entry.plugin != "bolt") out.push_back(entry.name);
  }
  return out;
}

std::string choose(const std::optional<std::string>& given, const nlohmann::json& document,
                   const std::string& section, const std::vector<std::string>& registered,
                   const char* kind, const char* flag, bool required) {
  if (given) return *given;
  if (document.contains(section) && document[section].contains("name")) {
    const auto& name = document[section]["name"];
    if (!name.is_string()) throw ConfigError(fmt::format("{}.name: expected string", section));
    return name.get<std::string>();
  }
  if (registered.size() == 1) return registered.front();
  if (!required) return {};
  if (registered.empty()) {
    throw UsageError(fmt::format("no {} chosen: load a plugin with --plugin PATH.so (or \"plugins\" in the "
                                 "config), or name a built-in one with {} NAME (see --list)", kind, flag));
  }
  throw UsageError(fmt::format("several {}s registered ({}): choose one with {} NAME or "
                               "\"{}\": {{\"name\": ...}}", kind, fmt::join(registered, ", "), flag, section));
}

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
  nlohmann::json document;
  try {
    // A config is a few levels deep; a deeply nested one would overflow the stack later on.
    // A key given twice would silently lose its first value: refused, as a typo would be.
    constexpr int kMaxDepth = 16;
    std::vector<std::set<std::string>> keys_of_open_objects;
    using Event = nlohmann::json::parse_event_t;
    document = nlohmann::json::parse(in, [&](int depth, Event event, nlohmann::json& parsed) {
      if (depth > kMaxDepth) {
        throw ConfigError(fmt::format("config file {} nests deeper than {} levels: a config is "
                                      "{{\"section\": {{\"key\": value}}}}", path, kMaxDepth));
      }
      if (event == Event::object_start) keys_of_open_objects.emplace_back();
      if (event == Event::object_end) keys_of_open_objects.pop_back();
      if (event == Event::key && !keys_of_open_objects.back().insert(parsed.get<std::string>()).second) {
        throw ConfigError(fmt::format("config file {}: key \"{}\" appears twice in one object; keep one",
                                      path, parsed.get<std::string>()));
      }
      return true;
    });
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    const auto colon = what.find("] ");
    throw ConfigError(fmt::format("config file {} is not valid JSON: {}", path,
                                  colon == std::string::npos ? what : what.substr(colon + 2)));
  }
  if (!document.is_object()) {
    throw ConfigError(fmt::format("config file {}: the top level must be an object", path));
  }
  for (const auto& [key, value] : document.items()) {
    if (key == "plugins") {
      if (!value.is_array() && !value.is_string()) {
        throw ConfigError(fmt::format("config file {}: \"plugins\" must be a list of plugin names or paths", path));
      }
      continue;
    }
    if (key != kSubmitSection && std::find(kSections.begin(), kSections.end(), key) == kSections.end()) {
      throw ConfigError(fmt::format("config file {}: unknown section \"{}\"; valid: plugins, submit, {}",
                                    path, key, fmt::join(kSections, ", ")));
    }
    if (!value.is_object()) {
      throw ConfigError(fmt::format("config file {}: section \"{}\" must be an object", path, key));
    }
  }
  return document;
}

WorkerInvocation parse_worker_command_line(const std::vector<std::string>& args,
                                           PluginLoader& loader) {
  const EarlyArgs early = scan_early(args);
  nlohmann::json document = nlohmann::json::object();
  if (early.config) document = read_config_file(*early.config);

  std::vector<std::string> plugins;
  if (document.contains("plugins")) {
    const auto& p = document["plugins"];
    if (p.is_string()) {
      plugins.push_back(p.get<std::string>());
    } else {
      for (const auto& item : p) {
        if (!item.is_string()) throw ConfigError("\"plugins\" must be a list of strings");
        plugins.push_back(item.get<std::string>());
      }
    }
  }
  plugins.insert(plugins.end(), early.plugins.begin(), early.plugins.end());
  for (const auto& plugin : plugins) loader.load(plugin);

  auto& registry = Registry::instance();
  const bool need_names = !early.help && !early.list;
  const auto model_name = choose(early.model, document, "model", plugin_names(registry.models()), "model",
                                 "--model", need_names);
  const auto data_name = choose(early.data, document, "data", plugin_names(registry.datas()),
                                "data module", "--data", need_names);

  std::string trainer_name = "default";
  if (early.trainer) {
    trainer_name = *early.trainer;
  } else if (document.contains("trainer") && document["trainer"].contains("name")) {
    const auto& name = document["trainer"]["name"];
    if (!name.is_string()) throw ConfigError("trainer.name: expected string");
    trainer_name = name.get<std::string>();
  }

  std::map<std::string, OptionSet> sections;
  for (const auto& name : kSections) sections.emplace(name, OptionSet(name));
  Trainer::declare_options(sections.at("trainer"));
  registry.trainer(trainer_name).declare_options(sections.at("trainer"));
  Loggers::declare_options(sections.at("loggers"));
  DataModule::declare_base_options(sections.at("data"));
  if (!data_name.empty()) registry.data(data_name).declare_options(sections.at("data"));
  if (!model_name.empty()) registry.model(model_name).declare_options(sections.at("model"));

  if (early.config) check_value_types(document, sections, *early.config);

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
    const auto key = extra.substr(extra.find_first_not_of('-'), extra.find('=') - extra.find_first_not_of('-'));
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
  config["plugins"] = plugins;
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
  config["model"]["name"] = model_name;
  config["data"]["name"] = data_name;

  invocation.stage = stage;
  invocation.config = std::move(config);
  if (invocation.stage.empty() && !invocation.list && !invocation.print_config) {
    throw UsageError("no stage given: bolt-worker fit|validate|test --config FILE [--section.key VALUE]...");
  }
  return invocation;
}

}  // namespace bolt
