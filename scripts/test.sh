#!/usr/bin/env bash
# Sets up Bolt and runs every test (Catch2 unit tests and end-to-end tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
BOLT_EXTRA_PACKAGES="slurmd slurmctld slurm-client munge" scripts/setup.sh
# A real local Slurm cluster for tests/slurm (stopped again however the tests end).
scripts/slurm-local.sh start
trap '"$root/scripts/slurm-local.sh" stop' EXIT
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
