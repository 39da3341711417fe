#include "RunDirectory.h"

#include <fmt/format.h>

#include "../diagnosis/FailureRecorder.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

fs::path resolve_checkpoint(const TrainerOptions& options, Loggers& loggers) {
  const auto& ckpt = options.ckpt_path;
  if (ckpt.empty()) return {};
  if (ckpt == "best" || ckpt == "last") {
    const fs::path relative = fs::path("checkpoints") / (ckpt + ".pt");
    const auto dir = find_newest_version_with(loggers.logs_dir(), loggers.run_name(), relative);
    if (dir.empty()) {
      throw CheckpointError(fmt::format(
          "trainer.ckpt_path {}: no {} under {} (run fit first, or give a file)", ckpt,
          relative.string(), (loggers.logs_dir() / loggers.run_name()).string()));
    }
    return dir / relative;
  }
  return ckpt;
}

fs::path resolve_resume(const TrainerOptions& options, Loggers& loggers) {
  const auto& resume = options.resume;
  if (resume.empty()) return {};
  if (resume == "auto") {
    const fs::path relative = fs::path("checkpoints") / "last.pt";
    const auto dir = find_newest_version_with(loggers.logs_dir(), loggers.run_name(), relative);
    return dir.empty() ? fs::path() : dir / relative;
  }
  if (!fs::is_regular_file(resume)) {
    throw CheckpointError(fmt::format("trainer.resume {}: no such checkpoint file", resume));
  }
  return resume;
}

fs::path run_dir_of(const fs::path& checkpoint) {
  const auto parent = checkpoint.parent_path();
  if (parent.filename() == "checkpoints" && fs::exists(parent.parent_path() / "config.json")) {
    return parent.parent_path();
  }
  return {};
}

fs::path agree_on_run_dir(dist::Communicator* comm, int64_t rank, const std::function<fs::path()>& choose) {
  fs::path dir;
  if (comm == nullptr) {
    dir = choose();
  } else if (rank == 0) {
    dir = choose();
    comm->store_set("bolt/run_dir", fs::absolute(dir).string());
  } else {
    dir = comm->store_get("bolt/run_dir");
  }
  // Failure and hang records go there from now on (and a supervising bolt-launch learns it).
  diagnosis::set_run_directory(fs::absolute(dir));
  return dir;
}

}  // namespace bolt
