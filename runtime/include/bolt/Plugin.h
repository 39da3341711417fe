#pragma once
// What a plugin writes to make its classes loadable by bolt-worker:
//
//   BOLT_PLUGIN("my_plugin");                        // once per plugin
//   BOLT_REGISTER_MODEL(MyModel, "my_model");        // a bolt::Module subclass
//   BOLT_REGISTER_DATA(MyDataModule, "my_data");     // a bolt::DataModule subclass
//
// Each class needs a constructor taking `const bolt::Config&` and may hide the static
// `declare_options(bolt::OptionSet&)` to add its own keys.
#include "bolt/Export.h"
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/version.h>

#include "bolt/Config.h"
#include "bolt/DataModule.h"
#include "bolt/Module.h"
#include "bolt/Version.h"

namespace bolt {

struct BOLT_API PluginInfo {
  int abi_version;
  const char* torch_version;
  const char* bolt_version;
  const char* name;
};

struct BOLT_API ModelEntry {
  std::string name;
  std::string plugin;
  std::function<void(OptionSet&)> declare_options;
  std::function<std::shared_ptr<Module>(const Config&)> create;
};

struct BOLT_API DataEntry {
  std::string name;
  std::string plugin;
  std::function<void(OptionSet&)> declare_options;
  std::function<std::shared_ptr<DataModule>(const Config&)> create;
};

// The one global registry: static initialisers of a plugin add to it while it is dlopen'ed.
// Entries arrive "staged" and are committed only once the plugin's ABI has been checked.
class BOLT_API Registry {
 public:
  static Registry& instance();

  void stage_model(ModelEntry entry);
  void stage_data(DataEntry entry);
  void commit_staged(const std::string& plugin);
  void discard_staged();

  const ModelEntry& model(const std::string& name) const;  // throws PluginError listing names
  const DataEntry& data(const std::string& name) const;
  std::vector<std::string> model_names() const;
  std::vector<std::string> data_names() const;
  const std::vector<ModelEntry>& models() const { return models_; }
  const std::vector<DataEntry>& datas() const { return datas_; }

 private:
  std::vector<ModelEntry> models_, staged_models_;
  std::vector<DataEntry> datas_, staged_datas_;
};

namespace detail {
template <class T>
struct ModelRegistration {
  explicit ModelRegistration(const char* name) {
    Registry::instance().stage_model(
        {name, "", [](OptionSet& options) { T::declare_options(options); },
         [](const Config& config) -> std::shared_ptr<Module> {
           return std::make_shared<T>(config);
         }});
  }
};
template <class T>
struct DataRegistration {
  explicit DataRegistration(const char* name) {
    Registry::instance().stage_data(
        {name, "", [](OptionSet& options) { T::declare_options(options); },
         [](const Config& config) -> std::shared_ptr<DataModule> {
           return std::make_shared<T>(config);
         }});
  }
};
}  // namespace detail

}  // namespace bolt

#define BOLT_PLUGIN_CONCAT_INNER(a, b) a##b
#define BOLT_PLUGIN_CONCAT(a, b) BOLT_PLUGIN_CONCAT_INNER(a, b)

#define BOLT_PLUGIN(plugin_name)                                                         \
  extern "C" __attribute__((visibility("default"))) const ::bolt::PluginInfo*            \
  bolt_plugin_info() {                                                                   \
    static const ::bolt::PluginInfo info{BOLT_PLUGIN_ABI_VERSION, TORCH_VERSION,         \
                                         BOLT_VERSION_STRING, plugin_name};              \
    return &info;                                                                        \
  }

#define BOLT_REGISTER_MODEL(Class, model_name)                                           \
  static const ::bolt::detail::ModelRegistration<Class> BOLT_PLUGIN_CONCAT(              \
      bolt_model_registration_, __LINE__){model_name}

#define BOLT_REGISTER_DATA(Class, data_name)                                             \
  static const ::bolt::detail::DataRegistration<Class> BOLT_PLUGIN_CONCAT(               \
      bolt_data_registration_, __LINE__){data_name}
