// Slurm tasks-per-node lists ("2(x3),1"): expanded to a bounded list of positive counts whose
// sum does not overflow, or refused with Bolt's error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "FuzzSupport.h"
#include "bolt/slurm/Hostlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bolt::fuzz::expect_only_bolt_errors(text, [&] {
    const auto counts = bolt::slurm::expand_tasks_per_node(text);
    if (counts.empty() || counts.size() > 100000) bolt::fuzz::defect("a count list of unexpected length", text);
    int64_t sum = 0;
    for (const auto count : counts) {
      if (count <= 0 || count > 1000000000) bolt::fuzz::defect("a task count out of range", text);
      sum += count;  // bounded above: no overflow possible (UBSan would say otherwise)
    }
    (void)sum;
  });
  return 0;
}
