#pragma once
// What a Trainer holds while it runs: shared by the files that implement its parts
// (Trainer.cpp: set-up, steps and evaluation; FitLoop.cpp: the fit).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "../diagnosis/ActivityLog.h"
#include "../diagnosis/FailureRecorder.h"
#include "../diagnosis/HangWatchdog.h"
#include "../dist/Communicator.h"
#include "../dist/GradientReducer.h"
#include "Optimization.h"
#include "StopSignal.h"
#include "bolt/Trainer.h"

namespace bolt {

struct Trainer::State {
  Config config;
  TrainerOptions options;
  WorkerEnvironment env;
  Loggers& loggers;
  DataModule& data;
  std::shared_ptr<Module> model;
  std::shared_ptr<spdlog::logger> log;
  c10::Device device{c10::kCPU};
  // What this rank does, for the hang watchdog and failure records (before comm: it records
  // into it).
  diagnosis::ActivityLog activity;
  std::optional<diagnosis::HangWatchdog> watchdog;
  std::unique_ptr<dist::Communicator> comm;
  std::unique_ptr<dist::GradientReducer> reducer;
  std::unique_ptr<Optimization> optimization;
  std::optional<Tracker> tracker;
  std::optional<DataLoader> train_loader, val_loader, test_loader;
  bool is_setup = false;
  bool destroyed = false;
  int64_t global_step = 0;
  int64_t epoch = 0;
  std::filesystem::path run_dir;
  std::optional<StopSignal> stop_signal;
  bool stopped_for_requeue = false;
  bool warned_untracked = false;
  std::string deferred_error;

  State(const Config& c, const WorkerEnvironment& e, Loggers& l, DataModule& d, std::shared_ptr<Module> m)
      : config(c), options(TrainerOptions::from(c)), env(e), loggers(l), data(d), model(std::move(m)),
        log(l.child_logger("trainer")) {
    diagnosis::watch_activity(&activity);
  }
  ~State() {
    watchdog.reset();
    diagnosis::forget_activity(activity);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

}  // namespace bolt
