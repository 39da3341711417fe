#pragma once
// bolt-worker's command line: `<stage> [--config FILE] [--plugin P]... [--model M] [--data D]
// [--<section>.<key> VALUE]...`: loads the plugins it names, declares the options of the
// chosen trainer, data module and model, and merges them (ConfigMerge).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../plugin/PluginLoader.h"
#include "ConfigFile.h"
#include "ConfigMerge.h"

namespace bolt {

// Loads the plugins named on the command line and in the config file into `loader`.
WorkerInvocation parse_worker_command_line(const std::vector<std::string>& args,
                                           PluginLoader& loader);

}  // namespace bolt
