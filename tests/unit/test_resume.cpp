// The pieces a resumed or preempted fit stands on: mid-epoch progress, metrics rows of an
// interrupted attempt, finding a restarted run's directory, the requeue signal flag.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "bolt/Error.h"
#include "bolt/Loggers.h"
#include "logging/ProgressBar.h"
#include "test_support.h"
#include "train/StopSignal.h"
#include "checkpoint/Checkpoint.h"
#include "checkpoint/CheckpointRecord.h"

#include <torch/nn/modules/linear.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {
std::string read_all(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int count_lines(const std::string& text, const std::string& prefix) {
  int n = 0;
  for (std::size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("a resumed epoch's progress lines start where it stopped", "[resume]") {
  TempDir dir;
  const auto path = dir.path / "progress.txt";
  std::FILE* out = std::fopen(path.c_str(), "w");
  REQUIRE(out != nullptr);
  bolt::ProgressBar bar(true, false, out);
  bar.start(1, 3, 100, 55);  // 55 of 100 steps done before the restart
  for (int64_t step = 56; step <= 100; ++step) {
    if (bar.due(step)) bar.update(step, 0.5);
  }
  bar.finish();
  std::fclose(out);
  const auto text = read_all(path);
  CHECK(count_lines(text, "progress:") == 5);  // 60, 70, 80, 90, 100 %
  CHECK(text.find("60/100  60%") != std::string::npos);
  CHECK(text.find(" 50%") == std::string::npos);
}

TEST_CASE("a resumed fit drops the interrupted attempt's later epoch rows", "[resume]") {
  TempDir dir;
  bolt::OptionSet options("loggers");
  bolt::Loggers::declare_options(options);
  auto values = options.defaults();
  values["logs_dir"] = dir.path.string();
  values["name"] = "m";
  values["tensorboard"] = false;
  bolt::Loggers loggers(bolt::Config("loggers", values), 0);
  const auto run = bolt::create_run_directory(dir.path, "m");
  dir.write("m/" + run.filename().string() + "/metrics.jsonl",
            "{\"epoch\":1,\"val_loss\":1}\n{\"epoch\":2,\"val_loss\":2}\n"
            "{\"stage\":\"test\",\"epoch\":9,\"test_loss\":3}\n{\"epoch\":3,\"val_loss\":4}\n");
  loggers.open_run_directory(run);
  loggers.drop_metrics_after_epoch(1);
  loggers.log_metrics({{"epoch", 2}, {"val_loss", 5}});
  CHECK(read_all(run / "metrics.jsonl") ==
        "{\"epoch\":1,\"val_loss\":1}\n{\"stage\":\"test\",\"epoch\":9,\"test_loss\":3}\n"
        "{\"epoch\":2,\"val_loss\":5}\n");
  CHECK_FALSE(fs::exists(run / ".metrics.jsonl.tmp"));
}

TEST_CASE("a restarted run finds its directory by run id, newest first", "[resume]") {
  TempDir dir;
  for (const char* id : {"job-7", "job-8", "job-7"}) {
    const auto run = bolt::create_run_directory(dir.path, "m");
    std::ofstream(run / "launch.json") << "{\"run_id\": \"" << id << "\"}";
  }
  bolt::create_run_directory(dir.path, "m");  // no launch.json: a run that died at once
  CHECK(bolt::find_version_of_run(dir.path, "m", "job-7").filename() == "version_2");
  CHECK(bolt::find_version_of_run(dir.path, "m", "job-8").filename() == "version_1");
  CHECK(bolt::find_version_of_run(dir.path, "m", "job-9").empty());
  CHECK(bolt::find_version_of_run(dir.path, "m", "").empty());
  CHECK(bolt::find_version_of_run(dir.path, "other", "job-7").empty());
}

TEST_CASE("the requeue signal only sets a flag, and the old disposition comes back", "[resume]") {
  REQUIRE_THROWS_AS(bolt::StopSignal("HUP"), bolt::ConfigError);
  {
    bolt::StopSignal stop("USR2");
    CHECK(stop.number() == SIGUSR2);
    CHECK_FALSE(stop.received());
    std::raise(SIGUSR2);  // the process survives: the handler took it
    CHECK(stop.received());
  }
  struct sigaction now {};
  ::sigaction(SIGUSR2, nullptr, &now);
  CHECK(now.sa_handler == SIG_DFL);
  bolt::StopSignal none("none");
  CHECK(none.number() == 0);
  CHECK_FALSE(none.received());
}

TEST_CASE("a checkpoint write never follows a link planted at its temp name", "[resume]") {
  TempDir dir;
  const auto victim = dir.write("victim.txt", "keep me");
  const auto temp = dir.path / (".last.pt.tmp." + std::to_string(::getpid()));
  fs::create_symlink(victim, temp);
  torch::nn::Linear model(2, 2);
  bolt::save_checkpoint(dir.path / "last.pt", *model, {}, {{"epoch", 1}});
  CHECK(read_all(victim) == "keep me");
  CHECK(fs::is_regular_file(fs::symlink_status(dir.path / "last.pt")));
  CHECK_FALSE(fs::exists(fs::symlink_status(temp)));
  CHECK(bolt::load_checkpoint(dir.path / "last.pt", *model, {})["epoch"] == 1);
}

// Found by tests/fuzz (fuzz_checkpoint_record): a float counter was converted with undefined
// behaviour, a record nested deeply reached nlohmann's recursion.
TEST_CASE("a checkpoint's record: integers that fit, finite numbers, bounded depth", "[resume]") {
  const auto position = [](const std::string& text) {
    return bolt::read_fit_position(bolt::parse_checkpoint_record(text, "x/last.pt"), "x/last.pt");
  };
  const auto good = position(R"({"epoch": 2, "global_step": 40, "epoch_step": 5, "steps_per_epoch": 20, "best_val_score": 0.5})");
  CHECK(good.epoch == 2);
  CHECK(good.epoch_step == 5);
  CHECK(good.best == 0.5);
  CHECK_THROWS_WITH(position(R"({"epoch": 1e20, "global_step": 1})"),
                    Catch::Contains("checkpoint x/last.pt: epoch in its record is not an integer (1e+20)"));
  CHECK_THROWS_WITH(position(R"({"epoch": 18446744073709551615, "global_step": 1})"),
                    Catch::Contains("epoch in its record is out of range"));
  CHECK_THROWS_WITH(position(R"({"epoch": 1, "global_step": -1})"), Catch::Contains("negative epoch or step"));
  CHECK_THROWS_WITH(position(R"({"epoch": 1, "global_step": 1, "epoch_lr": "fast"})"),
                    Catch::Contains("malformed training position"));
  CHECK_THROWS_WITH(position(R"({"global_step": 1})"), Catch::Contains("not written by fit"));
  CHECK_THROWS_WITH(position("[1]"), Catch::Contains("its bolt_meta record is not a JSON object"));
  CHECK_THROWS_WITH(position(std::string(100000, '[')), Catch::Contains("nests deeper than 8 levels"));
  CHECK_THROWS_WITH(position("{\"epoch\": 1,"), Catch::Contains("its bolt_meta record is not valid JSON"));
}
