# Summarises the runs of scripts/bench/ddp.sh:
#   python3 ddp_report.py OUT_DIR REPEATS SINGLE_ROUNDS SINGLE_STEPS DDP_ROUNDS DDP_STEPS
import glob, json, os, statistics, sys
sys.dont_write_bytecode = True  # no __pycache__ left in the clone
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interleave import active_seconds
out, repeats, rounds, single_steps, ddp_rounds, ddp_steps = sys.argv[1], *map(int, sys.argv[2:7])
def load(p): return json.load(open(p))
def bolt_rows(kind, i):
    return [json.loads(l) for l in open(glob.glob(f"{out}/{kind}{i}/fashion_cnn/version_*/metrics.jsonl")[0])]
def epoch_row(rows): return [r for r in rows if "epoch" in r][0]
def bolt_epoch(kind, i): return epoch_row(bolt_rows(kind, i))
def bolt(kind, i):
    rows = bolt_rows(kind, i)
    epoch = epoch_row(rows)
    test = [r for r in rows if r.get("stage") == "test"][0]
    parts = epoch.get("step_ms", {})
    return {"sps": epoch["train_samples_per_s"], "first": epoch["launch_to_first_step_s"],
            "wall": load(f"{out}/{kind}{i}.wall")["wall_s"], "test": test["test_score"],
            "data": parts.get("data_wait"), "compute": parts.get("compute"), "coll": parts.get("collective_wait")}
def torch_ddp(i):
    r = load(f"{out}/a{i}.json")
    e = r["epochs"][0]
    return {"sps": e["train_samples_per_s"], "first": r["launch_to_first_step_s"],
            "wall": load(f"{out}/a{i}.wall")["wall_s"], "test": r["test_score"],
            "data": e["data_wait_ms"], "compute": e["step_ms"], "coll": None}
def none(): return {"first": None, "wall": None, "test": None, "data": None, "compute": None, "coll": None}
def raw(i): return {**none(), "sps": load(f"{out}/c{i}.json")["epochs"][0]["train_samples_per_s"]}
def pair_sum(prefix, i): return {**none(), "sps": sum(load(f"{out}/{prefix}{i}-{k}.json")["epochs"][0]["train_samples_per_s"] for k in (0, 1))}
def lockstep(i):
    steps = [load(f"{out}/h{i}-{k}.json")["epochs"][0] for k in (0, 1)]
    return {**pair_sum("h", i), "compute": statistics.mean(e["step_ms"] - e["lockstep_wait_ms"] for e in steps),
            "coll": statistics.mean(e["lockstep_wait_ms"] for e in steps)}
def empty(i): return {**none(), "sps": None, "first": statistics.median(load(f"{out}/g{i}-{k}.wall")["wall_s"] for k in (1, 2, 3))}
r = range(1, repeats + 1)
runs = {"(a) PyTorch DDP, 2 ranks": [torch_ddp(i) for i in r],
        "(b) Bolt DDP, 2 ranks (shm)": [bolt("b", i) for i in r],
        "(e) Bolt DDP, 2 ranks (gloo)": [bolt("e", i) for i in r],
        "(f) compute limit: 2 x 1 thread": [pair_sum("f", i) for i in r],
        "(h) lockstep limit: (f) in step": [lockstep(i) for i in r],
        "(c) raw libtorch, 1 process": [raw(i) for i in r],
        "(d) Bolt, 1 process": [bolt("d", i) for i in r],
        "(g) empty libtorch main": [empty(i) for i in r]}
def median(values): return statistics.median(values) if values[0] is not None else None
med = {k: {m: median([x[m] for x in v]) for m in v[0]} for k, v in runs.items()}
fmt = lambda x, f: "-" if x is None else f.format(x)
print(f"\n{'run (median of ' + str(repeats) + ')':34} {'samples/s':>10} {'launch→1st step s':>18} {'launch→exit s':>14} {'test acc':>9}"
      f" {'data ms':>8} {'compute ms':>11} {'coll. wait ms':>14}")
for k, m in med.items():
    print(f"{k:34} {fmt(m['sps'], '{:10.0f}')} {fmt(m['first'], '{:18.2f}')} {fmt(m['wall'], '{:14.1f}')} {fmt(m['test'], '{:9.4f}')}"
          f" {fmt(m['data'], '{:8.2f}')} {fmt(m['compute'], '{:11.2f}')} {fmt(m['coll'], '{:14.2f}')}")
print("(per-step ms: rank 0; PyTorch DDP's compute includes its collectives, which overlap backward;"
      " (h)'s wait is the time a loop waits for the other at the end of its step)")
a, b, e, f, h, c, d, g = (med[k] for k in runs)
print(f"\nBolt DDP / PyTorch DDP throughput: {b['sps'] / a['sps']:.2f}x (target >= 1.3x; gloo: {e['sps'] / a['sps']:.2f}x)")
print(f"Bolt DDP / compute limit: {b['sps'] / f['sps']:.2f}x (target >= 0.8x; gloo: {e['sps'] / f['sps']:.2f}x);"
      f" lockstep alone reaches {h['sps'] / f['sps']:.2f}x of it, Bolt DDP / lockstep limit {b['sps'] / h['sps']:.2f}x")
print(f"Bolt DDP / PyTorch DDP launch→exit: {b['wall'] / a['wall']:.2f}x (target <= 0.7x)")
print(f"Bolt launch→first step: {b['first']:.2f} s vs torchrun {a['first']:.2f} s; bare libtorch start-up {g['first']:.2f} s"
      f" (target: within 0.15 s of it; Bolt single process {d['first']:.2f} s)")
per_repeat = ", ".join(f"{x['sps'] / y['sps']:.3f}" for x, y in zip(runs["(d) Bolt, 1 process"], runs["(c) raw libtorch, 1 process"]))
print(f"Bolt single / raw libtorch throughput, whole epochs: {d['sps'] / c['sps']:.3f}x over {repeats} repeats"
      f" (per repeat: {per_repeat})")

def round_turns(prefix, i):
    """Round i's launch time and each command's turns, by name."""
    meta = load(f"{out}/{prefix}{i}.json")
    return meta["t0"], dict(zip(meta["order"], load(f"{out}/{prefix}{i}.turns")))
def raw_turn_rate(path, turns, samples):
    e = load(path)["epochs"][0]
    return samples / active_seconds(turns, e["start_unix"], e["end_unix"])
def bolt_turn_rate(kind, i, t0, turns, samples):
    e = bolt_epoch(kind, i)
    start = t0 + e["launch_to_first_step_s"]  # its training window, from its own clock
    return samples / active_seconds(turns, start, start + samples / e["train_samples_per_s"])
def print_turn_ratios(rates, comparisons):
    for num, den, what, target in comparisons:
        ratios = [r[num] / r[den] for r in rates]
        print(f"{what}, {len(rates)} rounds taking turns: median {statistics.median(ratios):.3f}x"
              f" (rounds: " + ", ".join(f"{x:.3f}" for x in ratios) + ")" + target)

def single_round(i):
    """Samples per second of running time (turns clipped to each run's training) in round i."""
    t0, turns = round_turns("s", i)
    samples = 16 * single_steps
    return {"raw": raw_turn_rate(f"{out}/sr{i}.json", turns["raw"], samples),
            "raw_metrics": raw_turn_rate(f"{out}/srm{i}.json", turns["raw_metrics"], samples),
            "bolt": bolt_turn_rate("sb", i, t0, turns["bolt"], samples)}
print_turn_ratios([single_round(i) for i in range(1, rounds + 1)],
                  (("bolt", "raw", "Bolt single / raw libtorch loop", "; target >= 0.98x"),
                   ("bolt", "raw_metrics", "Bolt single / raw loop summing its train loss and accuracy", "")))

def ddp_round(i):
    """Summed samples per second of running time of Bolt DDP, the free pair and the lockstep pair."""
    t0, turns = round_turns("t", i)
    rates = {"bolt": bolt_turn_rate("tb", i, t0, turns["bolt"], 2 * 16 * ddp_steps)}
    for name, prefix in (("free", "tf"), ("lockstep", "th")):
        rates[name] = sum(raw_turn_rate(f"{out}/{prefix}{i}-{k}.json", turns[name], 16 * ddp_steps) for k in (0, 1))
    return rates
print_turn_ratios([ddp_round(i) for i in range(1, ddp_rounds + 1)],
                  (("bolt", "free", "Bolt DDP / compute limit", "; target >= 0.8x"),
                   ("lockstep", "free", "lockstep limit / compute limit", ""),
                   ("bolt", "lockstep", "Bolt DDP / lockstep limit", "")))
