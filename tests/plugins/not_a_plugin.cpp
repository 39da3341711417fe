// A shared library without Bolt's plugin entry point.
extern "C" int not_a_plugin_answer() { return 42; }
