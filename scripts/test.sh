#!/usr/bin/env bash
# Sets up Bolt and runs every test (Catch2 unit tests and end-to-end tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
