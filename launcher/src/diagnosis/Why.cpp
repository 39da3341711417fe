#include "Why.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "../ParseCommandLine.h"
#include "../WorkerConfig.h"
#include "bolt/RunDirectories.h"
#include "Diagnosis.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt::launch {

namespace {

bool has_records(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "errors", ec) || fs::is_directory(dir / "diagnosis", ec);
}

// A run directory, or a run name's directory whose newest version_N is meant.
fs::path run_directory_of(const fs::path& given) {
  std::error_code ec;
  if (!fs::is_directory(given, ec)) {
    throw UsageError(fmt::format("why: {} is not a directory: give the run directory (loggers.logs_dir/"
                                 "<name>/version_N, printed as 'fit: run directory')", given.string()));
  }
  if (has_records(given)) return given;
  fs::path newest;
  long newest_version = -1;
  for (const auto& entry : fs::directory_iterator(given, ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("version_", 0) != 0 || name.size() > 20) continue;
    const auto digits = name.substr(8);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long version = std::stol(digits);
    if (version > newest_version && has_records(entry.path())) {
      newest_version = version;
      newest = entry.path();
    }
  }
  return newest.empty() ? given : newest;
}

// The run directory of the job these worker arguments describe.
fs::path run_of_job(const std::vector<std::string>& worker_args, std::string run_id) {
  const auto config = resolved_worker_config(worker_args, "why: ");
  const fs::path logs_dir = config["loggers"].value("logs_dir", std::string("logs"));
  const auto name = run_name_of(config);
  for (const char* variable : {"BOLT_RUN_ID", "SLURM_JOB_ID"}) {
    if (run_id.empty() && std::getenv(variable)) run_id = std::getenv(variable);
  }
  auto dir = run_id.empty() ? fs::path() : find_version_of_run(logs_dir, name, run_id);
  if (dir.empty()) dir = run_directory_of(logs_dir / name);
  return dir;
}

}  // namespace

int run_why(const std::vector<std::string>& args) {
  CLI::App app{"bolt-launch why: what went wrong in a run, from the records its ranks left\n"
               "(errors/rank-<r>.json: crashes and errors; diagnosis/rank-<r>.json: the hang watchdog).\n"
               "  bolt-launch why logs/mlp/version_3\n"
               "  bolt-launch why -- fit --config cfg.json [--section.key value ...]\n"
               "      the run of this job (run id: --run-id, else BOLT_RUN_ID or SLURM_JOB_ID) under the\n"
               "      config's loggers.logs_dir/<name>: what an sbatch script runs after a failed srun",
               "bolt-launch why"};
  std::string target, run_id;
  app.add_option("run_dir", target, "the run directory (or its name's directory: the newest version)");
  app.add_option("--run-id", run_id, "with -- <worker args>: the run to look for");
  const auto split = std::find(args.begin() + 1, args.end(), std::string("--"));
  const std::vector<std::string> worker_args(split == args.end() ? split : split + 1, args.end());
  if (!parse_command_line(app, {args.begin() + 1, split}, "why: ")) return 0;
  if (target.empty() == worker_args.empty()) {
    throw UsageError("why: give a run directory, or the job's worker arguments after -- (not both)");
  }
  const auto dir = target.empty() ? run_of_job(worker_args, run_id) : run_directory_of(target);
  std::vector<std::string> problems;
  const auto records = read_rank_records(dir, &problems);
  for (const auto& problem : problems) std::cerr << "bolt-launch: warning: " << problem << '\n';
  DiagnosisContext context;
  context.run_dir = dir.string();
  const auto diagnosis = diagnose(records, context);
  if (diagnosis.empty()) {
    std::cout << fmt::format("bolt-launch: no failure or hang records in {} (errors/, diagnosis/): no rank "
                             "failed, crashed or hung there, or it died before its run directory was chosen\n",
                             dir.string());
    return 1;
  }
  std::cout << format_diagnosis(diagnosis);
  return 0;
}

}  // namespace bolt::launch
