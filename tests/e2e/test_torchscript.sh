#!/usr/bin/env bash
# Python users without C++: a model scripted in Python and tensors saved by torch.save / NumPy,
# trained by Bolt's built-in torchscript model and tensors data module on 1 and 2 ranks (equal
# within 1e-5), resumed bitwise, exported back to TorchScript; Python reads the export and gets
# Bolt's test accuracy, and the same model trained by PyTorch in Python ends within 1e-5 of
# Bolt's. Bad files and keys get one named error.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
FIX="/usr/bin/python3 $SRC/tests/e2e/torchscript_fixture.py"
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null || { fail "python3-torch and python3-numpy are needed (apt-get install python3-torch python3-numpy)"; finish; exit 1; }
$FIX write "$WORK" || { fail "fixtures written from Python"; finish; exit 1; }
one=("$LAUNCH" --device cpu --)
two=("$LAUNCH" --nproc-per-node 2 --standalone --)
base=(--model torchscript --data tensors --data.data_dir "$WORK" --data.train train.pt --data.val val.pt --data.test test.pt
      --model.optimizer sgd --model.lr 0.1 --model.momentum 0.9 --trainer.max_epochs 2)
mlp=(--model.path "$WORK/mlp.pt")
ckpt() { echo "$WORK/$1/torchscript/version_0/checkpoints/last.pt"; }

expect_exit 0 "epoch 2/2" "1 rank, batch 32" -- "${one[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/one"
expect_exit 0 "epoch 2/2" "2 ranks, batch 16" -- "${two[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/two"
expect_exit 0 "max relative difference" "2 ranks equal 1 rank (1e-5)" -- "$COMPARE" - torchscript "$(ckpt one)" "$(ckpt two)" 1e-5 "${mlp[@]}"
expect_exit 0 "epoch 2/2" "loss and metric as scripted methods, Adam, warm-up + cosine" -- "${one[@]}" fit "${base[@]}" "${mlp[@]}" \
  --model.loss method --model.metric method --model.optimizer adam --model.lr 0.01 --model.lr_schedule warmup_cosine \
  --model.warmup_steps 5 --data.batch_size 32 --loggers.logs_dir "$WORK/methods"
check "... the scripted metric is the score" /usr/bin/python3 -c "
import json; r=[json.loads(l) for l in open('$WORK/methods/torchscript/version_0/metrics.jsonl')][-1]; assert 0.3 < r['val_score'] <= 1, r"

expect_exit 0 "epoch 2/2" "a forward of two batch fields (model.inputs inputs,weight), 2 ranks" -- "${two[@]}" fit "${base[@]}" \
  --model.path "$WORK/two_inputs.pt" --model.inputs inputs,weight --data.batch_size 16 --loggers.logs_dir "$WORK/twoin"
expect_exit 0 "epoch 2/2" "a traced module (torch.jit.trace)" -- "${one[@]}" fit "${base[@]}" --model.path "$WORK/traced.pt" --data.batch_size 32 --loggers.logs_dir "$WORK/traced"

# Bitwise resume: stopped by max_steps inside epoch 2, resumed.
expect_exit 0 "max_steps 25 reached" "2 ranks, stopped at step 25" -- "${two[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 16 --trainer.max_steps 25 --loggers.logs_dir "$WORK/part"
expect_exit 0 "resumed from" "... resumed" -- "${two[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 16 --trainer.resume auto --loggers.logs_dir "$WORK/part"
expect_exit 0 "max relative difference 0.000e\+00" "... bitwise equal to the straight run" -- "$COMPARE" - torchscript "$(ckpt two)" "$(ckpt part)" 0 "${mlp[@]}"

# BatchNorm (buffers, train/eval): Bolt's test accuracy = Python's on the exported file.
expect_exit 0 "exported the best weights to" "BatchNorm model, 2 ranks, export + test after fit" -- "${two[@]}" fit "${base[@]}" \
  --model.path "$WORK/bn.pt" --data.batch_size 16 --trainer.export true --trainer.test_after_fit true --loggers.logs_dir "$WORK/bn"
BN=$WORK/bn/torchscript/version_0
bolt_acc=$(metric "$BN/metrics.jsonl" test test_score)
py_acc=$($FIX accuracy "$WORK" "$BN/checkpoints/best.torchscript.pt" "$WORK/test.pt" | awk '{print $NF}')
check "Python's test accuracy of the export ($py_acc) equals Bolt's ($bolt_acc) to 1e-6" \
  /usr/bin/python3 -c "import sys; sys.exit(0 if abs($py_acc - $bolt_acc) <= 1e-6 and $py_acc > 0.5 else 1)"
check "... the export carries trained BatchNorm statistics" /usr/bin/python3 -c "
import torch; m=torch.jit.load('$BN/checkpoints/best.torchscript.pt'); assert m.norm.num_batches_tracked.item() > 0 and m.norm.running_var.sum().item() != 16.0"

expect_exit 0 "validate: val_loss .* val_score" "validate from best (2 ranks) on the BatchNorm model" -- "${two[@]}" validate "${base[@]}" \
  --model.path "$WORK/bn.pt" --data.batch_size 16 --trainer.ckpt_path best --loggers.logs_dir "$WORK/bn"
check "... the same val_score as the fit's best epoch" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$BN/metrics.jsonl')]
best=max(r['val_score'] for r in rows if 'epoch' in r); v=[r for r in rows if r.get('stage') == 'validate'][-1]['val_score']
assert abs(best - v) <= 1e-9, (best, v)"

# The same model trained by PyTorch in Python, same order (no shuffle), 20 steps of SGD.
expect_exit 0 "exported the best weights" "1 rank, no shuffle, 1 epoch, export" -- "${one[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 32 \
  --data.shuffle false --trainer.max_epochs 1 --trainer.export true --loggers.logs_dir "$WORK/ordered"
$FIX train "$WORK" 20 0.1 0.9 32 "$WORK/reference.pt"
expect_exit 0 "python vs bolt" "PyTorch in Python ends within 1e-5 of Bolt's parameters" -- \
  $FIX compare "$WORK" "$WORK/ordered/torchscript/version_0/checkpoints/best.torchscript.pt" "$WORK/reference.pt" 1e-5

# NumPy data: an .npz archive, and name=file.npy per field, give the same run as train.pt.
for source in train.npz inputs=x.npy,targets=y.npy; do
  expect_exit 0 "epoch 1/1" "training data from $source" -- "${one[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 32 \
    --trainer.max_epochs 1 --data.train "$source" --loggers.logs_dir "$WORK/np"
done
expect_exit 0 "epoch 1/1" "... and from train.pt" -- "${one[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 32 --trainer.max_epochs 1 --loggers.logs_dir "$WORK/pt"
expect_exit 0 "max relative difference 0.000e\+00" "... npz/npy and torch.save give bitwise the same fit" -- \
  "$COMPARE" - torchscript "$WORK/np/torchscript/version_1/checkpoints/last.pt" "$WORK/pt/torchscript/version_0/checkpoints/last.pt" 0 "${mlp[@]}"

# Bad input: one named error each.
bad() {
  local code=$1 pattern=$2 what=$3
  shift 3
  expect_exit "$code" "$pattern" "$what" -- "${one[@]}" fit "${base[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/bad" "$@"
}
bad 1 "model.path $WORK/train.pt is not a TorchScript module" "a tensor file as the model" --model.path "$WORK/train.pt"
bad 2 "model.path $WORK/none.pt is not a readable file" "a missing model file" --model.path "$WORK/none.pt"
bad 2 "model.path is empty" "no model.path" 
bad 2 "has no method 'score_fn'" "a missing scripted method" "${mlp[@]}" --model.metric method --model.metric_method score_fn
expect_exit 1 "fit: epoch 1, step 1 \(global step 1\), rank 0, model 'torchscript' \(plugin bolt\): .*bad_out.pt: the loss cross_entropy does not fit forward's outputs \[32, 2, 3, 1\] Float and targets \[32\] Long" \
  "an output that does not fit the loss (at its first step)" -- "${one[@]}" fit "${base[@]}" --data.batch_size 32 --model.path "$WORK/bad_out.pt" --loggers.logs_dir "$WORK/shape"
expect_exit 1 "mlp.pt: forward failed on inputs \[32, 10\] Double \(RuntimeError: .*\): .*astype\('float32'\)" "float64 inputs from NumPy" -- \
  "${one[@]}" fit "${base[@]}" "${mlp[@]}" --data.batch_size 32 --data.train inputs=x64.npy,targets=y.npy --loggers.logs_dir "$WORK/f64"
bad 1 "data.train has no field 'targets'; it has: inputs" "a missing field" "${mlp[@]}" --data.train inputs=x.npy
bad 1 "data.train: dataset fields differ in length: 'inputs' has 640 examples but 'targets' has 639" "unequal lengths" "${mlp[@]}" --data.train unequal.pt
bad 1 "$WORK/missing.pt is not a readable file" "an unreadable data file" "${mlp[@]}" --data.train missing.pt
bad 1 "list.pt holds a GenericList, not a dict of tensors" "a pickled list instead of a dict" "${mlp[@]}" --data.train list.pt
bad 1 "strings.npy holds dtype '<U1'" "an .npy of strings" "${mlp[@]}" --data.train inputs=strings.npy,targets=y.npy
echo "not tensors" > "$WORK/notes.txt"
bad 1 "notes.txt is not a file torch.save wrote" "a text file as data" "${mlp[@]}" --data.train notes.txt
expect_exit 2 "trainer.export: model 'mlp' \(plugin testkit\) cannot be exported" "export of a C++ model" -- \
  "${one[@]}" fit --plugin "$TESTKIT" --model mlp --data synthetic --trainer.export true --loggers.logs_dir "$WORK/bad"
check "no run directory from the refused runs" test ! -e "$WORK/bad"
check "no process left behind" no_leftovers
finish
