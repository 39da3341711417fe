// What went wrong, where, as tables: the diagnosis from ranks' records, the activity log the
// records come from, and naming functions a plugin does not export.
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <fmt/format.h>

#include "diagnosis/ActivityLog.h"
#include "diagnosis/Diagnosis.h"
#include "diagnosis/RankReport.h"
#include "diagnosis/Symbolizer.h"
#include "train/EpochReport.h"
#include "train/StepTimeReport.h"

namespace {

using nlohmann::json;
using bolt::launch::RankRecords;

json collective(uint64_t seq, const std::string& purpose, int64_t bytes, bool finished) {
  json e = {{"seq", seq}, {"kind", "allreduce"}, {"purpose", purpose}, {"bytes", bytes}, {"started", 1000.0 + seq}};
  if (finished) e["finished"] = 1000.5 + seq;
  return e;
}

// A watchdog record of `rank`: doing `doing` since t=1000 (waiting on `waiting_on` when a
// collective), having issued collectives 1..last (the last one in flight when waiting).
json watchdog_record(int64_t rank, const std::string& doing, uint64_t waiting_on, uint64_t last,
                     const std::string& purpose_of_last = "gradient bucket 1/1") {
  json recent = json::array();
  for (uint64_t seq = 1; seq <= last; ++seq) {
    recent.push_back(collective(seq, seq == last ? purpose_of_last : "gradient bucket 1/1", 648,
                                seq != waiting_on));
  }
  return {{"kind", "hang"}, {"time", 1612.0}, {"rank", rank}, {"world_size", 4}, {"host", "n" + std::to_string(rank)},
          {"pid", 4700 + rank},
          {"activity", {{"stage", "fit"}, {"epoch", 1}, {"step", 811}, {"doing", doing}, {"doing_since", 1000.0},
                        {"waiting_on", waiting_on}, {"collectives", last}, {"recent", recent}}}};
}

RankRecords watched(const json& record) {
  RankRecords r;
  r.rank = record["rank"];
  r.watchdog = record;
  return r;
}

RankRecords failed(const json& record) {
  RankRecords r;
  r.rank = record["rank"];
  r.failure = record;
  return r;
}

}  // namespace

TEST_CASE("diagnosis: the rank that is behind, not the ranks waiting for it", "[diagnosis]") {
  const std::vector<RankRecords> records{watched(watchdog_record(0, "collective", 12, 12)),
                                         watched(watchdog_record(1, "collective", 12, 12)),
                                         watched(watchdog_record(2, "collective", 12, 12)),
                                         watched(watchdog_record(3, "training_step", 0, 11))};
  const auto d = bolt::launch::diagnose(records, {});
  REQUIRE(d.culprits == std::vector<int64_t>{3});
  CHECK(d.headline.find("rank 3 (n3, pid 4703) has not reached allreduce #12 (gradient bucket 1/1, fit epoch 2 "
                        "step 812): it is in training_step for 612 s; ranks 0-2 wait in allreduce #12") == 0);
}

TEST_CASE("diagnosis: a rank without a record is named, frozen or not", "[diagnosis]") {
  std::vector<RankRecords> records;
  for (int64_t r : {0, 1, 3}) records.push_back(watched(watchdog_record(r, "collective", 7, 7)));
  auto d = bolt::launch::diagnose(records, {});
  REQUIRE(d.culprits == std::vector<int64_t>{2});
  CHECK(d.headline.find("rank 2 has not reached allreduce #7 and wrote no record: it is frozen, was killed") == 0);
  bolt::launch::DiagnosisContext context;
  context.frozen_ranks = {2};
  d = bolt::launch::diagnose(records, context);
  CHECK(d.headline.find("its process was stopped (state T") != std::string::npos);
}

TEST_CASE("diagnosis: ranks that made different collectives at one number are a mismatch", "[diagnosis]") {
  const std::vector<RankRecords> records{watched(watchdog_record(0, "collective", 9, 9, "tracker (epoch metrics)")),
                                         watched(watchdog_record(1, "collective", 9, 9, "tracker (epoch metrics)")),
                                         watched(watchdog_record(2, "collective", 9, 9, "tracker (epoch metrics)")),
                                         watched(watchdog_record(3, "collective", 9, 9, "gradient bucket 1/1"))};
  const auto d = bolt::launch::diagnose(records, {});
  CHECK(d.headline.find("collective mismatch at #9") == 0);
  CHECK(d.headline.find("rank 3 called 'gradient bucket 1/1'") != std::string::npos);
  CHECK(d.headline.find("ranks 0-2 called 'tracker (epoch metrics)'") != std::string::npos);
  CHECK(d.culprits == std::vector<int64_t>{3});
}

TEST_CASE("diagnosis: the earliest crash or error of its own wins; a peer's casualty never does", "[diagnosis]") {
  auto error = [](int64_t rank, double time, int exit_code, const std::string& message) {
    return json{{"kind", "error"}, {"time", time}, {"rank", rank}, {"host", "n"}, {"pid", 1},
                {"activity", {{"stage", "fit"}, {"epoch", 0}, {"step", 3}}},
                {"error", {{"type", "bolt::DataError"}, {"message", message}, {"exit_code", exit_code}}}};
  };
  json crash = {{"kind", "crash"}, {"signal", "SIGSEGV"}, {"time", 50.0}, {"rank", 2}, {"host", "n"}, {"pid", 9},
                {"activity", {{"stage", "fit"}, {"epoch", 0}, {"step", 3}}}, {"stack", json::array()}};
  const std::vector<RankRecords> records{failed(error(0, 40.0, 3, "collective failed (a peer rank probably died)")),
                                         failed(error(1, 60.0, 1, "bad sample")), failed(crash)};
  const auto d = bolt::launch::diagnose(records, {});
  REQUIRE(d.culprits == std::vector<int64_t>{2});
  CHECK(d.headline == "rank 2 (n, pid 9) crashed with SIGSEGV at fit epoch 1 step 4");
}

TEST_CASE("diagnosis: what ranks recorded after a watchdog ended the job is the aftermath", "[diagnosis]") {
  // Rank 1 was stopped; resumed after ranks 0, 2 and 3 ended, it found them gone: its records
  // (a peer failure, an error of its own) come after the hang and say nothing about it.
  std::vector<RankRecords> records;
  for (int64_t r : {0, 2, 3}) records.push_back(watched(watchdog_record(r, "collective", 7, 7)));
  auto aftermath = watchdog_record(1, "collective", 7, 7);
  aftermath["kind"] = "error";
  aftermath["time"] = 1620.0;
  aftermath["error"] = {{"type", "bolt::PeerFailureError"}, {"message", "rank 0 exited"}, {"exit_code", 3}};
  records.push_back(failed(aftermath));
  auto d = bolt::launch::diagnose(records, {});
  REQUIRE(d.culprits == std::vector<int64_t>{1});
  CHECK(d.headline.find("rank 1 has not reached allreduce #7 and wrote no record") == 0);
  records.back().failure->at("error")["exit_code"] = 1;
  d = bolt::launch::diagnose(records, {});
  REQUIRE(d.culprits == std::vector<int64_t>{1});
  CHECK(d.headline.find("rank 1 has not reached allreduce #7 and wrote no record") == 0);
  // Before the first watchdog ended its rank, an error of its own is still the root cause.
  records.back().failure->at("time") = 1600.0;
  d = bolt::launch::diagnose(records, {});
  CHECK(d.headline.find("rank 1 (n1, pid 4701) failed") == 0);
}

TEST_CASE("activity log: sequence numbers, the ring buffer, waiting and progress", "[diagnosis]") {
  bolt::diagnosis::ActivityLog log(3);
  CHECK_FALSE(log.snapshot().armed);
  log.at_step(0, 5, bolt::diagnosis::Doing::TrainingStep);
  for (int i = 0; i < 5; ++i) log.collective_finished(log.collective_started("allreduce", "bucket", 8), bolt::diagnosis::Doing::TrainingStep);
  const auto seq = log.collective_started("barrier", "end", 0);
  const auto before = log.waiting_for(seq);
  auto s = log.snapshot();
  CHECK(before == bolt::diagnosis::Doing::TrainingStep);
  CHECK(s.armed);
  CHECK(s.doing == bolt::diagnosis::Doing::Collective);
  CHECK(s.waiting_on == 6);
  CHECK(s.collectives == 6);
  REQUIRE(s.recent.size() == 3);
  CHECK(s.recent.front().seq == 4);
  CHECK(s.recent.back().finished == 0);
  log.collective_failed(seq, "peer died", before);
  s = log.snapshot();
  CHECK(s.recent.back().failed == "peer died");
  const auto record = bolt::diagnosis::make_record("hang", {1, 1, 2, "h", 42}, s);
  CHECK(record["activity"]["recent"].size() == 3);
  CHECK(record["activity"]["doing"] == "training_step");
  CHECK(bolt::diagnosis::doing_from_key("data") == bolt::diagnosis::Doing::LoadingData);
}

namespace {
// Internal linkage: only the executable's full symbol table knows its name.
__attribute__((noinline)) int symbolized_here(int x) { return x * 3 + 1; }
}  // namespace

TEST_CASE("symbolizer: functions a module does not export are named from its ELF symbol table", "[diagnosis]") {
  CHECK(symbolized_here(1) == 4);
  Dl_info info{};
  const auto address = reinterpret_cast<uintptr_t>(&symbolized_here);
  REQUIRE(::dladdr(reinterpret_cast<void*>(address), &info) != 0);
  const auto offset = address - reinterpret_cast<uintptr_t>(info.dli_fbase);
  CHECK(bolt::diagnosis::function_at(info.dli_fname, offset + 2).find("symbolized_here(int)") != std::string::npos);
  const auto line = std::string(info.dli_fname) + "(+0x" + fmt::format("{:x}", offset + 3) + ") [0x1]";
  CHECK(bolt::diagnosis::symbolize_backtrace_line(line) ==
        "(anonymous namespace)::symbolized_here(int) (" + std::string(info.dli_fname) + ")");
  CHECK(bolt::diagnosis::function_at("/nonexistent", 12).empty());
  CHECK(bolt::diagnosis::function_at("/etc/hostname", 12).empty());  // not ELF
  CHECK(bolt::diagnosis::symbolize_backtrace_line("no parentheses") == "no parentheses");
}

TEST_CASE("stragglers: busy time per step against the median rank's", "[diagnosis]") {
  auto ranks_with = [](std::vector<double> medians) {
    std::vector<bolt::RankStepTimes> ranks;
    for (double m : medians) ranks.push_back({m, m, 0, m, 0});
    return ranks;
  };
  CHECK(bolt::find_stragglers(ranks_with({10, 20})) == std::vector<int64_t>{1});
  CHECK(bolt::find_stragglers(ranks_with({10, 10, 12, 10})).empty());          // 1.2x: within the margin
  CHECK(bolt::find_stragglers(ranks_with({10, 13, 10, 30})) == std::vector<int64_t>{1, 3});
  CHECK(bolt::find_stragglers(ranks_with({0.4, 0.6})).empty());                 // 1.5x of 0.4 ms: noise
  CHECK(bolt::find_stragglers(ranks_with({5})).empty());
  bolt::StepTimes times;
  times.steps = 4;
  times.compute = 0.04;
  times.busy_ms = {1, 9, 2, 3};
  const auto summary = bolt::summarize_step_times(times);
  CHECK(summary.busy_median_ms == 2);
  CHECK(summary.compute_ms == Approx(10));
  CHECK(bolt::gather_step_times(nullptr, 0, summary).size() == 1);
}
