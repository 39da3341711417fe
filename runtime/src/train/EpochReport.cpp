#include "EpochReport.h"

#include <algorithm>

#include <fmt/format.h>

namespace bolt {

namespace {
bool is_bookkeeping(const std::string& name) { return name == "samples" || name == "samples_run_here"; }

std::string describe(const EpochMetrics& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) {
    if (!is_bookkeeping(name)) out += fmt::format(" {} {:.4f}", name, value);
  }
  return out;
}
// Named once per epoch on rank 0: the slow rank makes every rank wait for it.
void warn_stragglers(spdlog::logger& log, const EpochSummary& summary, const std::vector<int64_t>& stragglers) {
  std::vector<double> medians;
  for (const auto& t : summary.ranks) medians.push_back(t.busy_median_ms);
  std::sort(medians.begin(), medians.end());
  const double typical = medians[(medians.size() - 1) / 2];
  for (const auto rank : stragglers) {
    const auto& t = summary.ranks[static_cast<std::size_t>(rank)];
    const bool data_bound = t.data_wait_ms > t.compute_ms;
    log.warn("epoch {}: rank {} is a straggler: {:.1f}x the median rank's busy time per step (median {:.2f} ms vs "
             "{:.2f} ms, p90 {:.2f} ms; data wait {:.2f} ms, compute {:.2f} ms per step): {}; every rank waits for it "
             "in each gradient allreduce",
             summary.epoch, rank, t.busy_median_ms / typical, t.busy_median_ms, typical, t.busy_p90_ms, t.data_wait_ms,
             t.compute_ms, data_bound ? "its input pipeline is slow (more data.num_workers, a faster disk?)"
                                      : "its compute is slow (a throttled or shared CPU/GPU, other processes on the node?)");
  }
}

}  // namespace

void report_epoch(Loggers& loggers, spdlog::logger& log, const EpochSummary& summary) {
  nlohmann::json row = {{"epoch", summary.epoch}};
  std::map<std::string, double> scalars;
  for (const auto& [prefix, metrics] : {std::pair{"train", &summary.train}, std::pair{"val", &summary.val}}) {
    for (const auto& [name, value] : *metrics) {
      if (is_bookkeeping(name)) continue;
      row[fmt::format("{}_{}", prefix, name)] = value;
      scalars[fmt::format("{}/{}", prefix, name)] = value;
    }
  }
  row["lr"] = summary.lr;
  row["epoch_time_s"] = summary.epoch_seconds;
  row["train_samples_per_s"] = summary.samples_per_s;
  scalars["lr"] = summary.lr;
  scalars["samples_per_s"] = summary.samples_per_s;
  if (summary.grad_norm) {
    row["grad_norm"] = *summary.grad_norm;
    scalars["train/grad_norm"] = *summary.grad_norm;
  }
  if (summary.grad_allreduces) row["grad_allreduces"] = *summary.grad_allreduces;
  if (summary.skipped_steps) row["skipped_steps"] = *summary.skipped_steps;
  if (summary.launch_to_first_step_s) row["launch_to_first_step_s"] = *summary.launch_to_first_step_s;
  if (const auto& t = summary.step_times; t.steps > 0) {
    const double per_step_ms = 1000.0 / static_cast<double>(t.steps);
    row["step_ms"] = {{"data_wait", t.data_wait * per_step_ms},
                      {"compute", t.compute * per_step_ms},
                      {"collective_wait", t.collective_wait * per_step_ms}};
  }
  std::vector<int64_t> stragglers;
  if (summary.ranks.size() > 1) {
    row["ranks"] = nlohmann::json::array();
    for (std::size_t r = 0; r < summary.ranks.size(); ++r) {
      const auto& t = summary.ranks[r];
      row["ranks"].push_back({{"rank", r}, {"busy_ms_median", t.busy_median_ms}, {"busy_ms_p90", t.busy_p90_ms},
                              {"data_wait_ms", t.data_wait_ms}, {"compute_ms", t.compute_ms},
                              {"collective_wait_ms", t.collective_wait_ms}});
      scalars[fmt::format("ranks/busy_ms_median/rank_{}", r)] = t.busy_median_ms;
    }
    stragglers = find_stragglers(summary.ranks);
    row["stragglers"] = stragglers;
  }
  loggers.log_scalars(scalars, summary.epoch);
  loggers.log_metrics(row);
  if (!stragglers.empty()) warn_stragglers(log, summary, stragglers);
  log.info("epoch {}/{} | train{} | val{} | lr {:.5g} | {:.1f} s, {:.0f} samples/s", summary.epoch,
           summary.max_epochs, describe(summary.train), describe(summary.val), summary.lr,
           summary.epoch_seconds, summary.samples_per_s);
}

}  // namespace bolt
