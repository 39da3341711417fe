#!/usr/bin/env bash
# The Fashion-MNIST example end to end on a subset: fit writes the run directory, test reads
# the best checkpoint back and appends its result.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/configs/fashion_mnist.json
args=(--data.limit_train 2048 --data.limit_val 512 --data.limit_test 512 --trainer.max_epochs 2 --loggers.logs_dir "$WORK/logs")

expect_exit 0 "epoch 2/2 .*val loss" "fit on a subset" -- "$LAUNCH" --device cpu -- fit --config "$CFG" "${args[@]}"
RUN=$WORK/logs/fashion_cnn/version_0
check "run directory has config.json, metrics.jsonl, bolt.log, checkpoints" \
  test -s "$RUN/config.json" -a -s "$RUN/metrics.jsonl" -a -s "$RUN/bolt.log" -a -s "$RUN/checkpoints/best.pt" -a -s "$RUN/checkpoints/last.pt"
check "metrics.jsonl: one row per epoch with every field" /usr/bin/python3 - "$RUN/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = {"epoch", "train_loss", "train_score", "val_loss", "val_score", "lr", "epoch_time_s", "train_samples_per_s"}
assert [r["epoch"] for r in rows] == [1, 2], rows
assert all(keys <= set(r) for r in rows), rows
assert rows[1]["train_loss"] < rows[0]["train_loss"], "loss did not fall"
assert rows[1]["val_score"] > 0.6, rows
assert 0 < rows[0]["launch_to_first_step_s"] < 30, rows[0]
PY
check "config.json is the resolved config" /usr/bin/python3 -c "
import json,sys; c=json.load(open('$RUN/config.json'))
assert c['data']['limit_train']==2048 and c['trainer']['max_epochs']==2 and c['model']['name']=='fashion_cnn' and c['model']['lr']==0.02"
check "TensorBoard events: every record's CRCs check out; epoch scalars equal metrics.jsonl" /usr/bin/python3 - "$RUN" "$SRC/tests/e2e/tfevents.py" <<'PY'
import glob, json, subprocess, sys
run, reader = sys.argv[1], sys.argv[2]
files = glob.glob(run + "/events.out.tfevents.*")
assert len(files) == 1, files
scalars = [json.loads(l) for l in subprocess.check_output(["/usr/bin/python3", reader, files[0]]).decode().splitlines()]
rows = [json.loads(l) for l in open(run + "/metrics.jsonl")]
for row in rows:
    for tag, key in (("train/loss", "train_loss"), ("train/score", "train_score"), ("val/loss", "val_loss"),
                     ("val/score", "val_score"), ("lr", "lr"), ("samples_per_s", "train_samples_per_s")):
        found = [s["value"] for s in scalars if s["tag"] == tag and s["step"] == row["epoch"]]
        assert len(found) == 1 and abs(found[0] - row[key]) <= 1e-6 * max(1, abs(row[key])), (tag, found, row)
steps = sorted(s["step"] for s in scalars if s["tag"] == "train/loss_step")
assert steps == [50, 100, 150, 200, 250], steps  # every trainer.log_every_n_steps of 2 x 128 steps
PY
check "the log uses the seed's format" grep -Eq '^[0-9-]{10} [0-9:]{8},[0-9]{3} \| INFO  \| bolt.trainer - epoch 1/2' "$RUN/bolt.log"

expect_exit 0 "test: test_loss .* test_score" "test on the best weights" -- "$LAUNCH" --device cpu -- test --config "$CFG" "${args[@]}" --trainer.ckpt_path best
check "test row appended to the fit's metrics.jsonl" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$RUN/metrics.jsonl')]
t=rows[-1]; assert t['stage']=='test' and 0.6 < t['test_score'] <= 1 and t['samples']==512, t"
expect_exit 0 "validate: val_loss" "validate on the last weights" -- "$LAUNCH" --device cpu -- validate --config "$CFG" "${args[@]}" --trainer.ckpt_path last
check "validate on last equals the last epoch's val_score" close_enough \
  "$(metric "$RUN/metrics.jsonl" validate val_score)" "$(metric "$RUN/metrics.jsonl" fit val_score)" 1e-6

expect_exit 0 "test: test_loss" "fit with test_after_fit tests the best weights in the same run" -- \
  "$LAUNCH" --device cpu -- fit --config "$CFG" "${args[@]}" --trainer.max_epochs 1 --trainer.test_after_fit true
check "test_after_fit appended a test row to the new run" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$WORK/logs/fashion_cnn/version_1/metrics.jsonl')]
assert [r.get('stage', 'fit') for r in rows] == ['fit', 'test'] and rows[1]['samples'] == 512, rows"
out=$("$LAUNCH" --device cpu -- fit --config "$CFG" "${args[@]}" --trainer.max_epochs 1 2>&1)
lines=$(grep -c "^progress: epoch 1/1 | " <<<"$out")
check "progress without a TTY: $lines plain lines for 1 epoch (5..12)" test "$lines" -ge 5 -a "$lines" -le 12
check "progress reaches 100 %" grep -q "^progress: epoch 1/1 | 128/128 100%" <<<"$out"
tty_out=$(script -qfc "'$LAUNCH' --device cpu -- fit --config '$CFG' ${args[*]} --trainer.max_epochs 1" /dev/null < /dev/null)
check "progress on a TTY redraws one line in place (carriage returns, no progress: lines)" \
  bash -c '[[ $(tr "\r" "\n" <<<"$1" | grep -c "^\[#* *\] epoch 1/1") -ge 2 && $(grep -c "^progress:" <<<"$1") -eq 0 ]]' _ "$tty_out"
out=$("$LAUNCH" --device cpu -- fit --config "$CFG" "${args[@]}" --trainer.max_epochs 1 --loggers.progress false 2>&1)
check "--loggers.progress false silences it" test "$(grep -c "progress:" <<<"$out")" -eq 0
expect_exit 0 '"max_epochs": 2' "--print-config shows the merge" -- "$LAUNCH" --device cpu -- fit --config "$CFG" "${args[@]}" --print-config
expect_exit 0 "fashion_cnn +\(plugin fashion_mnist\)" "--list shows what plugins register" -- "$WORKER" --list --plugin fashion_mnist
expect_exit 0 "--model.lr" "--help shows the plugin's keys" -- "$WORKER" --help --config "$CFG"
expect_exit 0 '"world_size":1,"rank":0,"local_rank":0,"local_world_size":1,"node_rank":0,"nnodes":1,"master_addr":"127.0.0.1","master_port":29500,"device":"cpu"' \
  "--print-plan single process" -- "$LAUNCH" --device cpu --print-plan
finish
