#pragma once
// What went wrong, where: a pure function from the records the ranks left in their run
// directory (errors/rank-<r>.json, diagnosis/rank-<r>.json) to the root cause, which
// bolt-launch prints after a local job and `bolt-launch why <run dir>` prints anywhere.
//   - A crash or an error that is not a peer's casualty: the earliest one, with the stack.
//   - A hang: the ranks that are behind (not waiting in the collective the others wait in,
//     or with no record at all), what they are doing and since when; ranks that made
//     different collectives at the same point (a mismatch) are named as such.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bolt::launch {

struct RankRecords {
  int64_t rank = 0;
  std::optional<nlohmann::json> failure;  // errors/rank-<r>.json
  std::optional<nlohmann::json> watchdog; // diagnosis/rank-<r>.json
};

// What the caller knows beyond the records (a supervisor: ranks it found stopped).
struct DiagnosisContext {
  int64_t world_size = 0;              // 0: from the records
  std::set<int64_t> frozen_ranks;      // processes in state T (SIGSTOP) when the job ended
  std::string run_dir;
};

struct Diagnosis {
  std::vector<int64_t> culprits;       // the rank(s) to blame, first = the root cause
  std::string headline;                // one line
  std::vector<std::string> details;    // the evidence, a line each
  bool empty() const { return headline.empty(); }
};

// The root cause, with the last lines of its rank's log (context.run_dir/rank-<r>.log).
Diagnosis diagnose(const std::vector<RankRecords>& records, const DiagnosisContext& context);
// The same from the records alone.
Diagnosis diagnose_records(const std::vector<RankRecords>& records, const DiagnosisContext& context);
// Reads the records under `run_dir` (a record that is not valid JSON is skipped, named in
// `problems`).
std::vector<RankRecords> read_rank_records(const std::filesystem::path& run_dir, std::vector<std::string>* problems = nullptr);
// "bolt-launch: diagnosis: <headline>" and the evidence, a line each; without the headline
// line where the caller printed it already.
std::string format_diagnosis(const Diagnosis& diagnosis, bool with_headline = true);

}  // namespace bolt::launch
