#pragma once
// trainer.monitor_mode's rule, shared by the trainer and `bolt-launch status` (torch-free):
// max or min as given; auto minimizes a value whose name ends in "loss", maximizes the rest.
#include <string>

namespace bolt {

inline bool monitor_maximizes(const std::string& monitor, const std::string& mode) {
  const bool loss = monitor.size() >= 4 && monitor.compare(monitor.size() - 4, 4, "loss") == 0;
  return mode == "max" || (mode == "auto" && !loss);
}

}  // namespace bolt
