#include "WorkerConfig.h"

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/launch/Launcher.h"
#include "util/Subprocess.h"

namespace bolt::launch {

nlohmann::json resolved_worker_config(const std::vector<std::string>& worker_args, const std::string& prefix) {
  std::vector<std::string> args{default_worker_path()};
  args.insert(args.end(), worker_args.begin(), worker_args.end());
  args.push_back("--print-config");
  const auto result = run_subprocess(args, StderrTo::Errors);
  if (!result.ok()) {
    auto text = result.errors.empty() ? describe_failure(args, result) : result.errors;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    text = text.substr(text.rfind('\n') + 1);  // the worker's error is its last line
    const std::string worker_prefix = "bolt-worker: error: ";
    if (text.rfind(worker_prefix, 0) == 0) text = text.substr(worker_prefix.size());
    const auto message = prefix + text;
    if (result.exit_code == UsageError::kExitCode) throw UsageError(message);
    throw Error(message);
  }
  auto config = nlohmann::json::parse(result.output, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) throw Error(prefix + "bolt-worker --print-config did not print a JSON object");
  return config;
}

std::string run_name_of(const nlohmann::json& config) {
  const auto name = config["loggers"].value("name", std::string());
  return name.empty() ? config["model"]["name"].get<std::string>() : name;
}

}  // namespace bolt::launch
