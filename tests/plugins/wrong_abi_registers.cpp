// A plugin that registers a model and a data module but claims another plugin ABI: bolt-worker
// must refuse it and keep nothing it registered (its static initialisers run during dlopen,
// before the check), and unload it.
#include "bolt/Plugin.h"

namespace ghost {
class GhostModel : public bolt::Module {
 public:
  explicit GhostModel(const bolt::Config&) {}
};
class GhostData : public bolt::DataModule {
 public:
  explicit GhostData(const bolt::Config& config) : bolt::DataModule(config) {}
  bolt::DatasetSplits setup_dataset() override { return {}; }
};
}  // namespace ghost

BOLT_REGISTER_MODEL(ghost::GhostModel, "ghost_model");
BOLT_REGISTER_DATA(ghost::GhostData, "ghost_data");

extern "C" __attribute__((visibility("default"))) const bolt::PluginInfo* bolt_plugin_info() {
  static const bolt::PluginInfo info{BOLT_PLUGIN_ABI_VERSION + 98, TORCH_VERSION, "0.0.0", "ghost"};
  return &info;
}
