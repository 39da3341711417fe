#include "WorkerCommandLine.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ConfigFile.h"
#include "bolt/Config.h"
#include "bolt/Error.h"
#include "bolt/Loggers.h"
#include "bolt/Plugin.h"
#include "bolt/Trainer.h"

namespace bolt {

namespace {

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

}  // namespace

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
  for (const auto& name : config_sections()) sections.emplace(name, OptionSet(name));
  Trainer::declare_options(sections.at("trainer"));
  registry.trainer(trainer_name).declare_options(sections.at("trainer"));
  Loggers::declare_options(sections.at("loggers"));
  DataModule::declare_base_options(sections.at("data"));
  if (!data_name.empty()) registry.data(data_name).declare_options(sections.at("data"));
  if (!model_name.empty()) registry.model(model_name).declare_options(sections.at("model"));

  auto invocation = merge_config(document, early.config.value_or(""), sections, args);
  if (invocation.help) return invocation;
  invocation.config["plugins"] = plugins;
  invocation.config["model"]["name"] = model_name;
  invocation.config["data"]["name"] = data_name;
  return invocation;
}

}  // namespace bolt
