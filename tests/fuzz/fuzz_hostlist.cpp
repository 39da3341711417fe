// Slurm host lists ("gpu[001-004,07],cpu3", "r[1-2]n[01-02]"): any text either expands to at
// most the bounded number of non-empty names without '[' or ',' or is refused with Bolt's error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "FuzzSupport.h"
#include "bolt/slurm/Hostlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bolt::fuzz::expect_only_bolt_errors(text, [&] {
    const auto hosts = bolt::slurm::expand_hostlist(text);
    if (hosts.empty()) bolt::fuzz::defect("a host list expanded to nothing", text);
    if (hosts.size() > 100000) bolt::fuzz::defect("a host list expanded past its bound", text);
    for (const auto& host : hosts) {
      if (host.empty() || host.find_first_of("[],") != std::string::npos) {
        bolt::fuzz::defect("an expanded host name is empty or holds list syntax", text + " -> " + host);
      }
    }
  });
  return 0;
}
