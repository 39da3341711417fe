#pragma once
// The text of the sbatch script `bolt-launch submit` writes: a pure function of what was asked,
// so golden files can pin it. No user value reaches the shell unquoted: the worker's options
// travel in a JSON config file beside the script, paths are single-quoted, and #SBATCH values
// are one line each (checked before).
#include <cstddef>
#include <optional>
#include <string>

#include "SubmitOptions.h"

namespace bolt::launch {

struct ScriptSpec {
  SubmitOptions resources;  // the #SBATCH side (nodes, tasks, time, ...)
  std::string job_name;
  std::string launcher;     // absolute path of bolt-launch
  std::string stage;        // fit | validate | test
  std::string workdir;      // --chdir: where relative paths in the config resolve
  std::string submit_dir;   // holds config.json, points/<i>.json and the job's output
  // A sweep slice: array tasks 0..count-1 run points first..first+count-1.
  std::optional<std::pair<std::size_t, std::size_t>> array_slice;
};

// 'text' for the shell: single quotes, a quote inside becomes '\''.
std::string shell_quote(const std::string& text);

// A value for an #SBATCH line: as is when plain, in double quotes when it has spaces; a value
// with a double quote or a control character cannot be written and throws UsageError.
std::string directive_value(const std::string& what, const std::string& value);

std::string sbatch_script(const ScriptSpec& spec);

}  // namespace bolt::launch
