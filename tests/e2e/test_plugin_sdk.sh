#!/usr/bin/env bash
# The plugin SDK from a user's side: install Bolt into a prefix, write a plugin with
# scripts/new-plugin.sh, build it out of tree against that prefix alone, train it with 1 and
# 2 ranks; plugins built for another ABI or libtorch are refused naming both versions.
source "$(dirname "$0")/lib.sh"
PREFIX=$WORK/prefix
expect_exit 0 "Installing: .*/lib/cmake/Bolt/BoltConfig.cmake" "cmake --install into a prefix" -- cmake --install "$BUILD" --prefix "$PREFIX"
check "the prefix has binaries, libbolt, headers, the package and the example plugin" test -x "$PREFIX/bin/bolt-launch" -a -x "$PREFIX/bin/bolt-worker" \
  -a -e "$PREFIX/lib/libbolt.so" -a -f "$PREFIX/include/bolt/Trainer.h" -a -f "$PREFIX/lib/cmake/Bolt/BoltConfigVersion.cmake" -a -f "$PREFIX/lib/bolt/plugins/libfashion_mnist.so"

expect_exit 0 "new-plugin: wrote" "new-plugin.sh writes a starter plugin" -- "$SRC/scripts/new-plugin.sh" "$WORK/myplugin" regress
expect_exit 1 "exists; not overwriting" "new-plugin.sh never overwrites" -- "$SRC/scripts/new-plugin.sh" "$WORK/myplugin" regress
expect_exit 2 "must be a C identifier" "new-plugin.sh checks the name" -- "$SRC/scripts/new-plugin.sh" "$WORK/other" "bad-name"
expect_exit 0 "Build files have been written" "configure the plugin with only the prefix" -- \
  cmake -S "$WORK/myplugin" -B "$WORK/myplugin/build" -DCMAKE_PREFIX_PATH="$PREFIX"
expect_exit 0 "Linking CXX shared module libregress.so|Built target regress" "build the plugin" -- cmake --build "$WORK/myplugin/build"
cd "$WORK/myplugin"
expect_exit 0 "epoch 8/8" "fit the new plugin on 1 rank (installed bolt-launch)" -- \
  "$PREFIX/bin/bolt-launch" --device cpu -- fit --config regress.json --loggers.logs_dir "$WORK/logs1"
expect_exit 0 "epoch 8/8" "fit the new plugin on 2 ranks" -- \
  "$PREFIX/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit --config regress.json --loggers.logs_dir "$WORK/logs2"
check "it learns: val loss falls by 3x over 8 epochs" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$WORK/logs2/regress_model/version_0/metrics.jsonl')]
assert rows[-1]['val_loss'] < rows[0]['val_loss'] / 3, rows"
expect_exit 0 "--model.hidden" "--help shows the plugin's own keys" -- "$PREFIX/bin/bolt-worker" --help --config regress.json
expect_exit 0 "fashion_cnn" "the installed worker finds the installed example plugin by name" -- "$PREFIX/bin/bolt-worker" --list --plugin fashion_mnist
cd "$WORK"

# Plugins built against another Bolt plugin ABI, or another libtorch.
mkdir -p stale
cat > stale/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.18)
project(stale LANGUAGES CXX)
find_package(Bolt REQUIRED)
bolt_add_plugin(stale_abi SOURCES stale_abi.cpp)
bolt_add_plugin(other_torch SOURCES other_torch.cpp)
CM
for kind in stale_abi other_torch; do
  if [[ $kind == stale_abi ]]; then abi="BOLT_PLUGIN_ABI_VERSION + 1"; torch=TORCH_VERSION; else abi=BOLT_PLUGIN_ABI_VERSION; torch='"1.12.1"'; fi
  cat > stale/$kind.cpp <<CPP
#include "bolt/Plugin.h"
extern "C" __attribute__((visibility("default"))) const bolt::PluginInfo* bolt_plugin_info() {
  static const bolt::PluginInfo info{$abi, $torch, BOLT_VERSION_STRING, "$kind"};
  return &info;
}
CPP
done
expect_exit 0 "Built target other_torch" "build two incompatible plugins" -- bash -c "cmake -S stale -B stale/build -DCMAKE_PREFIX_PATH='$PREFIX' >/dev/null && cmake --build stale/build"
expect_exit 1 "built for Bolt plugin ABI $((ABI + 1)) but this bolt-worker has ABI $ABI" "another plugin ABI is refused, naming both" -- \
  "$PREFIX/bin/bolt-worker" --list --plugin stale/build/libstale_abi.so
expect_exit 1 "built against libtorch 1.12.1 but this bolt-worker uses libtorch 1.13" "another libtorch is refused, naming both" -- \
  "$PREFIX/bin/bolt-worker" --list --plugin stale/build/libother_torch.so
finish
