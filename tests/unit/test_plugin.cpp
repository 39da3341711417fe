#include <catch2/catch.hpp>

#include <dlfcn.h>

#include "bolt/Error.h"
#include "bolt/Plugin.h"
#include "plugin/PluginLoader.h"

TEST_CASE("plugin loading: good plugin registers, bad ones are refused with the reason", "[plugin]") {
  bolt::PluginLoader loader;
  CHECK_THROWS_WITH(loader.load("/nonexistent/libx.so"), Catch::Contains("plugin file /nonexistent/libx.so does not exist"));
  CHECK_THROWS_WITH(loader.load(NOT_A_PLUGIN), Catch::Contains("is not a Bolt plugin: it has no bolt_plugin_info"));
  CHECK_THROWS_WITH(loader.load(WRONG_ABI_PLUGIN),
                    Catch::Contains("was built for Bolt plugin ABI " + std::to_string(BOLT_PLUGIN_ABI_VERSION + 98) +
                                    " but this bolt-worker has ABI " + std::to_string(BOLT_PLUGIN_ABI_VERSION)));
  // A refused plugin that registered classes in its static initialisers: nothing stays, and
  // the library is unloaded.
  CHECK_THROWS_WITH(loader.load(WRONG_ABI_REGISTERS_PLUGIN), Catch::Contains("was built for Bolt plugin ABI"));
  CHECK_THROWS_WITH(bolt::Registry::instance().model("ghost_model"), Catch::Contains("unknown model 'ghost_model'"));
  CHECK_THROWS_WITH(bolt::Registry::instance().data("ghost_data"), Catch::Contains("unknown data module 'ghost_data'"));
  CHECK(::dlopen(WRONG_ABI_REGISTERS_PLUGIN, RTLD_NOW | RTLD_NOLOAD) == nullptr);
  CHECK_THROWS_WITH(loader.load(NULL_INFO_PLUGIN), Catch::Contains("bolt_plugin_info() returned null: declare the plugin with BOLT_PLUGIN"));
  CHECK_THROWS_WITH(loader.load("no_such_plugin_name"), Catch::Contains("plugin 'no_such_plugin_name' not found"));
  loader.load(TESTKIT_PLUGIN);
  loader.load(TESTKIT_PLUGIN);  // loading twice is harmless
  auto& registry = bolt::Registry::instance();
  CHECK(registry.model("mlp").plugin == "testkit");
  CHECK(registry.data("synthetic").plugin == "testkit");
  CHECK_THROWS_WITH(registry.model("resnet"), Catch::Contains("unknown model 'resnet'; registered: torchscript, mlp"));
  CHECK_THROWS_WITH(registry.data("imagenet"), Catch::Contains("unknown data module 'imagenet'; registered: tensors, synthetic"));
}
