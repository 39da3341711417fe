#include "ProgressBar.h"

#include <fmt/format.h>

namespace bolt {

namespace {
std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return fmt::format("{}:{:02d}:{:02d}", s / 3600, s / 60 % 60, s % 60);
}
}  // namespace

ProgressBar::ProgressBar(bool enabled, bool interactive, std::FILE* out)
    : enabled_(enabled), interactive_(interactive), out_(out) {}

void ProgressBar::start(int64_t epoch, int64_t max_epochs, int64_t total_steps, int64_t first_step) {
  epoch_ = epoch;
  max_epochs_ = max_epochs;
  total_ = total_steps;
  first_ = first_step;
  next_percent_ = 10;
  if (total_ > 0) {
    while (next_percent_ * total_ <= first_ * 100) next_percent_ += 10;
  }
  started_ = last_draw_ = Clock::now();
  drawn_ = false;
}

bool ProgressBar::due(int64_t step) const {
  if (!enabled_ || total_ <= 0) return false;
  if (interactive_) return step == total_ || Clock::now() - last_draw_ >= std::chrono::milliseconds(100);
  return step * 100 >= next_percent_ * total_;
}

void ProgressBar::update(int64_t step, double running_loss) {
  if (!due(step)) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step - first_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - step) / rate : 0.0;
  const auto percent = step * 100 / total_;
  const auto line = fmt::format("epoch {}/{} | {}/{} {:3d}% | {:.1f} it/s | ETA {} | loss {:.4f}",
                                epoch_ + 1, max_epochs_, step, total_, percent, rate, clock_text(eta),
                                running_loss);
  if (interactive_) {
    const int width = 28;
    const auto filled = static_cast<int>(width * step / total_);
    fmt::print(out_, "\r[{}{}] {}\x1b[K", std::string(static_cast<std::size_t>(filled), '#'),
               std::string(static_cast<std::size_t>(width - filled), ' '), line);
    last_draw_ = Clock::now();
    drawn_ = true;
  } else {
    fmt::print(out_, "progress: {}\n", line);
    while (next_percent_ <= percent) next_percent_ += 10;
  }
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (enabled_ && interactive_ && drawn_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
}

}  // namespace bolt
