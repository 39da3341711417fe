#pragma once
// Bumped whenever a change to the public headers breaks plugins built against older ones.
#define BOLT_PLUGIN_ABI_VERSION 2
#define BOLT_VERSION_STRING "0.1.0"
