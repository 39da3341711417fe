#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz (clang, ASan + UBSan) into build/fuzz/ and runs
# each for SECONDS (default 30) from its seed corpus and dictionary; prints executions and
# coverage per harness; exits 1 if any harness found a crash, a sanitizer report or a defect
# (the input is kept under build/fuzz/crashes/<harness>/ and printed).
#   scripts/fuzz.sh [SECONDS] [HARNESS...]     build, then run (all harnesses by default)
#   scripts/fuzz.sh --build-only               build only (installs clang when root)
#   scripts/fuzz.sh --no-build [SECONDS] [HARNESS...]
# Reproduce a crash: build/fuzz/fuzz_<harness> build/fuzz/crashes/<harness>/crash-...
# Environment: BOLT_FUZZ_DIR (default $BOLT_BUILD_DIR/fuzz, else build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${BOLT_FUZZ_DIR:-${BOLT_BUILD_DIR:-$root/build}/fuzz}
all=(hostlist tasks_per_node slurm_plan config idx checkpoint_record store_request)
build=true run=true
case "${1:-}" in
  --build-only) run=false; shift ;;
  --no-build) build=false; shift ;;
esac
seconds=${1:-30}
shift || true
harnesses=("$@")
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=("${all[@]}")

if $build; then
  if ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed" ||
     ! command -v clang++ > /dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
      echo "fuzz: clang++ and libFuzzer are missing: apt install clang libclang-rt-14-dev" >&2
      exit 1
    fi
    echo "fuzz: installing clang libclang-rt-14-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev \
      > /tmp/bolt-fuzz-apt.log 2>&1 || { tail -n 20 /tmp/bolt-fuzz-apt.log; echo "fuzz: apt-get failed" >&2; exit 1; }
  fi
  start=$(date +%s)
  cmake -S tests/fuzz -B "$out" -DCMAKE_CXX_COMPILER=clang++ > /dev/null
  cmake --build "$out" -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -n 30 "$out/build.log"; exit 1; }
  echo "fuzz: harnesses built into $out in $(( $(date +%s) - start )) s"
fi
$run || exit 0

failed=0
printf '%-18s %10s %9s %11s %9s %8s  %s\n' harness seconds execs "execs/s" "cov" "of" "corpus"
for h in "${harnesses[@]}"; do
  bin=$out/fuzz_$h
  [[ -x $bin ]] || { echo "fuzz: $bin is not built: run scripts/fuzz.sh --build-only" >&2; exit 1; }
  corpus=$out/corpus/$h crashes=$out/crashes/$h
  mkdir -p "$corpus" "$crashes"
  dict=()
  [[ -f tests/fuzz/dict/$h.dict ]] && dict=(-dict="tests/fuzz/dict/$h.dict")
  log=$out/$h.log
  # The working corpus grows in the build folder; the seeds in the tree stay as committed.
  rc=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 -max_len=4096 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$corpus" "tests/fuzz/corpus/$h" > "$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  total=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' "$log" | head -n 1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  size=$(ls "$corpus" | wc -l)
  printf '%-18s %10s %9s %11s %9s %8s  %s\n' "$h" "$seconds" "${execs:-?}" "$(( ${execs:-0} / seconds ))" \
    "${cov:-?}" "${total:-?}" "$size"
  if [[ $rc -ne 0 ]]; then
    failed=1
    echo "fuzz: $h FAILED (exit $rc); its log: $log" >&2
    grep -E 'FUZZ DEFECT|ERROR: |SUMMARY|runtime error|Test unit written' "$log" | head -n 8 >&2
  fi
done
exit $failed
