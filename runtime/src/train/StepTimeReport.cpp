#include "StepTimeReport.h"

#include <algorithm>

#include "EpochReport.h"

namespace bolt {

namespace {

constexpr int64_t kColumns = 5;

double quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

}  // namespace

RankStepTimes summarize_step_times(const StepTimes& t) {
  RankStepTimes r;
  if (t.steps == 0) return r;
  const double per_step_ms = 1000.0 / static_cast<double>(t.steps);
  r.busy_median_ms = quantile(t.busy_ms, 0.5);
  r.busy_p90_ms = quantile(t.busy_ms, 0.9);
  r.data_wait_ms = t.data_wait * per_step_ms;
  r.compute_ms = t.compute * per_step_ms;
  r.collective_wait_ms = t.collective_wait * per_step_ms;
  return r;
}

std::vector<RankStepTimes> gather_step_times(dist::Communicator* comm, int64_t rank, const RankStepTimes& own,
                                             const c10::Device& device) {
  if (comm == nullptr) return {own};
  const int64_t world = comm->size();
  // A sum of one-hot rows: every rank ends up with all of them (doubles: exact).
  auto rows = at::zeros({world, kColumns}, at::kDouble);
  auto mine = rows[rank];
  const double values[kColumns] = {own.busy_median_ms, own.busy_p90_ms, own.data_wait_ms, own.compute_ms,
                                   own.collective_wait_ms};
  for (int64_t c = 0; c < kColumns; ++c) mine[c] = values[c];
  if (!device.is_cpu()) rows = rows.to(device);
  comm->allreduce_sum(rows, "step times by rank");
  rows = rows.to(at::kCPU);
  std::vector<RankStepTimes> all(static_cast<std::size_t>(world));
  const auto* data = rows.data_ptr<double>();
  for (int64_t r = 0; r < world; ++r) {
    const auto* row = data + r * kColumns;
    all[static_cast<std::size_t>(r)] = {row[0], row[1], row[2], row[3], row[4]};
  }
  return all;
}

std::vector<int64_t> find_stragglers(const std::vector<RankStepTimes>& ranks, double ratio) {
  if (ranks.size() < 2) return {};
  std::vector<double> medians;
  for (const auto& r : ranks) medians.push_back(r.busy_median_ms);
  std::sort(medians.begin(), medians.end());
  const double typical = medians[(medians.size() - 1) / 2];
  std::vector<int64_t> slow;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const double busy = ranks[r].busy_median_ms;
    if (typical > 0 && busy >= ratio * typical && busy - typical >= kStragglerMinExcessMs) {
      slow.push_back(static_cast<int64_t>(r));
    }
  }
  return slow;
}

}  // namespace bolt
