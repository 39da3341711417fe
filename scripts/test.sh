#!/usr/bin/env bash
# Sets up Bolt and runs every test (Catch2 unit tests and end-to-end tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# python3-torch and python3-numpy: the TorchScript tests write their models and tensors from Python.
BOLT_EXTRA_PACKAGES="slurmd slurmctld slurm-client munge python3-torch python3-numpy" scripts/setup.sh
# A real local Slurm cluster for tests/slurm (stopped again however the tests end).
scripts/slurm-local.sh start
trap '"$root/scripts/slurm-local.sh" stop' EXIT
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
