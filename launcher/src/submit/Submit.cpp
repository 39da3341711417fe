// `bolt-launch submit`: validate the job with the worker itself, write the script(s), the config
// copy and the sweep's points beside them, submit with sbatch and record what was submitted.
#include "Submit.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "SbatchScript.h"
#include "SignalLeadCheck.h"
#include "SlurmQueries.h"
#include "SubmitRecord.h"
#include "../WorkerConfig.h"
#include "Sweep.h"
#include "bolt/Error.h"
#include "bolt/launch/Launcher.h"
#include "util/Subprocess.h"

namespace fs = std::filesystem;

namespace bolt::launch {

namespace {

// Plugins named by a path that exists here are made absolute: the job may start elsewhere.
void absolutize_plugins(nlohmann::json& config) {
  for (auto& plugin : config["plugins"]) {
    std::error_code ec;
    const auto path = plugin.get<std::string>();
    if (path.find('/') != std::string::npos && fs::exists(path, ec)) plugin = fs::absolute(path).lexically_normal().string();
  }
}

// Each sweep point's config: the resolved base with that point's values, each value as the
// worker coerces it (one --print-config per axis value, not per point).
std::vector<nlohmann::json> point_configs(const SubmitOptions& o, const nlohmann::json& base,
                                          const std::vector<SweepPoint>& points) {
  std::map<std::pair<std::string, std::string>, nlohmann::json> coerced;
  for (const auto& axis : o.sweep) {
    const auto section = axis.key.substr(0, axis.key.find('.'));
    const auto key = axis.key.substr(axis.key.find('.') + 1);
    if (key == "name" || !base.contains(section) || !base[section].is_object()) {
      throw UsageError(fmt::format("--sweep {}: sweep a key of a section (model, data, trainer, loggers), "
                                   "not a name; submit one job per model or data module", axis.key));
    }
    for (const auto& value : axis.values) {
      auto args = o.worker_args;
      args.insert(args.end(), {"--" + axis.key, value});
      const auto config = resolved_worker_config(args, fmt::format("submit: nothing submitted: --sweep {}={}: ", axis.key, value));
      coerced[{axis.key, value}] = config[section][key];
    }
  }
  std::vector<nlohmann::json> out;
  const auto base_name = run_name_of(base);
  for (const auto& point : points) {
    auto config = base;
    for (const auto& [key, value] : point.overrides) {
      config[key.substr(0, key.find('.'))][key.substr(key.find('.') + 1)] = coerced.at({key, value});
    }
    config["loggers"]["name"] = base_name + "-" + point.name_suffix;
    out.push_back(std::move(config));
  }
  return out;
}

std::string job_name_for(const SubmitOptions& o, const std::string& run_name) {
  if (!o.job_name.empty()) return o.job_name;
  return name_safe("bolt-" + run_name, 64);
}

// <logs_dir>/submit/<job name>-<time>[-k], created here and by nobody else (mkdir is exclusive).
fs::path create_submit_dir(const SubmitOptions& o, const fs::path& logs_dir, const std::string& job_name) {
  fs::path base = o.submit_dir.empty() ? fs::path() : fs::absolute(o.submit_dir);
  if (base.empty()) {
    char stamp[32];
    const auto now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    // The job name may hold anything a directive can; the directory name need not.
    base = logs_dir / "submit" / fmt::format("{}-{}", name_safe(job_name, 64), stamp);
  }
  std::error_code ec;
  fs::create_directories(base.parent_path(), ec);
  for (int k = 1; k < 1000; ++k) {
    const auto dir = k == 1 ? base : fs::path(fmt::format("{}-{}", base.string(), k));
    if (::mkdir(dir.c_str(), 0755) == 0) return dir;
    if (errno != EEXIST) break;
    if (!o.submit_dir.empty()) throw UsageError(fmt::format("--submit-dir {} exists: give a new directory", dir.string()));
  }
  throw EnvironmentError(fmt::format("cannot create a submit directory at {}: {}", base.string(), std::strerror(errno)));
}

std::size_t max_array_size() {
  const auto result = run_subprocess({"scontrol", "show", "config"});
  if (const auto size = result.ok() ? parse_max_array_size(result.output) : std::nullopt; size && *size > 0) return *size;
  std::cerr << "bolt-launch submit: note: could not read MaxArraySize from `scontrol show config`; "
               "assuming Slurm's default 1001\n";
  return 1001;
}


// Writes the config(s) and script(s) into `dir`, submits each array slice after the previous
// one (afterany: a sweep never runs more than --max-parallel tasks at once) and records it all
// in manifest.json. A failure before the first job was accepted removes `dir` again.
int submit_in(const fs::path& dir, ScriptSpec spec, const nlohmann::json& config,
              const std::vector<nlohmann::json>& configs, const std::vector<SweepPoint>& points,
              const std::vector<std::pair<std::size_t, std::size_t>>& slices, const fs::path& logs_dir,
              const std::string& run_name) {
  nlohmann::json manifest = {{"created", std::time(nullptr)}, {"workdir", spec.workdir}, {"stage", spec.stage},
                             {"logs_dir", logs_dir.string()}, {"run_name", run_name},
                             {"monitor", config["trainer"].value("monitor", "score")},
                             {"monitor_mode", config["trainer"].value("monitor_mode", "auto")},
                             {"jobs", nlohmann::json::array()}, {"points", nlohmann::json::array()}};
  spec.submit_dir = dir.string();
  std::vector<std::pair<fs::path, std::optional<std::pair<std::size_t, std::size_t>>>> scripts;
  try {
    write_json_file(dir / "config.json", config);
    if (!configs.empty()) fs::create_directory(dir / "points");
    for (std::size_t i = 0; i < configs.size(); ++i) {
      write_json_file(dir / "points" / fmt::format("{}.json", i), configs[i]);
      nlohmann::json overrides = nlohmann::json::array();  // pairs: the axes' order
      for (const auto& [key, value] : points[i].overrides) overrides.push_back({key, value});
      manifest["points"].push_back({{"index", i}, {"overrides", overrides},
                                    {"run_name", configs[i]["loggers"]["name"]}});
    }
    if (slices.empty()) scripts.emplace_back(dir / "job.sbatch", std::nullopt);
    for (std::size_t k = 0; k < slices.size(); ++k) scripts.emplace_back(dir / fmt::format("array-{}.sbatch", k), slices[k]);
    for (const auto& [path, slice] : scripts) {
      spec.array_slice = slice;
      write_text_file(path, sbatch_script(spec));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  std::string previous;
  for (const auto& [path, slice] : scripts) {
    std::vector<std::string> command{"sbatch", "--parsable"};
    if (!previous.empty()) command.push_back("--dependency=afterany:" + previous);
    command.push_back(path.string());
    const auto result = run_subprocess(command, StderrTo::Errors);
    if (!result.ok()) {
      auto why = result.errors.empty() ? describe_failure(command, result) : result.errors;
      while (!why.empty() && why.back() == '\n') why.pop_back();
      if (previous.empty()) {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
      throw EnvironmentError(fmt::format("submit: sbatch refused {}: {}{}", path.string(), why,
                                         previous.empty() ? "" : fmt::format(" (earlier arrays were submitted; see {})", dir.string())));
    }
    previous = parse_sbatch_job_id(result.output);
    const auto output = slice ? fmt::format("{}/slurm-{}_<task>.out", dir.string(), previous)
                              : fmt::format("{}/slurm-{}.out", dir.string(), previous);
    manifest["jobs"].push_back({{"job_id", previous}, {"script", path.string()}, {"output", output},
                                {"first_point", slice ? slice->first : 0}, {"count", slice ? slice->second : 1}});
    write_json_file(dir / kManifestFile, manifest);
    if (slice) {
      std::cout << fmt::format("submitted job array {} (points {}-{} of {}{}): script {}, output {}\n", previous,
                               slice->first, slice->first + slice->second - 1, points.size(),
                               scripts.size() > 1 && slice->first > 0 ? ", starts after the previous array" : "",
                               path.string(), output);
    } else {
      std::cout << fmt::format("submitted job {}: script {}, output {}\n", previous, path.string(), output);
    }
  }
  std::cout << fmt::format("progress: bolt-launch status {}\n", dir.string());
  return 0;
}

}  // namespace

int run_submit(const std::vector<std::string>& args) {
  auto parsed = parse_submit_options(args);
  if (!parsed) return 0;
  const SubmitOptions& o = *parsed;
  const auto& stage = o.worker_args.front();
  if (stage != "fit" && stage != "validate" && stage != "test") {
    throw UsageError(fmt::format("submit: the worker's arguments start with the stage (fit, validate or test), "
                                 "not '{}': bolt-launch submit ... -- fit --config cfg.json", stage));
  }
  auto config = resolved_worker_config(o.worker_args, "submit: nothing submitted: ");
  absolutize_plugins(config);
  const auto points = expand_grid(o.sweep);
  std::vector<nlohmann::json> configs = points.empty() ? std::vector<nlohmann::json>{} : point_configs(o, config, points);
  for (auto& c : configs) absolutize_plugins(c);

  const auto run_name = run_name_of(config);
  const fs::path logs_dir = fs::absolute(config["loggers"]["logs_dir"].get<std::string>()).lexically_normal();
  const auto job_name = job_name_for(o, run_name);
  std::vector<std::string> run_names{run_name};
  for (const auto& c : configs) run_names.push_back(c["loggers"]["name"].get<std::string>());
  check_signal_lead(o.signal_lead_s, logs_dir, run_names);

  ScriptSpec spec{o, job_name, launcher_path(), stage, fs::current_path().string(), {}, std::nullopt};
  const auto slices = points.empty() ? std::vector<std::pair<std::size_t, std::size_t>>{}
                                     : split_into_arrays(points.size(), max_array_size());
  if (o.dry_run) {
    spec.submit_dir = (logs_dir / "submit" / (job_name + "-<time>")).string();
    if (slices.empty()) std::cout << sbatch_script(spec);
    for (const auto& slice : slices) {
      spec.array_slice = slice;
      std::cout << sbatch_script(spec);
    }
    return 0;
  }
  const auto dir = create_submit_dir(o, logs_dir, job_name);
  return submit_in(dir, spec, config, configs, points, slices, logs_dir, run_name);
}

}  // namespace bolt::launch
