// The launcher's console and restart rule as tables: merged duplicate lines, --log-ranks,
// when to restart and after how long.
#include <catch2/catch.hpp>

#include "LineDeduplicator.h"
#include "RestartPolicy.h"
#include "bolt/launch/LaunchOptions.h"

using bolt::launch::ConsoleLine;
using bolt::launch::LineDeduplicator;

TEST_CASE("console: identical lines of several ranks within the window become one", "[launch]") {
  LineDeduplicator dedup(0.2);
  dedup.add(0, true, "2026-11-27 10:00:00,101 | WARNING | disk almost full", 1.00);
  dedup.add(2, true, "2026-11-27 10:00:00,117 | WARNING | disk almost full", 1.02);
  dedup.add(1, false, "rank 1 says hello", 1.03);
  dedup.add(1, true, "2026-11-27 10:00:00,130 | WARNING | disk almost full", 1.05);
  dedup.add(0, true, "2026-11-27 10:00:00,140 | WARNING | disk almost full", 1.10);  // rank 0 again: a new line
  dedup.add(3, true, "2026-11-27 10:00:00,999 | WARNING | disk almost full", 1.30);  // after both windows
  CHECK(dedup.take_due(1.19).empty());
  const auto due = dedup.take_due(1.24);
  REQUIRE(due.size() == 2);
  CHECK(console_text(due[0]) == "[ranks 0-2] 2026-11-27 10:00:00,101 | WARNING | disk almost full");
  CHECK(console_text(due[1]) == "[rank 1] rank 1 says hello");
  CHECK(!due[1].is_stderr);
  const auto rest = dedup.take_all();
  REQUIRE(rest.size() == 2);
  CHECK(console_text(rest[0]) == "[rank 0] 2026-11-27 10:00:00,140 | WARNING | disk almost full");
  CHECK(console_text(rest[1]) == "[rank 3] 2026-11-27 10:00:00,999 | WARNING | disk almost full");
  CHECK_FALSE(dedup.next_due().has_value());
  CHECK(bolt::launch::console_text({{5, 0, 2, 6, 7}, false, "x"}) == "[ranks 0, 2, 5-7] x");
  CHECK(bolt::launch::dedup_key("2026-11-27 10:00:00.5 text") == " text");
  CHECK(bolt::launch::dedup_key("no time here") == "no time here");
}

TEST_CASE("console: --log-ranks lists", "[launch]") {
  using bolt::launch::parse_rank_list;
  CHECK(parse_rank_list("", 4).empty());
  CHECK(parse_rank_list("0,2-3", 4) == std::set<int64_t>{0, 2, 3});
  CHECK(parse_rank_list("1-1", 2) == std::set<int64_t>{1});
  for (const auto* bad : {"4", "a", "1-", "3-1", "0,,1", "-1", "99999999999"}) {
    CHECK_THROWS_AS(parse_rank_list(bad, 4), bolt::UsageError);
  }
}

TEST_CASE("restart policy: failures restart with back-off; usage errors, success and requeue do not", "[launch]") {
  using bolt::launch::decide_restart;
  CHECK_FALSE(decide_restart(0, 0, 3, false).restart);
  CHECK_FALSE(decide_restart(75, 0, 3, false).restart);
  CHECK_FALSE(decide_restart(1, 3, 3, false).restart);
  CHECK_FALSE(decide_restart(1, 0, 3, true).restart);
  const auto usage = decide_restart(2, 0, 3, false);
  CHECK_FALSE(usage.restart);
  CHECK(usage.note.find("usage or configuration error") != std::string::npos);
  CHECK(decide_restart(1, 0, 3, false).delay_s == 0.5);
  CHECK(decide_restart(4, 2, 3, false).delay_s == 2.0);
  CHECK(decide_restart(137, 10, 20, false).delay_s == 30.0);
}
