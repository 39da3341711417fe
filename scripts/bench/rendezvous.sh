#!/usr/bin/env bash
# Benchmark (not a test): rendezvous as a job grows. Rank 0's TCPStore (libtorch's, as
# bolt-worker hosts it) with N-1 client threads on this machine connecting and passing one
# store barrier, for N = 8 64 256 1024 2048 (or the sizes given). Prints the curve, the cost per
# rank, and a linear fit's prediction for 4,096 ranks.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
[[ -x $BUILD/bin/bench_rendezvous ]] || { echo "bench: $BUILD/bin/bench_rendezvous is missing: build first (cmake --build $BUILD)"; exit 1; }
sizes=("$@")
(( ${#sizes[@]} )) || sizes=(8 64 256 1024 2048)
"$BUILD/bin/bench_rendezvous" "${sizes[@]}" | /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(f"{\"ranks\":>6} {\"connect s\":>10} {\"+ barrier s\":>12} {\"ms per rank\":>12}")
for r in rows:
    print(f"{r[\"ranks\"]:>6} {r[\"connect_s\"]:>10.3f} {r[\"connect_and_barrier_s\"]:>12.3f} {1000 * r[\"connect_and_barrier_s\"] / r[\"ranks\"]:>12.3f}")
big = [r for r in rows if r["ranks"] >= 256] or rows
xs, ys = [r["ranks"] for r in big], [r["connect_and_barrier_s"] for r in big]
n = len(xs); mx, my = sum(xs) / n, sum(ys) / n
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-12)
first, last = rows[0], rows[-1]
growth = (last["connect_and_barrier_s"] / first["connect_and_barrier_s"]) / (last["ranks"] / first["ranks"])
print(f"\ngrowth from {first[\"ranks\"]} to {last[\"ranks\"]} ranks: {growth:.2f}x the linear rate (1.0 = linear)")
print(f"linear fit over >= 256 ranks: {1000 * slope:.3f} ms per rank; 4096 ranks: ~{my + slope * (4096 - mx):.1f} s")
'
