#pragma once
// bolt-launch why <run dir>: the diagnosis of a job from its ranks' records, for jobs that
// had no supervising bolt-launch (one task per rank under srun) or whose output is gone.
#include <string>
#include <vector>

namespace bolt::launch {

// args[0] is "why". Exit 0 with the diagnosis printed, 1 when the run left no records.
int run_why(const std::vector<std::string>& args);

}  // namespace bolt::launch
