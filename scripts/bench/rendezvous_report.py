# Summarises bench_rendezvous's JSON lines (stdin): the curve, ms per rank, and a linear fit's
# prediction for 4,096 ranks. Used by scripts/bench/rendezvous.sh.
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
print(f"{'ranks':>6} {'connect s':>10} {'+ barrier s':>12} {'ms per rank':>12}")
for r in rows:
    total = r["connect_and_barrier_s"]
    print(f"{r['ranks']:>6} {r['connect_s']:>10.3f} {total:>12.3f} {1000 * total / r['ranks']:>12.3f}")
big = [r for r in rows if r["ranks"] >= 256] or rows
xs, ys = [r["ranks"] for r in big], [r["connect_and_barrier_s"] for r in big]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-12)
first, last = rows[0], rows[-1]
print()
for a, b in zip(rows, rows[1:]):
    ratio = (b["connect_and_barrier_s"] / a["connect_and_barrier_s"]) / (b["ranks"] / a["ranks"])
    print(f"{a['ranks']} -> {b['ranks']} ranks: time grew {ratio:.2f}x as fast as the rank count (1.0 = linear)")
print(f"linear fit over >= 256 ranks: {1000 * slope:.3f} ms per rank; 4096 ranks: ~{my + slope * (4096 - mx):.1f} s")
if len(big) >= 3:  # a + b n + c n^2 through the last three points: the quadratic term's forecast
    (n1, t1), (n2, t2), (n3, t3) = [(r["ranks"], r["connect_and_barrier_s"]) for r in big[-3:]]
    c = ((t3 - t2) / (n3 - n2) - (t2 - t1) / (n2 - n1)) / (n3 - n1)
    b = (t2 - t1) / (n2 - n1) - c * (n1 + n2)
    a = t1 - b * n1 - c * n1 * n1
    print(f"quadratic through {n1}, {n2}, {n3} ranks: 4096 ranks: ~{a + b * 4096 + c * 4096 ** 2:.1f} s")
