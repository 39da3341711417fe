// A plugin that claims another plugin ABI: bolt-worker must refuse it, naming both versions.
#include "bolt/Version.h"

namespace {
struct Info {
  int abi_version;
  const char* torch_version;
  const char* bolt_version;
  const char* name;
};
const Info info{BOLT_PLUGIN_ABI_VERSION + 98, "0.0.0", "0.0.0", "wrong_abi"};
}  // namespace

extern "C" __attribute__((visibility("default"))) const void* bolt_plugin_info() { return &info; }
