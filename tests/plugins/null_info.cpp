// A plugin whose bolt_plugin_info() returns null: bolt-worker must refuse it by name, not crash.
extern "C" __attribute__((visibility("default"))) const void* bolt_plugin_info() { return nullptr; }
