#include "Worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../config/WorkerCommandLine.h"
#include "../diagnosis/FailureRecorder.h"
#include "../util/HostName.h"
#include "../plugin/PluginLoader.h"
#include "bolt/Error.h"
#include "bolt/Plugin.h"
#include "bolt/Trainer.h"
#include "bolt/TrainerOptions.h"

namespace bolt {

namespace {

void print_registry() {
  auto& registry = Registry::instance();
  auto print_keys = [](const std::string& section, const std::function<void(OptionSet&)>& declare) {
    OptionSet options(section);
    declare(options);
    for (const auto& spec : options.specs()) {
      std::cout << fmt::format("      --{}.{} <{}> (default {}): {}\n", section, spec.name,
                               to_string(spec.type), spec.default_value.dump(), spec.help);
    }
  };
  std::cout << "models:\n";
  for (const auto& entry : registry.models()) {
    std::cout << fmt::format("  {}  (plugin {})\n", entry.name, entry.plugin);
    print_keys("model", entry.declare_options);
  }
  std::cout << "data modules:\n";
  for (const auto& entry : registry.datas()) {
    std::cout << fmt::format("  {}  (plugin {})\n", entry.name, entry.plugin);
    print_keys("data", entry.declare_options);
  }
  std::cout << "trainers (trainer.name):\n";
  for (const auto& entry : registry.trainers()) {
    std::cout << fmt::format("  {}  (plugin {})\n", entry.name, entry.plugin);
    print_keys("trainer", entry.declare_options);
  }
}

// Launched without RANK/OMPI variables: the trainer.* distributed keys describe the job.
void apply_config_fallbacks(WorkerEnvironment& env, const nlohmann::json& trainer) {
  if (env.source != "default") return;
  env.world_size = trainer["world_size"].get<int64_t>();
  env.rank = trainer["rank"].get<int64_t>();
  env.local_rank = trainer["local_rank"].get<int64_t>();
  env.local_world_size = env.world_size;
  env.master_addr = trainer["master_addr"].get<std::string>();
  env.master_port = trainer["master_port"].get<int64_t>();
  if (env.rank >= env.world_size) {
    throw ConfigError(fmt::format("trainer.rank {} is not below trainer.world_size {}", env.rank,
                                  env.world_size));
  }
  if (env.world_size > 1) env.source = "config";
}

nlohmann::json to_json(const WorkerEnvironment& env) {
  return {{"rank", env.rank},           {"world_size", env.world_size},
          {"local_rank", env.local_rank}, {"local_world_size", env.local_world_size},
          {"node_rank", env.node_rank}, {"nnodes", env.nnodes},
          {"master_addr", env.master_addr}, {"master_port", env.master_port},
          {"device", env.device},       {"run_id", env.run_id},
          {"restart_count", env.restart_count}, {"source", env.source}};
}

}  // namespace

// The data module's facts (link_to_model) become model keys before the model is built. A
// value the user gave that contradicts one is an error; one left at its default is replaced.
void link_data_to_model(nlohmann::json& config, const DataModule& data) {
  const auto links = data.link_to_model();
  if (links.is_null() || links.empty()) return;
  const auto data_name = config["data"]["name"].get<std::string>();
  if (!links.is_object()) {
    throw PluginError(fmt::format("data module '{}': link_to_model() must return a JSON object", data_name));
  }
  const auto model_name = config["model"]["name"].get<std::string>();
  OptionSet model_options("model");
  Registry::instance().model(model_name).declare_options(model_options);
  for (const auto& [key, value] : links.items()) {
    const auto* spec = model_options.find(key);
    if (spec == nullptr) {
      throw PluginError(fmt::format("data module '{}' links '{}' to the model, but model '{}' declares "
                                    "no such key; its keys: {}", data_name, key, model_name,
                                    fmt::join(model_options.names(), ", ")));
    }
    const auto linked = coerce_option_value("model", *spec, value);
    const auto& current = config["model"][key];
    if (current != spec->default_value && current != linked) {
      throw ConfigError(fmt::format("model.{} is {}, but data module '{}' says {}: drop the key (the "
                                    "data sets it) or change the data", key, current.dump(), data_name,
                                    linked.dump()));
    }
    config["model"][key] = linked;
  }
}

// The run directory is <logs_dir>/<name>: a name may nest (exp/run1) but never leave logs_dir.
void check_run_name(const nlohmann::json& loggers) {
  const auto name = loggers["name"].get<std::string>();
  const std::filesystem::path path(name);
  bool climbs = false;
  for (const auto& part : path) climbs = climbs || part == "..";
  if (path.is_absolute() || climbs) {
    throw ConfigError(fmt::format("loggers.name '{}' would put the run directory outside loggers.logs_dir "
                                  "(an absolute path or a .. component): give a relative name, and the "
                                  "directory with loggers.logs_dir", name));
  }
}


int run_worker(const std::vector<std::string>& args) {
  if (const auto check = std::find(args.begin(), args.end(), "--check"); check != args.end()) {
    std::vector<std::string> rest(args.begin(), check);
    rest.insert(rest.end(), check + 1, args.end());
    return run_preflight(rest);
  }
  PluginLoader loader;
  auto invocation = parse_worker_command_line(args, loader);
  if (invocation.help) {
    std::cout << *invocation.help;
    return 0;
  }
  if (invocation.list) {
    print_registry();
    return 0;
  }

  auto& config = invocation.config;
  auto& registry = Registry::instance();
  auto datamodule = registry.data(config["data"]["name"]).create(Config("data", config["data"]));
  link_data_to_model(config, *datamodule);
  check_run_name(config["loggers"]);
  if (invocation.print_config) {
    (void)TrainerOptions::from(Config("trainer", config["trainer"]));  // its checks too (bolt-launch submit)
    std::cout << config.dump(2) << '\n';
    return 0;
  }

  auto env = WorkerEnvironment::from_process();
  apply_config_fallbacks(env, config["trainer"]);
  diagnosis::install_failure_recorder(
      {env.rank, env.local_rank, env.world_size, node_name(), static_cast<int>(::getpid())});
  config["trainer"]["distributed"] = env.world_size > 1;
  config["trainer"]["use_slurm"] = std::getenv("SLURM_JOB_ID") != nullptr;
  config["trainer"]["world_size"] = env.world_size;
  config["trainer"]["rank"] = env.rank;
  config["trainer"]["local_rank"] = env.local_rank;
  config["trainer"]["master_addr"] = env.master_addr;
  config["trainer"]["master_port"] = env.master_port;
  if (config["loggers"]["name"].get<std::string>().empty()) {
    config["loggers"]["name"] = config["model"]["name"];
  }

  const Config trainer_config("trainer", config["trainer"]);
  seed_everything(static_cast<uint64_t>(trainer_config.get_int("seed")));
  Loggers loggers(Config("loggers", config["loggers"]), env.rank);
  loggers.set_run_record(config, to_json(env));
  const auto& model_entry = registry.model(config["model"]["name"]);
  auto model = model_entry.create(Config("model", config["model"]));
  model->set_origin(fmt::format("model '{}' (plugin {})", model_entry.name, model_entry.plugin));
  auto trainer = registry.trainer(trainer_config.get_string("name"))
                     .create(trainer_config, env, loggers, *datamodule, model);
  trainer->run(parse_stage(invocation.stage));
  const bool stopped = trainer->stopped_for_requeue();
  trainer->destroy();
  return stopped ? kStoppedForRequeueExitCode : 0;
}

}  // namespace bolt
