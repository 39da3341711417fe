#!/usr/bin/env bash
# Every kind of bad input gets a one-line error naming the problem and the documented exit
# code (2 usage/config, 1 runtime) — never a crash or a hang.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/configs/fashion_mnist.json
run=("$LAUNCH" --device cpu --)

expect_exit 2 "config file $WORK/none.json does not exist" "missing config" -- "${run[@]}" fit --config "$WORK/none.json"
printf '{\n "trainer": {"max_epochs": 2,}\n}\n' > bad.json
expect_exit 2 "not valid JSON: .*line 2, column 30" "invalid JSON names line and column" -- "${run[@]}" fit --config bad.json
echo '{"trainer": {"max_epoch": 2}, "plugins": ["fashion_mnist"]}' > unknown.json
expect_exit 2 "unknown config key trainer.max_epoch; valid trainer keys: .*max_epochs" "unknown key lists valid ones" -- "${run[@]}" fit --config unknown.json
echo '{"trainer": {"max_epochs": "three"}, "plugins": ["fashion_mnist"]}' > type.json
expect_exit 2 "config file type.json: trainer.max_epochs must be a JSON integer, not .three." "wrong type" -- "${run[@]}" fit --config type.json
expect_exit 2 "trainer.max_epochs: must be at least 1" "max_epochs -1" -- "${run[@]}" fit --config "$CFG" --trainer.max_epochs -1
expect_exit 2 "data.batch_size: must be at least 1" "batch_size 0" -- "${run[@]}" fit --config "$CFG" --data.batch_size 0
expect_exit 1 "plugin file ./nope.so does not exist" "missing plugin file" -- "${run[@]}" fit --config "$CFG" --plugin ./nope.so
expect_exit 1 "is not a Bolt plugin" "a .so that is not a plugin" -- "${run[@]}" fit --config "$CFG" --plugin "$BUILD/lib/test-plugins/libnot_a_plugin.so"
expect_exit 1 "built for Bolt plugin ABI $((ABI + 98)) but this bolt-worker has ABI $ABI" "other ABI version" -- "${run[@]}" fit --config "$CFG" --plugin "$BUILD/lib/test-plugins/libwrong_abi.so"
expect_exit 1 "unknown model 'resnet'; registered: torchscript, fashion_cnn" "unknown model lists registered" -- "${run[@]}" fit --config "$CFG" --model resnet
expect_exit 1 "unknown data module 'cifar'; registered: tensors, fashion_mnist" "unknown data module lists registered" -- "${run[@]}" fit --config "$CFG" --data cifar
expect_exit 1 "data.data_dir $WORK/nodata is not a directory" "missing data_dir" -- "${run[@]}" fit --config "$CFG" --data.data_dir "$WORK/nodata"
mkdir -p trunc && cp "$FASHION"/*.gz trunc/ && head -c 100000 "$FASHION/train-images-idx3-ubyte.gz" > trunc/train-images-idx3-ubyte.gz
expect_exit 1 "train-images-idx3-ubyte.gz is (truncated|corrupt)" "truncated IDX file" -- "${run[@]}" fit --config "$CFG" --data.data_dir trunc
mkdir -p magic && cp "$FASHION"/*.gz magic/ && cp "$FASHION/train-labels-idx1-ubyte.gz" magic/train-images-idx3-ubyte.gz
expect_exit 1 "is not an IDX file of 3-dimensional" "IDX with the wrong magic" -- "${run[@]}" fit --config "$CFG" --data.data_dir magic
expect_exit 1 "device cuda:0 asked for, but this libtorch .* has no CUDA" "cuda without CUDA" -- "${run[@]}" fit --config "$CFG" --trainer.device cuda:0
expect_exit 2 "--device 'gpu7' is not one of cpu, cuda, cuda:N" "malformed --device" -- "$LAUNCH" --device gpu7 -- fit --config "$CFG"
expect_exit 2 "device 'gpu7' is not one of cpu, cuda, cuda:N" "malformed trainer.device" -- "${run[@]}" fit --config "$CFG" --trainer.device gpu7
expect_exit 2 "unexpected argument 'fitt'|fitt not in" "unknown stage" -- "${run[@]}" fitt --config "$CFG"
expect_exit 2 "nothing to run" "launcher without worker arguments" -- "$LAUNCH" --device cpu
expect_exit 2 "--nproc-per-node 'zero' is not a positive number" "bad --nproc-per-node" -- "$LAUNCH" --nproc-per-node zero -- fit
expect_exit 2 "is not an executable file" "missing worker binary" -- "$LAUNCH" --worker "$WORK/none" -- fit
expect_exit 1 "environment variable RANK='x' is not an integer" "malformed worker environment" -- env RANK=x WORLD_SIZE=2 "$WORKER" fit --config "$CFG"
expect_exit 1 "checkpoint .*garbage.pt: not a readable checkpoint" "corrupt checkpoint" -- bash -c "echo junk > garbage.pt; '$LAUNCH' --device cpu -- test --config '$CFG' --trainer.ckpt_path garbage.pt"
mkfifo fifo.json && mkdir -p cfgdir
expect_exit 2 "config file fifo.json is not a regular file \(a FIFO" "a FIFO as --config is refused, not read forever" -- "${run[@]}" fit --config fifo.json
expect_exit 2 "config file cfgdir is not a regular file \(a directory\)" "a directory as --config" -- "${run[@]}" fit --config cfgdir
expect_exit 2 "submit: nothing submitted: config file fifo.json is not a regular file" "... also through bolt-launch submit" -- \
  "$LAUNCH" submit --dry-run -- fit --config fifo.json
expect_exit 2 "worker $WORK/cfgdir is not an executable file" "a directory as --worker" -- "$LAUNCH" --worker "$WORK/cfgdir" -- fit
expect_exit 2 "--term-timeout: 'nan' is not a number of seconds in 0..86400" "--term-timeout nan" -- "$LAUNCH" --term-timeout nan --device cpu -- fit
start=$(date +%s.%N)
expect_exit 1 "restarting all 1 ranks in 2.0 s \(restart 3 of 3" "restarts back off (0.5, 1, 2 s)" -- \
  "$LAUNCH" --nproc-per-node 1 --max-restarts 3 --worker /bin/false -- fit
check "... so a rank failing at once takes >= 3.5 s to exhaust 3 restarts" \
  /usr/bin/python3 -c "import sys, time; sys.exit(0 if time.time() - $start >= 3.5 else 1)"
/usr/bin/python3 -c "print('{\"trainer\": {\"max_epochs\": ' + '['*100000 + ']'*100000 + '}}')" > deep.json
expect_exit 2 "config file deep.json nests deeper than 16 levels" "a deeply nested config is refused, not a stack overflow" -- "${run[@]}" fit --config deep.json
echo '{"trainer": {"max_epochs": 1, "max_epochs": 2}}' > dupkey.json
expect_exit 2 "config file dupkey.json: key \"max_epochs\" appears twice" "a duplicated key" -- "${run[@]}" fit --config dupkey.json
echo '{"trainer": {"max_epochs": 1}, "trainer": {"seed": 2}}' > dupsection.json
expect_exit 2 "key \"trainer\" appears twice" "a duplicated section" -- "${run[@]}" fit --config dupsection.json
expect_exit 2 "data.num_workers 100000 is more loader threads than 256" "a huge data.num_workers" -- "${run[@]}" fit --config "$CFG" --data.num_workers 100000
expect_exit 2 "loggers.name '../outside' would put the run directory outside loggers.logs_dir" "loggers.name with .." -- "${run[@]}" fit --config "$CFG" --loggers.name ../outside
expect_exit 2 "loggers.name '/tmp/x' would put the run directory outside" "an absolute loggers.name" -- "${run[@]}" fit --config "$CFG" --loggers.name /tmp/x
check "... neither left a directory behind" test ! -e "$WORK/outside" -a ! -e /tmp/x/version_0
expect_exit 2 "--nproc-per-node 9223372036854775807 is more than 4096 ranks on one node" "a huge --nproc-per-node" -- \
  "$LAUNCH" --nproc-per-node 9223372036854775807 -- fit
expect_exit 1 "malformed Slurm host list 'r\[0-99999\]n\[0-99999\]': it expands to more than 100000 hosts" "a host list expanding to 10^10 hosts" -- \
  env SLURM_JOB_ID=1 SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_STEP_NUM_TASKS=1 SLURM_STEP_NUM_NODES=1 \
  SLURM_STEP_TASKS_PER_NODE=1 SLURM_STEP_NODELIST='r[0-99999]n[0-99999]' "$LAUNCH" --print-plan
echo '{"trainer": {"max_epochs": [1, 2]}}' > array.json
expect_exit 2 "config file array.json: trainer.max_epochs must be a JSON integer, not \[1,2\]" "an array where a count belongs" -- "${run[@]}" fit --config array.json --plugin "$TESTKIT" --model mlp --data synthetic
echo '{"loggers": {"name": 5}}' > number.json
expect_exit 2 "config file number.json: loggers.name must be a JSON string, not 5" "a number where a name belongs" -- "${run[@]}" fit --config number.json --plugin "$TESTKIT" --model mlp --data synthetic
expect_exit 2 "the width of %\(message\)99999999999s is more than 1000 characters" "a huge field width in loggers.loggerfmt" -- \
  "${run[@]}" fit --config "$CFG" --loggers.loggerfmt '%(message)99999999999s'
expect_exit 2 "loggers.datefmt .* gives an empty or longer than 127-character timestamp" "a loggers.datefmt too long to print" -- \
  "${run[@]}" fit --config "$CFG" --loggers.datefmt "$(printf '%%Y-%%m-%%d %.0s' $(seq 40))"
mkdir -p badlabel && cp "$FASHION"/*.gz badlabel/ && /usr/bin/python3 - badlabel/t10k-labels-idx1-ubyte.gz <<'PY'
import gzip, sys
data = bytearray(gzip.open(sys.argv[1]).read()); data[8 + 5] = 12  # sample 5 gets class 12
gzip.open(sys.argv[1], 'wb').write(bytes(data))
PY
expect_exit 1 "t10k-labels-idx1-ubyte.gz: sample 5 has label 12, but Fashion-MNIST has classes 0-9" "a label outside the classes names file and sample" -- \
  "${run[@]}" fit --config "$CFG" --data.data_dir badlabel --data.cache_dir ""
/usr/bin/python3 "$SRC/tests/tools/full_accept_queue.py" 30 > blackhole.port &
blackhole=$!
for _ in $(seq 50); do [[ -s blackhole.port ]] && break; sleep 0.1; done
start=$(date +%s.%N)
expect_exit 1 "the master at 127.0.0.1:$(cat blackhole.port) did not come up within 3 s" \
  "a master whose host drops connection attempts: the rank gives up at trainer.dist_timeout_s" -- \
  env RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$(cat blackhole.port)" \
  "$WORKER" fit --config "$CFG" --trainer.dist_timeout_s 3
check "... within 3 s + 4 s, not the kernel's minutes of SYN retries" \
  /usr/bin/python3 -c "import sys, time; sys.exit(0 if time.time() - $start < 7 else 1)"
kill "$blackhole" 2>/dev/null; wait "$blackhole" 2>/dev/null
# Found by the fuzz harnesses (tests/fuzz) or next to what they found.
expect_exit 2 "unexpected argument ''" "an empty argument (was a library exception)" -- "${run[@]}" fit --config "$CFG" ""
expect_exit 2 "loggers.name: the value is not valid UTF-8 text" "bytes that are not UTF-8 in a value" -- "${run[@]}" fit --config "$CFG" --loggers.name $'run\xab'
expect_exit 2 "trainer.max_epochs: expected integer, got '99999999999999999999'" "a count past 64 bits" -- "${run[@]}" fit --config "$CFG" --trainer.max_epochs 99999999999999999999
expect_exit 2 "data.batch_size: expected integer, got '1e3'" "a float where a count belongs" -- "${run[@]}" fit --config "$CFG" --data.batch_size 1e3
expect_exit 2 "trainer.max_epochs: expected integer, got ''" "an empty count" -- "${run[@]}" fit --config "$CFG" --trainer.max_epochs ""
echo '[1, 2]' > toplist.json
expect_exit 2 "config file toplist.json: the top level must be an object" "a config that is a list" -- "${run[@]}" fit --config toplist.json
echo '{"plugins": 5}' > plugins5.json
expect_exit 2 "config file plugins5.json: \"plugins\" must be a list of plugin names or paths" "plugins as a number" -- "${run[@]}" fit --config plugins5.json
printf '{"loggers": {"name": "\xff"}}' > latin1.json
expect_exit 2 "config file latin1.json is not valid JSON: .*ill-formed UTF-8" "a config file that is not UTF-8" -- "${run[@]}" fit --config latin1.json
expect_exit 1 "checkpoint cfgdir: a directory, not a checkpoint file" "a directory as trainer.ckpt_path" -- "${run[@]}" test --config "$CFG" --trainer.ckpt_path cfgdir
expect_exit 1 "plugin .*cfgdir is not a file \(a directory\?\)" "a directory as --plugin" -- "${run[@]}" fit --config "$CFG" --plugin ./cfgdir
echo "not an ELF file" > fake.so
expect_exit 1 "cannot load plugin .*fake.so: .*file too short" "a text file as --plugin" -- "${run[@]}" fit --config "$CFG" --plugin ./fake.so
mkdir -p emptyidx && cp "$FASHION"/*.gz emptyidx/ && : > emptyidx/train-images-idx3-ubyte.gz
expect_exit 1 "train-images-idx3-ubyte.gz is truncated: its header needs 4 bytes, the file has 0" "an empty IDX file" -- "${run[@]}" fit --config "$CFG" --data.data_dir emptyidx --data.cache_dir ""
mkdir -p longidx && cp "$FASHION"/*.gz longidx/ && /usr/bin/python3 - longidx/t10k-labels-idx1-ubyte.gz <<'PY'
import gzip, sys
data = gzip.open(sys.argv[1]).read() + b"\x01"
gzip.open(sys.argv[1], 'wb').write(data)
PY
expect_exit 1 "t10k-labels-idx1-ubyte.gz has bytes after the 10000 its header announces" "an IDX file longer than its header says" -- "${run[@]}" fit --config "$CFG" --data.data_dir longidx --data.cache_dir ""
# As PyTorch's DataLoader: one batch of everything (the step count once overflowed to zero steps).
expect_exit 0 "1 steps per epoch \(1 batches of 9223372036854775807\)" "a batch size past every dataset: one step of all samples" -- \
  "${run[@]}" fit --plugin "$TESTKIT" --model mlp --data synthetic --data.train_size 64 --data.val_size 16 --trainer.max_epochs 1 \
  --data.batch_size 9223372036854775807 --loggers.logs_dir "$WORK/hugebatch"
check "... and trained: a finite, non-zero training loss" /usr/bin/python3 -c "import json, math, sys; r = json.loads(open(sys.argv[1]).readline()); sys.exit(0 if math.isfinite(r['train_loss']) and r['train_loss'] > 0 else 1)" "$WORK"/hugebatch/mlp/version_0/metrics.jsonl
# One line each: the error is the last line and the only one starting with the program name.
out=$("$LAUNCH" --device cpu -- fit --config "$CFG" --data.batch_size 0 2>&1)
check "errors are one line" test "$(grep -c 'error:' <<<"$out")" -eq 1
ls core* >/dev/null 2>&1 && fail "a core file was left" || ok "no core file"
finish
