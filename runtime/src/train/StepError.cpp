#include "StepError.h"

#include <exception>

#include <fmt/format.h>

#include "../diagnosis/FailureRecorder.h"
#include "../util/ErrorText.h"
#include "bolt/Error.h"

namespace bolt {

namespace {
class StepError : public Error {
 public:
  StepError(const std::string& what, int exit_code) : Error(what), exit_code_(exit_code) {}
  int exit_code() const override { return exit_code_; }

 private:
  int exit_code_;
};

std::string describe(const StepPlace& p) {
  std::string where = fmt::format("{}: epoch {}, step {}", p.stage, p.epoch + 1, p.batch_idx + 1);
  if (std::string(p.stage) == "fit") where += fmt::format(" (global step {})", p.global_step);
  where += fmt::format(", rank {}", p.rank);
  if (!p.origin.empty()) where += ", " + p.origin;
  return where;
}

[[noreturn]] void leave_with(const StepError& error) {
  diagnosis::begin_leaving(error, error.what(), error.exit_code());
  throw error;
}
}  // namespace

void rethrow_with_place(const StepPlace& place) {
  try {
    throw;
  } catch (const StepError&) {
    throw;
  } catch (const Error& e) {
    if (dynamic_cast<const PeerFailureError*>(&e) || dynamic_cast<const UsageError*>(&e)) {
      diagnosis::begin_leaving(e, e.what(), e.exit_code());
      throw;
    }
    leave_with(StepError(fmt::format("{}: {}", describe(place), e.what()), e.exit_code()));
  } catch (const std::exception& e) {
    leave_with(StepError(fmt::format("{}: {}", describe(place), library_message(e)), 1));
  }
}

}  // namespace bolt
