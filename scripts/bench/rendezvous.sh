#!/usr/bin/env bash
# Benchmark (not a test): rendezvous as a job grows, Bolt's store (what bolt-worker uses) beside
# libtorch's TCPStore (what torchrun uses), each served by rank 0 with N-1 client threads on
# this machine connecting and passing one store barrier, for N = 8 64 256 1024 2048 (or the
# sizes given). Prints both curves side by side, the cost per rank, and a linear fit's
# prediction for 4,096 ranks.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
[[ -x $BUILD/bin/bench_rendezvous ]] || { echo "bench: $BUILD/bin/bench_rendezvous is missing: build first (cmake --build $BUILD)"; exit 1; }
sizes=("$@")
(( ${#sizes[@]} )) || sizes=(8 64 256 1024 2048)
"$BUILD/bin/bench_rendezvous" "${sizes[@]}" | /usr/bin/python3 scripts/bench/rendezvous_report.py
