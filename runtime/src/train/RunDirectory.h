#pragma once
// Which run directory and which checkpoint a stage uses: decided by rank 0, followed by all.
#include <filesystem>
#include <functional>

#include "../dist/Communicator.h"
#include "bolt/Loggers.h"
#include "bolt/TrainerOptions.h"

namespace bolt {

// trainer.ckpt_path: none, best/last of the newest run of this name, or a file.
std::filesystem::path resolve_checkpoint(const TrainerOptions& options, Loggers& loggers);
// trainer.resume: none, the newest last.pt of this run name (auto; may be none), or a file.
std::filesystem::path resolve_resume(const TrainerOptions& options, Loggers& loggers);
// A checkpoint inside <run>/checkpoints/ belongs to that run (empty otherwise).
std::filesystem::path run_dir_of(const std::filesystem::path& checkpoint);
// Every rank gets the directory rank 0's `choose` returned.
std::filesystem::path agree_on_run_dir(dist::Communicator* comm, int64_t rank,
                                       const std::function<std::filesystem::path()>& choose);

}  // namespace bolt
