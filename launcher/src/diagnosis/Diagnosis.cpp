#include "Diagnosis.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../LastLines.h"
#include "../RankRanges.h"
#include "diagnosis/ActivityLog.h"
#include "diagnosis/Symbolizer.h"

namespace fs = std::filesystem;

namespace bolt::launch {

namespace {

using nlohmann::json;

std::string who(const json& r) {
  return fmt::format("rank {} ({}, pid {})", r.value("rank", int64_t{-1}), r.value("host", std::string("?")),
                     r.value("pid", 0));
}

std::string clock_time(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  ::localtime_r(&t, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string where(const json& activity) {
  const auto epoch = activity.value("epoch", int64_t{-1});
  std::string stage = activity.value("stage", std::string());
  if (stage.empty()) stage = "set-up";
  if (epoch < 0) return stage;
  return fmt::format("{} epoch {} step {}", stage, epoch + 1, activity.value("step", int64_t{-1}) + 1);
}

std::string rank_list(const std::vector<int64_t>& ranks) {
  return (ranks.size() == 1 ? "rank " : "ranks ") + rank_ranges(ranks);
}

const json* entry(const json& activity, uint64_t seq) {
  if (!activity.contains("recent") || !activity["recent"].is_array()) return nullptr;
  for (const auto& e : activity["recent"]) {
    if (e.value("seq", uint64_t{0}) == seq) return &e;
  }
  return nullptr;
}

std::string collective_text(const json& e) {
  return fmt::format("{} #{}", e.value("kind", std::string("collective")), e.value("seq", uint64_t{0}));
}

std::string purpose_text(const json& e) {
  return fmt::format("{}, {} bytes", e.value("purpose", std::string("?")), e.value("bytes", int64_t{0}));
}

// The frames worth reading: the handler's own frames and the C/C++ runtime's are dropped.
std::vector<std::string> user_frames(const json& record) {
  std::vector<std::string> frames;
  if (!record.contains("stack") || !record["stack"].is_array()) return frames;
  // A signal handler's lines are glibc's raw "module(+0xoffset)": named here.
  const bool raw = record.contains("signal");
  diagnosis::ModuleCache modules;
  bool past_handler = !raw;
  int skip_after_handler = 0;
  for (const auto& line : record["stack"]) {
    if (!line.is_string()) continue;
    const auto text = raw ? diagnosis::symbolize_backtrace_line(line.get<std::string>(), modules) : line.get<std::string>();
    if (!past_handler) {
      if (text.find("on_fatal_signal") != std::string::npos) {
        past_handler = true;
        skip_after_handler = 1;  // the kernel's signal trampoline
      }
      continue;
    }
    if (skip_after_handler-- > 0) continue;
    // The runtime's own frames: Bolt's recorder, the C++ runtime, a sanitizer's interceptors.
    if (text.find("bolt::diagnosis::") != std::string::npos || text.find("libstdc++") != std::string::npos ||
        text.find("libgcc") != std::string::npos || text.find("libasan") != std::string::npos ||
        text.find("libubsan") != std::string::npos || text.rfind("?? (", 0) == 0) {
      continue;
    }
    frames.push_back(text);
  }
  return frames;
}

Diagnosis failure_diagnosis(const json& r) {
  Diagnosis d;
  d.culprits.push_back(r.value("rank", int64_t{-1}));
  const auto activity = r.value("activity", json::object());
  const auto frames = user_frames(r);
  if (r.value("kind", std::string()) == "crash") {
    const auto what = r.contains("signal") ? r["signal"].get<std::string>()
                                           : r.value("error", json::object()).value("message", std::string("std::terminate"));
    d.headline = fmt::format("{} crashed with {}{} at {}", who(r), what,
                             frames.empty() ? std::string() : " in " + frames.front(), where(activity));
  } else {
    const auto error = r.value("error", json::object());
    const auto message = error.value("message", std::string("?"));
    // A step's error names its place already ("fit: epoch 1, step 4 ...").
    const auto stage = activity.value("stage", std::string());
    const bool placed = !stage.empty() && message.rfind(stage, 0) == 0;
    d.headline = fmt::format("{} failed{}: {}", who(r), placed ? std::string() : " at " + where(activity), message);
    d.details.push_back(fmt::format("exception {}, exit code {}", error.value("type", std::string("?")),
                                    error.value("exit_code", 1)));
  }
  const auto message = r.value("error", json::object()).value("message", std::string());
  if (message.find("op.preamble.length <= op.nbytes") != std::string::npos) {
    d.details.push_back("gloo received a larger message than this rank's collective holds: the ranks called "
                        "different collectives at the same point (a collective mismatch: a rank skipped one, "
                        "or ranks ran different numbers of steps or batches)");
  }
  const auto& recent = activity.value("recent", json::array());
  if (!recent.empty() && recent.back().is_object()) {
    const auto& last = recent.back();
    d.details.push_back(fmt::format("its last collective: {} ({}){}", collective_text(last), purpose_text(last),
                                    last.contains("finished") ? ", completed" : ", in flight"));
  }
  if (!frames.empty()) {
    d.details.push_back(fmt::format("stack of rank {} (innermost first):", r.value("rank", int64_t{-1})));
    for (std::size_t i = 0; i < frames.size() && i < 12; ++i) d.details.push_back("  " + frames[i]);
  }
  return d;
}

bool is_root_cause_record(const json& r) {
  const auto kind = r.value("kind", std::string());
  if (kind == "crash") return true;
  return kind == "error" && r.contains("error") && r["error"].value("exit_code", 1) != 3;
}

struct RankState {
  int64_t rank = 0;
  const json* record = nullptr;  // the record its activity comes from
  json activity;
  bool waiting() const {
    return activity.value("doing", std::string()) == "collective" && activity.value("waiting_on", uint64_t{0}) > 0;
  }
  uint64_t waiting_on() const { return activity.value("waiting_on", uint64_t{0}); }
};

std::string doing_text(const RankState& s) {
  const double since = s.activity.value("doing_since", 0.0);
  const double at = s.record->value("time", since);
  const auto doing = s.activity.value("doing", std::string("?"));
  if (s.waiting()) {
    const auto* e = entry(s.activity, s.waiting_on());
    return fmt::format("it waits in {} since {}", e ? collective_text(*e) + " (" + purpose_text(*e) + ")" : "#" + std::to_string(s.waiting_on()),
                       clock_time(since));
  }
  return fmt::format("it is {} for {:.0f} s", diagnosis::describe(diagnosis::doing_from_key(doing)),
                     std::max(0.0, at - since));
}

Diagnosis hang_diagnosis(const std::map<int64_t, RankState>& states, int64_t world_size,
                         const std::set<int64_t>& frozen) {
  Diagnosis d;
  uint64_t target = 0;
  for (const auto& [rank, s] : states) {
    if (s.waiting()) target = std::max(target, s.waiting_on());
  }
  if (target == 0) {
    // Nobody waits for anybody: each rank that stalled is named for itself.
    for (const auto& [rank, s] : states) {
      if (s.record->value("kind", std::string()) != "hang" && s.record->value("kind", std::string()) != "stall") continue;
      d.culprits.push_back(rank);
      d.details.push_back(fmt::format("{} made no progress at {}: {}", who(*s.record), where(s.activity), doing_text(s)));
    }
    if (!d.details.empty()) d.headline = d.details.front();
    return d;
  }
  // The collective the waiting ranks are in, as they describe it; ranks that made a different
  // collective at that number are a mismatch, not late.
  std::map<std::string, std::vector<int64_t>> calls_at_target;  // purpose -> ranks
  std::vector<int64_t> waiters;
  const json* target_entry = nullptr;
  for (const auto& [rank, s] : states) {
    const auto* e = entry(s.activity, target);
    if (s.waiting() && s.waiting_on() == target) {
      waiters.push_back(rank);
      if (!target_entry) target_entry = e;
    }
    if (e) calls_at_target[e->value("purpose", std::string("?"))].push_back(rank);
  }
  const std::string target_text = target_entry ? collective_text(*target_entry) : "collective #" + std::to_string(target);
  const std::string waiters_text = fmt::format(
      "{} wait{} in {}{} since {}", rank_list(waiters), waiters.size() == 1 ? "s" : "", target_text,
      target_entry ? " (" + purpose_text(*target_entry) + ")" : std::string(),
      clock_time(target_entry ? target_entry->value("started", 0.0) : 0));
  if (calls_at_target.size() > 1) {
    std::vector<std::string> parts;
    std::size_t largest = 0;
    for (const auto& [purpose, ranks] : calls_at_target) largest = std::max(largest, ranks.size());
    for (const auto& [purpose, ranks] : calls_at_target) {
      parts.push_back(fmt::format("{} called '{}'", rank_list(ranks), purpose));
      if (ranks.size() < largest || calls_at_target.size() == ranks.size()) {
        d.culprits.insert(d.culprits.end(), ranks.begin(), ranks.end());
      }
    }
    d.headline = fmt::format("collective mismatch at #{}: {}: every rank must make the same collectives in "
                             "the same order (a rank skipped one, or ranks ran different numbers of steps)",
                             target, fmt::join(parts, "; "));
  }
  for (int64_t rank = 0; rank < world_size; ++rank) {
    const auto it = states.find(rank);
    if (it == states.end()) {
      d.culprits.push_back(rank);
      d.details.push_back(fmt::format(
          "rank {} has not reached {} and wrote no record: {}", rank, target_text,
          frozen.count(rank) ? "its process was stopped (state T: SIGSTOP, a debugger, or a frozen node)"
                             : "it is frozen, was killed, or its host is unreachable"));
      continue;
    }
    const auto& s = it->second;
    if (s.waiting() && s.waiting_on() == target) continue;
    if (entry(s.activity, target) != nullptr) continue;  // a mismatch, named above
    if (std::find(d.culprits.begin(), d.culprits.end(), rank) == d.culprits.end()) d.culprits.push_back(rank);
    d.details.push_back(fmt::format("{} has not reached {} ({}{}): {}", who(*s.record), target_text,
                                    target_entry ? target_entry->value("purpose", std::string("?")) + ", " : std::string(),
                                    where(s.activity), doing_text(s)));
  }
  d.details.push_back(waiters_text);
  if (d.headline.empty()) {
    d.headline = d.details.size() > 1 ? d.details.front() + "; " + waiters_text : waiters_text;
  }
  return d;
}

// The last lines the root-cause rank logged (its rank-<r>.log in the run directory).
void add_log_tail(Diagnosis& d, const std::string& run_dir) {
  if (d.culprits.empty() || run_dir.empty()) return;
  const auto file = fs::path(run_dir) / fmt::format("rank-{}.log", d.culprits.front());
  const auto tail = last_lines(file, 8);
  if (tail.empty()) return;
  d.details.push_back(fmt::format("last lines of {}:", file.string()));
  for (const auto& line : tail) d.details.push_back("  " + line);
}

}  // namespace

Diagnosis diagnose(const std::vector<RankRecords>& records, const DiagnosisContext& context) {
  auto d = diagnose_records(records, context);
  add_log_tail(d, context.run_dir);
  return d;
}

Diagnosis diagnose_records(const std::vector<RankRecords>& records, const DiagnosisContext& context) {
  // Once a watchdog ended its rank, what other ranks recorded is the aftermath (a rank resumed
  // from SIGSTOP finds its peers gone), not what they were doing when the job hung.
  double first_hang_end = std::numeric_limits<double>::infinity();
  for (const auto& r : records) {
    if (r.watchdog && r.watchdog->value("kind", std::string()) == "hang") {
      first_hang_end = std::min(first_hang_end, r.watchdog->value("time", first_hang_end));
    }
  }
  const auto before_the_hang = [&](const std::optional<json>& failure) {
    return failure && failure->value("time", 0.0) <= first_hang_end;
  };
  // A crash or an error of its own is the root cause; the earliest wins.
  const json* root = nullptr;
  for (const auto& r : records) {
    if (!before_the_hang(r.failure) || !is_root_cause_record(*r.failure)) continue;
    if (!root || r.failure->value("time", 0.0) < root->value("time", 0.0)) root = &*r.failure;
  }
  if (root) return failure_diagnosis(*root);
  std::map<int64_t, RankState> states;
  int64_t world_size = context.world_size;
  for (const auto& r : records) {
    const json* source = r.watchdog ? &*r.watchdog : before_the_hang(r.failure) ? &*r.failure : nullptr;
    if (!source || !source->contains("activity")) continue;
    states[r.rank] = RankState{r.rank, source, (*source)["activity"]};
    world_size = std::max(world_size, source->value("world_size", int64_t{1}));
  }
  if (states.empty()) return {};
  auto d = hang_diagnosis(states, world_size, context.frozen_ranks);
  for (const auto& [rank, s] : states) {
    if (s.record->contains("main_thread_stack") && std::find(d.culprits.begin(), d.culprits.end(), rank) != d.culprits.end()) {
      d.details.push_back(fmt::format("main thread of rank {} (innermost first):", rank));
      const auto& stack = (*s.record)["main_thread_stack"];
      for (std::size_t i = 0; i < stack.size() && i < 12; ++i) d.details.push_back("  " + stack[i].get<std::string>());
    }
  }
  return d;
}

std::vector<RankRecords> read_rank_records(const fs::path& run_dir, std::vector<std::string>* problems) {
  std::map<int64_t, RankRecords> by_rank;
  const std::regex name(R"(rank-(\d{1,9})\.json)");
  for (const char* folder : {"errors", "diagnosis"}) {
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(run_dir / folder, ec)) {
      std::smatch match;
      const auto filename = file.path().filename().string();
      if (!std::regex_match(filename, match, name)) continue;
      const int64_t rank = std::stoll(match[1]);
      std::ifstream in(file.path());
      auto record = json::parse(in, nullptr, false);
      if (record.is_discarded() || !record.is_object()) {
        if (problems) problems->push_back(fmt::format("{} is not a complete JSON record", file.path().string()));
        continue;
      }
      auto& slot = by_rank[rank];
      slot.rank = rank;
      (std::string(folder) == "errors" ? slot.failure : slot.watchdog) = std::move(record);
    }
  }
  std::vector<RankRecords> records;
  for (auto& [rank, r] : by_rank) records.push_back(std::move(r));
  return records;
}

std::string format_diagnosis(const Diagnosis& d, bool with_headline) {
  if (d.empty()) return {};
  std::string text = with_headline ? "bolt-launch: diagnosis: " + d.headline + "\n" : std::string();
  for (const auto& line : d.details) {
    if (line != d.headline && d.headline.find(line) == std::string::npos) text += "  " + line + "\n";
  }
  return text;
}

}  // namespace bolt::launch
