#pragma once
// dlopen()s Bolt plugins and checks, before their classes become visible, that they were
// built against this Bolt plugin ABI and this libtorch.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bolt {

class PluginLoader {
 public:
  PluginLoader();
  ~PluginLoader();
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // `spec` is a path (contains '/' or ends in .so) or a bare name looked up as lib<name>.so in
  // $BOLT_PLUGIN_PATH and in <bolt-worker's dir>/../lib/bolt/plugins.
  void load(const std::string& spec);
  std::filesystem::path resolve(const std::string& spec) const;
  const std::vector<std::filesystem::path>& loaded() const { return paths_; }

 private:
  struct Handle;
  std::vector<std::unique_ptr<Handle>> handles_;
  std::vector<std::filesystem::path> paths_;
};

}  // namespace bolt
