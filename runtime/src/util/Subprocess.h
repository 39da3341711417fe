#pragma once
// Runs a program (no shell: arguments reach it literally) and collects its output. Used for
// Slurm's client commands (scontrol, squeue, sbatch) and for asking bolt-worker to validate a
// config before anything is submitted.
#include <string>
#include <vector>

namespace bolt {

struct SubprocessResult {
  int exit_code = -1;        // the exit status, or 128 + signal; -1: it could not be started
  std::string output;        // stdout (and stderr when merged)
  std::string errors;        // stderr, when captured apart
  std::string failure;       // why it could not be started or waited for
  bool ok() const { return exit_code == 0; }
};

enum class StderrTo { Inherit, Output, Errors };

// `args[0]` is looked up in PATH. The program's stderr goes where this process's goes, joins
// `output`, or is captured into `errors`. Its stdin is /dev/null.
SubprocessResult run_subprocess(const std::vector<std::string>& args, StderrTo stderr_to = StderrTo::Inherit);

// "scontrol requeue 42 exited 1" / "... was killed by signal 9" / "cannot run scontrol: ...".
std::string describe_failure(const std::vector<std::string>& args, const SubprocessResult& result);

}  // namespace bolt
