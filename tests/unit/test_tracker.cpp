#include <catch2/catch.hpp>

#include "bolt/Error.h"
#include "bolt/Tracker.h"

TEST_CASE("tracker: sample-weighted mean per epoch, sum, reset", "[tracker]") {
  bolt::Tracker mean({"loss", "score"}, bolt::Reduction::Mean);
  mean.update({{"loss", at::scalar_tensor(1.0)}, {"score", at::scalar_tensor(0.5)}}, 10);
  mean.update({{"loss", at::scalar_tensor(4.0)}, {"score", at::scalar_tensor(1.0)}}, 30);
  auto r = mean.result();
  CHECK(r["loss"] == Approx((10 * 1.0 + 30 * 4.0) / 40));
  CHECK(r["score"] == Approx((10 * 0.5 + 30 * 1.0) / 40));
  CHECK(mean.count() == 40);
  mean.reset();
  CHECK(mean.count() == 0);

  bolt::Tracker sum({"loss"}, bolt::Reduction::Sum);
  sum.update({{"loss", at::scalar_tensor(1.5)}}, 10);
  sum.update({{"loss", at::scalar_tensor(2.0)}}, 1);
  CHECK(sum.result()["loss"] == Approx(3.5));
  CHECK_THROWS_AS(sum.update({{"score", at::scalar_tensor(1.0)}}, 1), bolt::Error);
  CHECK_THROWS_AS(bolt::parse_reduction("median"), bolt::ConfigError);
}

TEST_CASE("tracker: states of two ranks summed equal one rank that saw everything", "[tracker]") {
  bolt::Tracker a({"loss"}, bolt::Reduction::Mean), b({"loss"}, bolt::Reduction::Mean), all({"loss"}, bolt::Reduction::Mean);
  a.update({{"loss", at::scalar_tensor(2.0)}}, 3);
  b.update({{"loss", at::scalar_tensor(5.0)}}, 1);
  all.update({{"loss", at::scalar_tensor(2.0)}}, 3);
  all.update({{"loss", at::scalar_tensor(5.0)}}, 1);
  a.load_state(a.state() + b.state());
  CHECK(a.result()["loss"] == Approx(all.result()["loss"]));
  CHECK(a.count() == 4);
}
