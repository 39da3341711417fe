#include "EpochReport.h"

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
  loggers.log_scalars(scalars, summary.epoch);
  loggers.log_metrics(row);
  log.info("epoch {}/{} | train{} | val{} | lr {:.5g} | {:.1f} s, {:.0f} samples/s", summary.epoch,
           summary.max_epochs, describe(summary.train), describe(summary.val), summary.lr,
           summary.epoch_seconds, summary.samples_per_s);
}

}  // namespace bolt
