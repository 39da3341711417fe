#include "PluginLoader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>
#include <sstream>

#include <fmt/format.h>
#include <torch/version.h>

#include "bolt/Error.h"
#include "bolt/Plugin.h"

namespace fs = std::filesystem;

namespace bolt {

struct PluginLoader::Handle {
  void* library = nullptr;
  // Plugins stay loaded until exit: their code backs objects (modules, std::function) that
  // may outlive the loader, and unloading them buys nothing in a worker process.
};

PluginLoader::PluginLoader() = default;
PluginLoader::~PluginLoader() = default;

namespace {
fs::path executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}
}  // namespace

fs::path PluginLoader::resolve(const std::string& spec) const {
  const bool is_path = spec.find('/') != std::string::npos ||
                       (spec.size() > 3 && spec.compare(spec.size() - 3, 3, ".so") == 0);
  std::error_code ec;
  if (is_path) {
    if (!fs::exists(spec, ec)) throw PluginError(fmt::format("plugin file {} does not exist", spec));
    if (!fs::is_regular_file(spec, ec)) {
      throw PluginError(fmt::format("plugin {} is not a file (a directory?): give the plugin's .so", spec));
    }
    return fs::absolute(spec);
  }
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("BOLT_PLUGIN_PATH")) {
    std::stringstream list(env);
    std::string dir;
    while (std::getline(list, dir, ':')) {
      if (!dir.empty()) dirs.emplace_back(dir);
    }
  }
  dirs.push_back(executable_dir() / ".." / "lib" / "bolt" / "plugins");
  const auto file = "lib" + spec + ".so";
  for (const auto& dir : dirs) {
    if (fs::exists(dir / file, ec)) return fs::canonical(dir / file, ec);
  }
  std::string searched;
  for (const auto& dir : dirs) searched += (searched.empty() ? "" : ", ") + dir.lexically_normal().string();
  throw PluginError(fmt::format("plugin '{}' not found: no {} in {} (BOLT_PLUGIN_PATH adds folders)",
                                spec, file, searched));
}

namespace {
// A library just opened: unloaded again unless kept. Its static initialisers staged their
// registrations; those are discarded first (their code lives in the library).
class OpenedLibrary {
 public:
  explicit OpenedLibrary(void* library) : library_(library) {}
  ~OpenedLibrary() {
    if (library_ == nullptr) return;
    Registry::instance().discard_staged();
    ::dlclose(library_);
  }
  OpenedLibrary(const OpenedLibrary&) = delete;
  OpenedLibrary& operator=(const OpenedLibrary&) = delete;
  void* get() const { return library_; }
  void* keep() { return std::exchange(library_, nullptr); }

 private:
  void* library_;
};
}  // namespace

void PluginLoader::load(const std::string& spec) {
  const auto path = resolve(spec);
  for (const auto& loaded : paths_) {
    if (loaded == path) return;
  }
  auto& registry = Registry::instance();
  registry.discard_staged();
  // Registration happens only after the checks: the plugin's static initialisers stage their
  // entries during dlopen, and a refused plugin's are discarded with the library.
  OpenedLibrary library(::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.get() == nullptr) {
    registry.discard_staged();
    const char* why = ::dlerror();
    throw PluginError(fmt::format("cannot load plugin {}: {}", path.string(), why ? why : "?"));
  }
  using InfoFn = const PluginInfo* (*)();
  auto info_fn = reinterpret_cast<InfoFn>(::dlsym(library.get(), "bolt_plugin_info"));
  if (info_fn == nullptr) {
    throw PluginError(fmt::format(
        "{} is not a Bolt plugin: it has no bolt_plugin_info symbol (add BOLT_PLUGIN(\"name\"))",
        path.string()));
  }
  const PluginInfo* info = info_fn();
  auto refuse_record = [&](const char* what) {
    throw PluginError(fmt::format("plugin {}: bolt_plugin_info() returned {}: declare the plugin with "
                                  "BOLT_PLUGIN(\"name\") instead of writing the function by hand", path.string(), what));
  };
  if (info == nullptr) refuse_record("null");
  if (info->abi_version != BOLT_PLUGIN_ABI_VERSION) {
    throw PluginError(fmt::format(
        "plugin {} was built for Bolt plugin ABI {} but this bolt-worker has ABI {}: rebuild it "
        "against this Bolt",
        path.string(), info->abi_version, BOLT_PLUGIN_ABI_VERSION));
  }
  if (info->name == nullptr || info->torch_version == nullptr) refuse_record("a record with a null name or version");
  if (std::string(info->torch_version) != TORCH_VERSION) {
    throw PluginError(fmt::format(
        "plugin {} was built against libtorch {} but this bolt-worker uses libtorch {}: rebuild it",
        path.string(), info->torch_version, TORCH_VERSION));
  }
  registry.commit_staged(info->name);  // a name clash throws: the library is unloaded then
  handles_.push_back(std::make_unique<Handle>(Handle{library.keep()}));
  paths_.push_back(path);
}

}  // namespace bolt
