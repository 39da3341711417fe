# Summarises bench_rendezvous's JSON lines (stdin), Bolt's store beside libtorch's TCPStore: the
# curve, ms per rank, how fast time grows against the rank count, and a linear fit's prediction
# for 4,096 ranks. Used by scripts/bench/rendezvous.sh.
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
by_store = {}
for r in rows:
    by_store.setdefault(r["store"], []).append(r)
bolt, torch = by_store.get("bolt", []), by_store.get("tcpstore", [])
print(f"{'ranks':>6} | {'Bolt connect':>12} {'+ barrier':>10} {'ms/rank':>8} | {'TCPStore connect':>16} {'+ barrier':>10} "
      f"{'ms/rank':>8} | {'Bolt/TCPStore':>13}")
for b, t in zip(bolt, torch):
    bt, tt = b["connect_and_barrier_s"], t["connect_and_barrier_s"]
    print(f"{b['ranks']:>6} | {b['connect_s']:>12.3f} {bt:>10.3f} {1000 * bt / b['ranks']:>8.3f} | {t['connect_s']:>16.3f} "
          f"{tt:>10.3f} {1000 * tt / t['ranks']:>8.3f} | {bt / tt:>12.2f}x")


def summary(name, series):
    if len(series) < 2:
        return
    print(f"\n{name}:")
    for a, b in zip(series, series[1:]):
        ratio = (b["connect_and_barrier_s"] / a["connect_and_barrier_s"]) / (b["ranks"] / a["ranks"])
        print(f"  {a['ranks']} -> {b['ranks']} ranks: time grew {ratio:.2f}x as fast as the rank count (1.0 = linear)")
    big = [r for r in series if r["ranks"] >= 256] or series
    xs, ys = [r["ranks"] for r in big], [r["connect_and_barrier_s"] for r in big]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(sum((x - mx) ** 2 for x in xs), 1e-12)
    print(f"  linear fit over >= 256 ranks: {1000 * slope:.3f} ms per rank; 4096 ranks: ~{my + slope * (4096 - mx):.1f} s")


summary("Bolt's store", bolt)
summary("libtorch's TCPStore", torch)
