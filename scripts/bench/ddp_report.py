# Summarises the runs of scripts/bench/ddp.sh: python3 ddp_report.py OUT_DIR REPEATS
import glob, json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def load(p): return json.load(open(p))
def bolt(kind, i):
    rows = [json.loads(l) for l in open(glob.glob(f"{out}/{kind}{i}/fashion_cnn/version_*/metrics.jsonl")[0])]
    epoch = [r for r in rows if "epoch" in r][0]
    test = [r for r in rows if r.get("stage") == "test"][0]
    return {"sps": epoch["train_samples_per_s"], "first": epoch["launch_to_first_step_s"],
            "wall": load(f"{out}/{kind}{i}.wall")["wall_s"], "test": test["test_score"]}
def torch_ddp(i):
    r = load(f"{out}/a{i}.json")
    return {"sps": r["epochs"][0]["train_samples_per_s"], "first": r["launch_to_first_step_s"],
            "wall": load(f"{out}/a{i}.wall")["wall_s"], "test": r["test_score"]}
def raw(i): return {"sps": load(f"{out}/c{i}.json")["epochs"][0]["train_samples_per_s"], "first": None, "wall": None, "test": None}
runs = {"(a) PyTorch DDP, 2 ranks": [torch_ddp(i) for i in range(1, repeats + 1)],
        "(b) Bolt DDP, 2 ranks": [bolt("b", i) for i in range(1, repeats + 1)],
        "(c) raw libtorch, 1 process": [raw(i) for i in range(1, repeats + 1)],
        "(d) Bolt, 1 process": [bolt("d", i) for i in range(1, repeats + 1)]}
med = {k: {m: (statistics.median(r[m] for r in v) if v[0][m] is not None else None) for m in v[0]} for k, v in runs.items()}
fmt = lambda x, f: "-" if x is None else f.format(x)
print(f"\n{'run (median of ' + str(repeats) + ')':32} {'train samples/s':>16} {'launch→1st step s':>18} {'launch→exit s':>14} {'test acc':>9}")
for k, m in med.items():
    print(f"{k:32} {fmt(m['sps'], '{:16.0f}')} {fmt(m['first'], '{:18.2f}')} {fmt(m['wall'], '{:14.1f}')} {fmt(m['test'], '{:9.4f}')}")
a, b, c, d = (med[k] for k in runs)
print(f"\nBolt DDP / PyTorch DDP throughput: {b['sps'] / a['sps']:.2f}x (target >= 1.3x)")
print(f"Bolt DDP / PyTorch DDP launch→exit: {b['wall'] / a['wall']:.2f}x (target <= 0.7x)")
print(f"Bolt launch→first step: {b['first']:.2f} s vs torchrun {a['first']:.2f} s (target <= 1.0 s)")
print(f"Bolt single / raw libtorch throughput: {d['sps'] / c['sps']:.3f}x (target >= 0.98x)")
