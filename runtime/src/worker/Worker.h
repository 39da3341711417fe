#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bolt/DataModule.h"

namespace bolt {
// bolt-worker's whole life: parse, load plugins, build the components, run the stage.
// Returns the exit code; throws bolt::Error for the caller to report.
int run_worker(const std::vector<std::string>& args);

// The data module's facts (link_to_model) become model keys; a contradiction is a ConfigError.
void link_data_to_model(nlohmann::json& config, const DataModule& data);
// loggers.name may nest but never leave loggers.logs_dir.
void check_run_name(const nlohmann::json& loggers);
// `<stage> ... --check` (bolt-launch --check), with --check removed: Preflight.cpp.
int run_preflight(const std::vector<std::string>& args);
}  // namespace bolt
