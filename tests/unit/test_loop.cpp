// The parts of the training loop that need no process group: the gradient scaler, the
// schedules, clipping, named batch fields and the tracker's key check.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <torch/optim/sgd.h>

#include "bolt/Error.h"
#include "bolt/GradScaler.h"
#include "bolt/Gradients.h"
#include "bolt/Loggers.h"
#include "bolt/Schedules.h"

namespace {
at::Tensor parameter_with_grad(std::vector<float> grad) {
  auto p = at::zeros({static_cast<int64_t>(grad.size())}).requires_grad_(true);
  p.mutable_grad() = at::tensor(grad);
  return p;
}
}  // namespace

TEST_CASE("grad scaler: unscales finite gradients, skips and backs off on inf/NaN, grows after its interval", "[loop]") {
  bolt::GradScaler scaler({/*init_scale=*/1024.0, /*growth_factor=*/2.0, /*backoff_factor=*/0.5, /*growth_interval=*/3});
  CHECK(scaler.scale(at::tensor(2.0f)).item<float>() == 2048.0f);
  auto p = parameter_with_grad({1024.0f, -2048.0f});
  CHECK(scaler.unscale({p}));
  CHECK(p.grad()[0].item<float>() == 1.0f);
  CHECK(p.grad()[1].item<float>() == -2.0f);

  for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    auto q = parameter_with_grad({1.0f, bad});
    CHECK_FALSE(scaler.unscale({p, q}));
    scaler.update(true);
  }
  CHECK(scaler.scale_value() == 256.0);  // backed off twice
  CHECK(scaler.skipped_steps() == 2);
  for (int i = 0; i < 2; ++i) scaler.update(false);
  CHECK(scaler.scale_value() == 256.0);
  scaler.update(false);  // the third good step in a row
  CHECK(scaler.scale_value() == 512.0);
  CHECK(scaler.growth_tracker() == 0);

  bolt::GradScaler restored;
  restored.load_state(scaler.state());
  CHECK(restored.scale_value() == 512.0);
  CHECK(restored.skipped_steps() == 2);
  CHECK_THROWS_AS(restored.load_state({{"scale", -1.0}, {"growth_tracker", 0}}), bolt::CheckpointError);
  CHECK_THROWS_AS(restored.load_state({{"scale", "big"}}), bolt::CheckpointError);
}

TEST_CASE("grad scaler defaults are PyTorch's", "[loop]") {
  bolt::GradScaler scaler;
  CHECK(scaler.scale_value() == 65536.0);
  for (int i = 0; i < 1999; ++i) scaler.update(false);
  CHECK(scaler.scale_value() == 65536.0);
  scaler.update(false);
  CHECK(scaler.scale_value() == 131072.0);
}

TEST_CASE("warm-up + cosine: closed form, set_step restores, total from the fit", "[loop]") {
  auto w = at::zeros({1}).requires_grad_(true);
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(1.0));
  auto lr = [&] { return sgd.param_groups()[0].options().get_lr(); };
  bolt::WarmupCosineLR schedule(sgd, /*warmup_steps=*/4, /*total_steps=*/0, /*min_lr_ratio=*/0.1);
  CHECK(lr() == 0.0);  // step 0 of the warm-up
  schedule.set_total_steps(12);
  schedule.step();
  CHECK(lr() == Approx(0.25));
  for (int i = 0; i < 3; ++i) schedule.step();
  CHECK(lr() == Approx(1.0));  // warm-up done at step 4
  for (int i = 0; i < 4; ++i) schedule.step();
  CHECK(lr() == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.5))));  // half-way
  for (int i = 0; i < 10; ++i) schedule.step();
  CHECK(lr() == Approx(0.1));  // flat past the end
  schedule.set_step(6);
  CHECK(schedule.steps_taken() == 6);
  CHECK(lr() == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.25))));
  CHECK_THROWS_AS(bolt::WarmupCosineLR(sgd, 2, 10, 1.5), bolt::ConfigError);
}

TEST_CASE("schedules from keys: step decays per epoch, warmup_cosine per step", "[loop]") {
  bolt::OptionSet options("model");
  bolt::declare_schedule_options(options);
  auto w = at::zeros({1}).requires_grad_(true);
  auto values = options.defaults();
  values["lr_schedule"] = "step";
  values["lr_step_size"] = 2;
  values["lr_gamma"] = 0.1;
  auto stepped = bolt::configure_schedule(std::make_shared<torch::optim::SGD>(std::vector<at::Tensor>{w}, torch::optim::SGDOptions(1.0)),
                                          bolt::Config("model", values));
  CHECK(stepped.interval == bolt::SchedulerInterval::Epoch);
  for (int i = 0; i < 2; ++i) stepped.scheduler->step();
  CHECK(stepped.optimizer->param_groups()[0].options().get_lr() == Approx(0.1));
  values["lr_schedule"] = "warmup_cosine";
  auto cosine = bolt::configure_schedule(std::make_shared<torch::optim::SGD>(std::vector<at::Tensor>{w}, torch::optim::SGDOptions(1.0)),
                                         bolt::Config("model", values));
  CHECK(cosine.interval == bolt::SchedulerInterval::Step);
  values["lr_schedule"] = "none";
  CHECK_FALSE(bolt::configure_schedule(std::make_shared<torch::optim::SGD>(std::vector<at::Tensor>{w}, torch::optim::SGDOptions(1.0)),
                                       bolt::Config("model", values)).scheduler);
}

TEST_CASE("clipping returns the pre-clip norm and clips by norm or by value", "[loop]") {
  auto p = parameter_with_grad({3.0f, 4.0f});
  const auto norm = bolt::clip_gradients({p}, 1.0, bolt::ClipAlgorithm::Norm);
  CHECK(norm.item<double>() == Approx(5.0));
  CHECK(p.grad()[0].item<float>() == Approx(0.6f).epsilon(1e-5));
  CHECK(p.grad()[1].item<float>() == Approx(0.8f).epsilon(1e-5));
  auto q = parameter_with_grad({3.0f, -0.5f});
  CHECK(bolt::clip_gradients({q}, 1.0, bolt::ClipAlgorithm::Value).item<double>() == Approx(std::sqrt(9.25)));
  CHECK(q.grad()[0].item<float>() == 1.0f);
  CHECK(q.grad()[1].item<float>() == -0.5f);
  auto small = parameter_with_grad({0.3f, 0.4f});
  bolt::clip_gradients({small}, 1.0, bolt::ClipAlgorithm::Norm);
  CHECK(small.grad()[1].item<float>() == Approx(0.4f).epsilon(1e-5));  // under the limit: unchanged
  CHECK_FALSE(bolt::total_grad_norm({at::zeros({2})}).defined());
}

TEST_CASE("batches carry named fields through datasets, subsets and transforms", "[loop]") {
  auto data = std::make_shared<bolt::TensorDataset>(std::map<std::string, at::Tensor>{
      {"inputs", at::arange(10).view({5, 2})}, {"mask", at::tensor({1, 0, 1, 1, 0})}, {"targets", at::arange(5)}});
  auto subset = bolt::limit_dataset(data, 3);
  const auto batch = subset->get_batch({2, 0});
  CHECK(batch.size() == 2);
  CHECK(batch.names() == std::vector<std::string>{"inputs", "targets", "mask"});
  CHECK(batch["mask"].equal(at::tensor({1, 1})));
  CHECK(batch["inputs"][0][1].item<int64_t>() == 5);
  const auto doubled = batch.map([](const at::Tensor& t) { return t * 2; });
  CHECK(doubled["mask"].equal(at::tensor({2, 2})));
  CHECK(doubled.targets.equal(at::tensor({4, 0})));
  try {
    (void)batch["lengths"];
    FAIL("no error");
  } catch (const bolt::DataError& e) {
    CHECK(std::string(e.what()).find("no field 'lengths'; it has: inputs, targets, mask") != std::string::npos);
  }
  CHECK_THROWS_WITH(bolt::TensorDataset(std::map<std::string, at::Tensor>{{"inputs", at::zeros({4, 2})}, {"mask", at::zeros({3})}}),
                    Catch::Contains("'inputs' has 4 examples but 'mask' has 3"));
  CHECK_THROWS_AS(bolt::TensorDataset(std::map<std::string, at::Tensor>{{"inputs", at::zeros({})}}), bolt::DataError);
}

TEST_CASE("tracker keys: empty tracks every reported name, an unknown one is a config error", "[loop]") {
  bolt::OptionSet options("loggers");
  bolt::Loggers::declare_options(options);
  auto values = options.defaults();
  values["progress"] = false;
  values["tensorboard"] = false;
  {
    bolt::Loggers loggers(bolt::Config("loggers", values), 1);
    CHECK(loggers.configure_tracker({"loss", "score", "kept"}).keys() == std::vector<std::string>{"loss", "score", "kept"});
  }
  values["tracker_keys"] = {"loss", "perplexity"};
  bolt::Loggers loggers(bolt::Config("loggers", values), 1);
  CHECK_THROWS_WITH(loggers.configure_tracker({"loss", "score"}),
                    Catch::Contains("no step reports 'perplexity'; the steps report: loss, score"));
  CHECK(bolt::get_logger("model")->name() == "bolt.model");
}
