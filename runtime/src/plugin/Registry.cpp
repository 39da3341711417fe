#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bolt/Error.h"
#include "../builtin/TensorsData.h"
#include "../builtin/TorchScriptModel.h"
#include "bolt/Plugin.h"

namespace bolt {

Registry& Registry::instance() {
  static Registry registry;
  return registry;
}

Registry::Registry() {
  trainers_.push_back({"default", "bolt", [](OptionSet&) {},
                       [](const Config& config, const WorkerEnvironment& env, Loggers& loggers,
                          DataModule& data, std::shared_ptr<Module> model) {
                         return std::make_unique<Trainer>(config, env, loggers, data, std::move(model));
                       }});
  // Python users train without writing C++: a TorchScript file and tensors saved from Python.
  models_.push_back({"torchscript", "bolt", builtin::TorchScriptModel::declare_options,
                     [](const Config& config) -> std::shared_ptr<Module> {
                       return std::make_shared<builtin::TorchScriptModel>(config);
                     }});
  datas_.push_back({"tensors", "bolt", builtin::TensorsData::declare_options,
                    [](const Config& config) -> std::shared_ptr<DataModule> {
                      return std::make_shared<builtin::TensorsData>(config);
                    }});
}

void Registry::stage_model(ModelEntry entry) { staged_models_.push_back(std::move(entry)); }
void Registry::stage_data(DataEntry entry) { staged_datas_.push_back(std::move(entry)); }
void Registry::stage_trainer(TrainerEntry entry) { staged_trainers_.push_back(std::move(entry)); }

namespace {
template <class Entry>
void commit(std::vector<Entry>& committed, std::vector<Entry>& staged, const std::string& plugin,
            const char* kind) {
  for (auto& entry : staged) {
    for (const auto& existing : committed) {
      if (existing.name == entry.name) {
        throw PluginError(fmt::format("{} '{}' of plugin {} is already registered by {}", kind,
                                      entry.name, plugin, existing.plugin));
      }
    }
    entry.plugin = plugin;
    committed.push_back(std::move(entry));
  }
  staged.clear();
}

template <class Entry>
const Entry& find(const std::vector<Entry>& entries, const std::string& name, const char* kind) {
  for (const auto& entry : entries) {
    if (entry.name == name) return entry;
  }
  std::vector<std::string> names;
  for (const auto& entry : entries) names.push_back(entry.name);
  throw PluginError(fmt::format("unknown {} '{}'; registered: {}", kind, name,
                                names.empty() ? std::string("none (load a plugin with --plugin)")
                                              : fmt::format("{}", fmt::join(names, ", "))));
}

template <class Entry>
std::vector<std::string> names_of(const std::vector<Entry>& entries) {
  std::vector<std::string> names;
  for (const auto& entry : entries) names.push_back(entry.name);
  return names;
}
}  // namespace

void Registry::commit_staged(const std::string& plugin) {
  try {
    commit(models_, staged_models_, plugin, "model");
    commit(datas_, staged_datas_, plugin, "data module");
    commit(trainers_, staged_trainers_, plugin, "trainer");
  } catch (...) {
    discard_staged();
    throw;
  }
}

void Registry::discard_staged() {
  staged_models_.clear();
  staged_datas_.clear();
  staged_trainers_.clear();
}

const ModelEntry& Registry::model(const std::string& name) const { return find(models_, name, "model"); }
const DataEntry& Registry::data(const std::string& name) const { return find(datas_, name, "data module"); }
const TrainerEntry& Registry::trainer(const std::string& name) const {
  return find(trainers_, name, "trainer");
}
std::vector<std::string> Registry::model_names() const { return names_of(models_); }
std::vector<std::string> Registry::trainer_names() const { return names_of(trainers_); }
std::vector<std::string> Registry::data_names() const { return names_of(datas_); }

}  // namespace bolt
