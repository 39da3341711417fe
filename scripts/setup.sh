#!/usr/bin/env bash
# Installs what Bolt needs on Debian 12 (as root) and builds it (Release) into build/.
#   scripts/setup.sh            build the binaries, example plugin and tests
# Environment: BOLT_BUILD_DIR (default build), BOLT_EXTRA_PACKAGES (more apt packages),
# CMAKE_PREFIX_PATH (another libtorch, e.g. a CUDA one).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake g++ make libtorch-dev libcli11-dev libfmt-dev nlohmann-json3-dev catch2 libspdlog-dev
          zlib1g-dev libgloo-dev libopenblas0-openmp dataset-fashion-mnist python3 procps
          ${BOLT_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/bolt-apt.log 2>&1 ||
    { tail -n 30 /tmp/bolt-apt.log; echo "setup: apt-get install failed" >&2; exit 1; }
fi
# libtorch uses the system BLAS: Debian's reference BLAS trains ~1.7x slower than OpenBLAS.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/ {print $2}')
case "$blas" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 points at ${blas:-?}, not OpenBLAS" >&2 ;;
esac

build=${BOLT_BUILD_DIR:-build}
start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${BOLT_CMAKE_ARGS:-} > /dev/null
cmake --build "$build" -j "$(nproc)"
echo "setup: built into $build/ in $(( $(date +%s) - start )) s"
