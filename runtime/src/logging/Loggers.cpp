#include "bolt/Loggers.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include "bolt/EventWriter.h"
#include "ProgressBar.h"
#include "PythonLogFormatter.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

namespace {
// A terminal, or the console of a supervising bolt-launch that is one (its pipes pass the
// progress bar's redraws through).
bool console_is_terminal() {
  const char* launcher_tty = std::getenv("BOLT_CONSOLE_TTY");
  return ::isatty(STDOUT_FILENO) == 1 || (launcher_tty && std::string(launcher_tty) == "1");
}
}  // namespace

void Loggers::declare_options(OptionSet& options) {
  options.add_string("logs_dir", "logs", "root of the run directories <logs_dir>/<name>/version_<n>")
      .add_string("name", "", "run name (default: the model's name)")
      .add_string("loggerfmt", "%(asctime)s | %(levelname)-5s | %(name)s - %(message)s",
                  "Python logging format of every log line")
      .add_string("datefmt", "", "strftime format of %(asctime)s (default: Python's)")
      .add_string_list("tracker_keys", {}, "step outputs reduced per epoch (default: all the steps report)")
      .add_string("tracker_reduction", "mean", "how step outputs reduce per epoch", {"mean", "sum"})
      .add_bool("progress", true, "show training progress on rank 0 (live on a terminal, every 10 % otherwise)")
      .add_bool("tensorboard", true, "write TensorBoard scalars (events.out.tfevents.*) into the run directory")
      .add_string("level", "info", "lowest level logged",
                  {"trace", "debug", "info", "warning", "error"});
}

Loggers::Loggers(const Config& config, int64_t rank) : config_(config), rank_(rank) {
  if (rank_ == 0) {
    auto console = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    console->set_formatter(std::make_unique<PythonLogFormatter>(config_.get_string("loggerfmt"),
                                                                config_.get_string("datefmt")));
    sinks_.push_back(console);
  }
  // The file joins this sink when the run directory opens: loggers made before then (and
  // plugin loggers cloned from "bolt") write there too. Until then a ring buffer keeps what
  // was logged (rendezvous, data set-up), and the file starts with it.
  early_lines_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(kEarlyLines);
  early_lines_->set_formatter(std::make_unique<PythonLogFormatter>(config_.get_string("loggerfmt"),
                                                                   config_.get_string("datefmt")));
  auto files = std::make_shared<spdlog::sinks::dist_sink_mt>();
  files->add_sink(early_lines_);
  sinks_.push_back(files);
  root_logger();
}

Loggers::~Loggers() {
  for (auto& logger : loggers_) logger->flush();
  // Plugin loggers cloned from "bolt" go with it.
  std::vector<std::string> names;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& logger) {
    if (logger->name() == "bolt" || logger->name().rfind("bolt.", 0) == 0) names.push_back(logger->name());
  });
  for (const auto& name : names) spdlog::drop(name);
}

std::shared_ptr<spdlog::logger> Loggers::make_logger(const std::string& name) {
  for (auto& logger : loggers_) {
    if (logger->name() == name) return logger;
  }
  auto logger = std::make_shared<spdlog::logger>(name, sinks_.begin(), sinks_.end());
  auto level = config_.get_string("level");
  logger->set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
  logger->flush_on(spdlog::level::warn);
  loggers_.push_back(logger);
  spdlog::drop(name);
  spdlog::register_logger(logger);
  return logger;
}

std::shared_ptr<spdlog::logger> get_logger(const std::string& name) {
  const auto full = "bolt." + name;
  if (auto logger = spdlog::get(full)) return logger;
  auto root = spdlog::get("bolt");
  if (!root) return std::make_shared<spdlog::logger>(full);  // no sinks: drops everything
  auto logger = root->clone(full);
  spdlog::register_logger(logger);
  return logger;
}

std::shared_ptr<spdlog::logger> Loggers::root_logger() { return make_logger("bolt"); }

std::shared_ptr<spdlog::logger> Loggers::child_logger(const std::string& name) {
  return make_logger("bolt." + name);
}

ProgressBar Loggers::configure_progressbar() const {
  return ProgressBar(rank_ == 0 && config_.get_bool("progress"), console_is_terminal(), stdout);
}

Tracker Loggers::configure_tracker(const std::vector<std::string>& available) const {
  auto keys = config_.get_string_list("tracker_keys");
  if (keys.empty()) keys = available;
  for (const auto& key : keys) {
    if (std::find(available.begin(), available.end(), key) == available.end()) {
      throw ConfigError(fmt::format("loggers.tracker_keys: no step reports '{}'; the steps report: {}",
                                    key, fmt::join(available, ", ")));
    }
  }
  return Tracker(keys, parse_reduction(config_.get_string("tracker_reduction")));
}

std::string Loggers::run_name() const { return config_.get_string("name"); }
fs::path Loggers::logs_dir() const { return config_.get_string("logs_dir"); }

void Loggers::set_run_record(nlohmann::json config, nlohmann::json launch) {
  run_config_ = std::move(config);
  run_launch_ = std::move(launch);
}

void Loggers::open_run_directory(const fs::path& dir) {
  run_dir_ = dir;
  const auto file = dir / fmt::format("rank-{}.log", rank_);
  auto files = std::static_pointer_cast<spdlog::sinks::dist_sink_mt>(sinks_.back());
  if (early_lines_) {
    files->remove_sink(early_lines_);
    std::ofstream early(file, std::ios::app);
    for (const auto& line : early_lines_->last_formatted()) early << line;
    early_lines_.reset();
  }
  spdlog::sink_ptr sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string());
  } catch (const spdlog::spdlog_ex& e) {
    throw EnvironmentError(fmt::format("cannot write log file {}: {}", file.string(), e.what()));
  }
  sink->set_formatter(std::make_unique<PythonLogFormatter>(config_.get_string("loggerfmt"),
                                                           config_.get_string("datefmt")));
  files->add_sink(sink);
  if (rank_ == 0) {
    std::error_code ignored;
    fs::remove(dir / "bolt.log", ignored);
    fs::create_symlink(file.filename(), dir / "bolt.log", ignored);
    // A validate/test run reusing a fit's directory keeps the fit's record.
    if (!run_config_.is_null() && !fs::exists(dir / "config.json")) {
      write_json("config.json", run_config_);
      write_json("launch.json", run_launch_);
    }
    writer_ = configure_writer(dir);
  }
}

std::unique_ptr<EventWriter> Loggers::configure_writer(const fs::path& run_dir) const {
  if (rank_ != 0 || !config_.get_bool("tensorboard")) return nullptr;
  return std::make_unique<EventWriter>(run_dir);
}

void Loggers::log_metrics(const nlohmann::json& row) {
  if (rank_ != 0 || run_dir_.empty()) return;
  if (!metrics_.is_open()) {
    metrics_.open(run_dir_ / "metrics.jsonl", std::ios::app);
    if (!metrics_) {
      throw EnvironmentError(fmt::format("cannot write {}", (run_dir_ / "metrics.jsonl").string()));
    }
  }
  metrics_ << row.dump() << '\n';
  metrics_.flush();
  if (writer_) writer_->flush();
}

void Loggers::drop_metrics_after_epoch(int64_t epoch) {
  if (rank_ != 0 || run_dir_.empty()) return;
  const auto path = run_dir_ / "metrics.jsonl";
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  bool dropped = false;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_object() && row.contains("epoch") && !row.contains("stage") &&
        row["epoch"].is_number_integer() && row["epoch"].get<int64_t>() > epoch) {
      dropped = true;
      continue;
    }
    kept += line + '\n';
  }
  in.close();
  if (!dropped) return;
  metrics_.close();
  const auto temp = run_dir_ / ".metrics.jsonl.tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << kept;
    if (!out) throw EnvironmentError(fmt::format("cannot write {}", temp.string()));
  }
  fs::rename(temp, path);
}

void Loggers::log_scalars(const std::map<std::string, double>& values, int64_t step) {
  if (!writer_) return;
  for (const auto& [tag, value] : values) writer_->add_scalar(tag, value, step);
}

void Loggers::log_resume(int64_t step) {
  if (writer_) writer_->add_session_start(step);
}

void Loggers::write_json(const std::string& file_name, const nlohmann::json& value) const {
  if (rank_ != 0 || run_dir_.empty()) return;
  std::ofstream out(run_dir_ / file_name);
  out << value.dump(2) << '\n';
  if (!out) throw EnvironmentError(fmt::format("cannot write {}", (run_dir_ / file_name).string()));
}

}  // namespace bolt
