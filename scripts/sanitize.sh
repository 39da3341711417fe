#!/usr/bin/env bash
# Bolt under AddressSanitizer + UndefinedBehaviorSanitizer: builds with
# BOLT_SANITIZE=address,undefined into build-sanitize/ and runs the unit and end-to-end tests
# there (not the real-Slurm tests, which need the cluster of scripts/test.sh, nor the fuzz
# harnesses, which are sanitized already). Any report fails the test that caused it.
# libtorch from Debian is not instrumented: what is suppressed, and why, is in
# scripts/sanitize/*.supp (leaks inside libtorch's and its libraries' own singletons only).
#   scripts/sanitize.sh [CTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BOLT_SANITIZE_DIR:-$root/build-sanitize}
start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBOLT_SANITIZE=address,undefined -DBOLT_BUILD_BENCH=OFF > /dev/null
cmake --build "$build" -j "$(nproc)" > "$build/build.log" 2>&1 || { tail -n 30 "$build/build.log"; exit 1; }
echo "sanitize: built into $build in $(( $(date +%s) - start )) s"
# halt_on_error/abort: a report is a failing exit, not a line in a log nobody reads.
# handle_segv=0, allow_user_segv_handler=1: Bolt's fatal-signal recorder (what `bolt-launch why`
# reads) stays the one that handles SIGSEGV, as without the sanitizer (the tests check it);
# detect_odr_violation=0: libbolt and the launcher library both compile the torch-free util
# sources that the unit tests link twice.
export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1:detect_odr_violation=0:handle_segv=0:allow_user_segv_handler=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$root/scripts/sanitize/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/scripts/sanitize/ubsan.supp:${UBSAN_OPTIONS:-}"
cd "$build"
ctest --output-on-failure -j "$(nproc)" -LE fuzz -E '^slurm\.' "$@"
