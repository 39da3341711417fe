// The launcher's summary of a local group as data: which rank is the root cause, and the exit code.
#include <catch2/catch.hpp>

#include <csignal>

#include "FailureReport.h"
#include "bolt/Error.h"

namespace {
bolt::launch::SupervisedRank rank_with(int rank, int exit_code, bool stopped_by_us = false) {
  bolt::launch::SupervisedRank r;
  r.plan.rank = rank;
  r.exit_code = exit_code;
  r.stopped_by_us = stopped_by_us;
  return r;
}
}  // namespace

TEST_CASE("failure report: casualties are not root causes, the exit code is the cause's", "[launch]") {
  using bolt::launch::GroupEnd;
  using bolt::launch::is_root_cause;
  CHECK_FALSE(is_root_cause(rank_with(0, bolt::PeerFailureError::kExitCode), {}));
  CHECK_FALSE(is_root_cause(rank_with(0, bolt::kStoppedForRequeueExitCode), {}));
  CHECK_FALSE(is_root_cause(rank_with(0, -SIGTERM, true), {}));
  CHECK(is_root_cause(rank_with(0, -SIGTERM, false), {}));  // someone else's SIGTERM
  CHECK_FALSE(is_root_cause(rank_with(0, -SIGKILL, true), GroupEnd{true, std::nullopt}));
  CHECK(is_root_cause(rank_with(0, -SIGSEGV, true), {}));
  CHECK_FALSE(is_root_cause(rank_with(0, -SIGINT), GroupEnd{false, SIGINT}));

  const std::vector<bolt::launch::SupervisedRank> ranks{rank_with(0, 3), rank_with(1, -SIGSEGV)};
  CHECK(bolt::launch::report_group(ranks, 1, {}, "host", "") == 128 + SIGSEGV);
  CHECK(bolt::launch::report_group({rank_with(0, 0), rank_with(1, 0)}, std::nullopt, {}, "host", "") == 0);
  CHECK(bolt::launch::report_group({rank_with(0, 75), rank_with(1, 75)}, std::nullopt, {}, "host", "") == 75);
  CHECK(bolt::launch::report_group({rank_with(0, -SIGINT)}, 0, GroupEnd{false, SIGINT}, "host", "") == 128 + SIGINT);
  CHECK(bolt::launch::signal_name(SIGSEGV) == "SIGSEGV");
}
