#!/usr/bin/env bash
# Sets up Bolt and runs every test (Catch2 unit tests and end-to-end tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# python3-torch and python3-numpy: the TorchScript tests write their models and tensors from Python;
# clang and its runtimes: the libFuzzer harnesses.
BOLT_EXTRA_PACKAGES="slurmd slurmctld slurm-client munge python3-torch python3-numpy clang libclang-rt-14-dev" scripts/setup.sh
# The libFuzzer harnesses (clang, ASan + UBSan) into build/fuzz.
scripts/fuzz.sh --build-only
# A real local Slurm cluster for tests/slurm (stopped again however the tests end).
scripts/slurm-local.sh start
trap '"$root/scripts/slurm-local.sh" stop' EXIT
cd build
# The fuzz harnesses last, by themselves: beside the timed end-to-end tests they would slow them.
rc=0
ctest --output-on-failure -j "$(nproc)" -LE fuzz "$@" || rc=$?
ctest --output-on-failure -j "$(nproc)" -L fuzz "$@" || rc=$?
exit $rc
