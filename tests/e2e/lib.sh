# Shared helpers of the end-to-end tests: real binaries, real processes, real files.
set -u
BUILD=${BOLT_BUILD_DIR:?BOLT_BUILD_DIR must point at the build directory}
SRC=${BOLT_SOURCE_DIR:?BOLT_SOURCE_DIR must point at the source directory}
LAUNCH=$BUILD/bin/bolt-launch
WORKER=$BUILD/bin/bolt-worker
TESTKIT=$BUILD/lib/bolt/plugins/libtestkit.so
LOOPKIT=$BUILD/lib/bolt/plugins/libloopkit.so
ABI=$(sed -n 's/^#define BOLT_PLUGIN_ABI_VERSION \([0-9]*\).*/\1/p' "$SRC/runtime/include/bolt/Version.h")
FASHION=/usr/share/datasets/fashion-mnist
WORK=$(mktemp -d /tmp/bolt-e2e.XXXXXX)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# The DDP tests run once per backend (tests/CMakeLists.txt): auto (shm for CPU ranks sharing a
# node) and gloo.
DIST_BACKEND=${BOLT_TEST_DIST_BACKEND:-auto}
passed=0
failed=0
trap '[[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"' EXIT
cd "$WORK"

ok()   { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

# expect_exit CODE PATTERN DESCRIPTION -- COMMAND...: the command exits with CODE within
# EXPECT_TIMEOUT_S (default 120 s) and its output (stdout+stderr) matches the extended regex PATTERN.
expect_exit() {
  local code=$1 pattern=$2 what=$3
  shift 4
  local out rc
  out=$(timeout "${EXPECT_TIMEOUT_S:-120}" "$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]]; then
    fail "$what: exit $rc, expected $code; output:"; echo "$out" | tail -n 15 | sed 's/^/    /'
  elif ! grep -Eq -- "$pattern" <<<"$out"; then
    fail "$what: output lacks /$pattern/; output:"; echo "$out" | tail -n 15 | sed 's/^/    /'
  else
    ok "$what"
  fi
}

# check DESCRIPTION COMMAND...: the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}

# json_field FILE FILTER: a value from the last JSON line of FILE matching FILTER (python3).
metric() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, stage, key = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if (r.get("stage") == stage) or (stage == "fit" and "epoch" in r)]
print(rows[-1][key])
PY
}

# close_enough A B REL: |A-B| <= REL * max(|A|,|B|,1e-12)
close_enough() {
  /usr/bin/python3 -c "import sys; a,b,r=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b) <= r*max(abs(a),abs(b),1e-12) else 1)" "$@"
}

# A TCP port free on this machine now (for master ports of jobs started by hand).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# No process of this test (by its work directory in the command line) may be left behind.
no_leftovers() {
  sleep 0.2
  ! pgrep -f -- "$WORK" >/dev/null
}

finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}

# run_and_signal SIGNAL OUTFILE PATTERN -- COMMAND...: runs COMMAND in the background (output to
# OUTFILE), sends it SIGNAL 0.3 s after OUTFILE first matches the extended regex PATTERN, and
# returns its exit code.
run_and_signal() {
  local sig=$1 out=$2 pattern=$3
  shift 4
  "$@" > "$out" 2>&1 &
  local pid=$!
  for _ in $(seq 1500); do grep -Eq -- "$pattern" "$out" 2>/dev/null && break; sleep 0.02; done
  sleep 0.3
  kill -"$sig" "$pid"
  wait "$pid"
}
