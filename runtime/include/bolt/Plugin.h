#pragma once
// What a plugin writes to make its classes loadable by bolt-worker:
//
//   BOLT_PLUGIN("my_plugin");                        // once per plugin
//   BOLT_REGISTER_MODEL(MyModel, "my_model");        // a bolt::Module subclass
//   BOLT_REGISTER_DATA(MyDataModule, "my_data");     // a bolt::DataModule subclass
//   BOLT_REGISTER_TRAINER(MyTrainer, "my_trainer");  // a bolt::Trainer subclass (optional)
//
// A model or data module needs a constructor taking `const bolt::Config&`; a trainer the
// bolt::Trainer constructor's arguments (`using bolt::Trainer::Trainer;`). Each may hide the
// static `declare_options(bolt::OptionSet&)` to add its own keys (a trainer's go under
// trainer., after the built-in ones). `trainer.name` picks the trainer ("default": Bolt's).
#include "bolt/Export.h"
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/version.h>

#include "bolt/Config.h"
#include "bolt/DataModule.h"
#include "bolt/Module.h"
#include "bolt/Trainer.h"
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

using TrainerFactory = std::function<std::unique_ptr<Trainer>(
    const Config&, const WorkerEnvironment&, Loggers&, DataModule&, std::shared_ptr<Module>)>;

struct BOLT_API TrainerEntry {
  std::string name;
  std::string plugin;
  std::function<void(OptionSet&)> declare_options;  // the subclass's own keys only
  TrainerFactory create;
};

// The one global registry: static initialisers of a plugin add to it while it is dlopen'ed.
// Entries arrive "staged" and are committed only once the plugin's ABI has been checked.
class BOLT_API Registry {
 public:
  static Registry& instance();

  void stage_model(ModelEntry entry);
  void stage_data(DataEntry entry);
  void stage_trainer(TrainerEntry entry);
  void commit_staged(const std::string& plugin);
  void discard_staged();

  const ModelEntry& model(const std::string& name) const;  // throws PluginError listing names
  const DataEntry& data(const std::string& name) const;
  const TrainerEntry& trainer(const std::string& name) const;
  std::vector<std::string> model_names() const;
  std::vector<std::string> data_names() const;
  std::vector<std::string> trainer_names() const;
  const std::vector<ModelEntry>& models() const { return models_; }
  const std::vector<DataEntry>& datas() const { return datas_; }
  const std::vector<TrainerEntry>& trainers() const { return trainers_; }

 private:
  Registry();  // holds Bolt's own "default" trainer
  std::vector<ModelEntry> models_, staged_models_;
  std::vector<DataEntry> datas_, staged_datas_;
  std::vector<TrainerEntry> trainers_, staged_trainers_;
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
template <class T>
struct TrainerRegistration {
  explicit TrainerRegistration(const char* name) {
    static_assert(std::is_base_of_v<Trainer, T>, "BOLT_REGISTER_TRAINER needs a bolt::Trainer subclass");
    Registry::instance().stage_trainer(
        {name, "",
         [](OptionSet& options) {
           // Only keys the subclass adds: the built-in ones are declared for every trainer.
           using Declare = void (*)(OptionSet&);
           if (static_cast<Declare>(&T::declare_options) != static_cast<Declare>(&Trainer::declare_options)) {
             T::declare_options(options);
           }
         },
         [](const Config& config, const WorkerEnvironment& env, Loggers& loggers, DataModule& data,
            std::shared_ptr<Module> model) -> std::unique_ptr<Trainer> {
           return std::make_unique<T>(config, env, loggers, data, std::move(model));
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

#define BOLT_REGISTER_TRAINER(Class, trainer_name)                                       \
  static const ::bolt::detail::TrainerRegistration<Class> BOLT_PLUGIN_CONCAT(            \
      bolt_trainer_registration_, __LINE__){trainer_name}

#define BOLT_REGISTER_DATA(Class, data_name)                                             \
  static const ::bolt::detail::DataRegistration<Class> BOLT_PLUGIN_CONCAT(               \
      bolt_data_registration_, __LINE__){data_name}
