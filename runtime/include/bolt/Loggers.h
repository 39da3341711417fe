#pragma once
// The seed's Loggers: spdlog loggers named "bolt", "bolt.<child>" in Python logging's
// format, the per-epoch tracker, and the run directory's metrics.jsonl. Rank 0 logs to the
// console; once the run directory is open every rank also logs to rank-<r>.log there.
#include "bolt/Export.h"
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include "bolt/Config.h"
#include "bolt/RunDirectories.h"
#include "bolt/Tracker.h"

namespace bolt {

class EventWriter;
class ProgressBar;

class BOLT_API Loggers {
 public:
  Loggers(const Config& config, int64_t rank);
  virtual ~Loggers();

  // logs_dir, name, loggerfmt, datefmt, tracker_keys, tracker_reduction, level.
  static void declare_options(OptionSet& options);

  // "bolt" and its children are also in spdlog's registry (spdlog::get("bolt.trainer")).
  std::shared_ptr<spdlog::logger> root_logger();
  std::shared_ptr<spdlog::logger> child_logger(const std::string& name);
  // The tracker of loggers.tracker_keys (empty: every name in `available`, the names the steps
  // report). A key not in `available` is a ConfigError, raised before anything is written.
  Tracker configure_tracker(const std::vector<std::string>& available) const;
  // Rank 0, loggers.tensorboard: the TensorBoard event file in the run directory, opened by
  // open_run_directory() (override to write elsewhere, or return nullptr for none).
  virtual std::unique_ptr<EventWriter> configure_writer(const std::filesystem::path& run_dir) const;
  bool has_writer() const { return writer_ != nullptr; }
  // Per-epoch and per-step scalars, to the writer when there is one.
  void log_scalars(const std::map<std::string, double>& values, int64_t step);
  // A resumed fit continues at global step `step`: TensorBoard drops the interrupted
  // attempt's per-step scalars from there.
  void log_resume(int64_t step);
  // Rank 0, loggers.progress: a live bar on a terminal, a line per 10 % of an epoch elsewhere.
  ProgressBar configure_progressbar() const;

  // What open_run_directory() records (rank 0): config.json and launch.json.
  void set_run_record(nlohmann::json config, nlohmann::json launch);
  // Opens <logs_dir>/<name>/version_<n>/ (created by rank 0) and starts the file logs.
  void open_run_directory(const std::filesystem::path& dir);
  const std::filesystem::path& run_dir() const { return run_dir_; }
  bool is_main() const { return rank_ == 0; }
  int64_t rank() const { return rank_; }

  // Rank 0 appends one JSON object to metrics.jsonl and flushes it.
  void log_metrics(const nlohmann::json& row);
  // A resumed fit forgets the fit rows (those with an "epoch") after `epoch`: they belong to
  // the interrupted attempt and are about to be written again. Rank 0; atomic rewrite.
  void drop_metrics_after_epoch(int64_t epoch);
  // Rank 0 writes a JSON document into the run directory.
  void write_json(const std::string& file_name, const nlohmann::json& value) const;

  const Config& config() const { return config_; }
  std::string run_name() const;
  std::filesystem::path logs_dir() const;

 private:
  std::shared_ptr<spdlog::logger> make_logger(const std::string& name);
  Config config_;
  int64_t rank_;
  std::filesystem::path run_dir_;
  std::vector<spdlog::sink_ptr> sinks_;  // the console (rank 0), then the run directory's file
  static constexpr std::size_t kEarlyLines = 2000;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> early_lines_;
  std::vector<std::shared_ptr<spdlog::logger>> loggers_;
  std::ofstream metrics_;
  nlohmann::json run_config_, run_launch_;
  std::unique_ptr<EventWriter> writer_;
};

// The logger "bolt.<name>" for plugin code (a Module, DataModule or Trainer of a plugin):
// Bolt's format, rank 0's console and this rank's rank-<r>.log once the run directory is open.
// Outside a worker (no Loggers yet) a logger that drops everything.
BOLT_API std::shared_ptr<spdlog::logger> get_logger(const std::string& name);

}  // namespace bolt
