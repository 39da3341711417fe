#include "TensorsData.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "TensorFile.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt::builtin {

TensorsData::TensorsData(const Config& config) : DataModule(config) {}

void TensorsData::declare_options(OptionSet& options) {
  options
      .add_string_list("train", {}, "training data: a .pt dict (torch.save), an .npz, or name=file.npy per field")
      .add_string_list("val", {}, "validation data, like train (empty: 1/num_splits of train)")
      .add_string_list("test", {}, "test data, like train (needed by the test stage)")
      .add_string_list("required", {"inputs", "targets"}, "fields every split must have");
}

namespace {

// `data.<key>` entries relative to data_dir; empty: no such split.
std::map<std::string, at::Tensor> read_split(const std::vector<std::string>& entries, const fs::path& dir,
                                             const std::string& key) {
  std::map<std::string, at::Tensor> fields;
  auto locate = [&](const std::string& path) { return fs::path(path).is_absolute() ? fs::path(path) : dir / path; };
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      for (auto& [name, tensor] : read_tensor_dict(locate(entry))) {
        if (!fields.emplace(name, tensor).second) {
          throw ConfigError(fmt::format("data.{}: field '{}' comes from two files", key, name));
        }
      }
      continue;
    }
    const auto name = entry.substr(0, eq);
    if (name.empty()) throw ConfigError(fmt::format("data.{}: '{}' names no field before '='", key, entry));
    const auto file = locate(entry.substr(eq + 1));
    at::Tensor tensor;
    if (file.extension() == ".npy") {
      tensor = read_npy_file(file);
    } else {
      auto dict = read_tensor_dict(file);
      if (dict.size() != 1) {
        throw DataError(fmt::format("data.{}: {} holds {} tensors; name=file needs exactly one", key, file.string(), dict.size()));
      }
      tensor = dict.begin()->second;
    }
    if (!fields.emplace(name, tensor).second) {
      throw ConfigError(fmt::format("data.{}: field '{}' is given twice", key, name));
    }
  }
  return fields;
}

std::shared_ptr<const Dataset> make_split(const Config& config, const std::string& key, bool required) {
  const auto entries = config.get_string_list(key);
  if (entries.empty()) {
    if (required) {
      throw ConfigError(fmt::format("data.{} is empty: give a .pt file (torch.save({{'inputs': X, 'targets': Y}}, "
                                    "path)), an .npz, or inputs=x.npy targets=y.npy", key));
    }
    return nullptr;
  }
  auto fields = read_split(entries, config.get_string("data_dir"), key);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : fields) names.push_back(name);
  for (const auto& name : config.get_string_list("required")) {
    if (fields.count(name) == 0) {
      throw DataError(fmt::format("data.{} has no field '{}'; it has: {} (data.required lists the fields "
                                  "every split needs)", key, name, fmt::join(names, ", ")));
    }
  }
  for (const auto& [name, tensor] : fields) {
    if (tensor.is_complex() || tensor.dim() == 0) {
      throw DataError(fmt::format("data.{}: field '{}' is {}: fields need an example dimension and a real "
                                  "dtype", key, name, tensor.dim() == 0 ? "a scalar" : "complex"));
    }
  }
  try {
    return std::make_shared<TensorDataset>(std::move(fields));
  } catch (const DataError& e) {
    throw DataError(fmt::format("data.{}: {}", key, e.what()));
  }
}

}  // namespace

DatasetSplits TensorsData::setup_dataset() {
  DatasetSplits splits;
  splits.train = make_split(config(), "train", true);
  splits.val = make_split(config(), "val", false);
  splits.test = make_split(config(), "test", false);
  return splits;
}

}  // namespace bolt::builtin
