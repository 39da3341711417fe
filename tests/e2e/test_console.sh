#!/usr/bin/env bash
# One console for N ranks: identical lines merged, --log-ranks, and rank 0's live progress bar
# through bolt-launch's pipes when the launcher's console is a terminal.
source "$(dirname "$0")/lib.sh"
CHATTY=$SRC/tests/tools/chatty_worker.sh

out=$("$LAUNCH" --nproc-per-node 4 --worker "$CHATTY" -- fit 2>&1)
check "4 ranks print the same warning: one console line, [ranks 0-3]" \
  test "$(grep -c "the same warning on every rank" <<<"$out")" -eq 1 -a "$(grep -c '^\[ranks 0-3\] .* | WARNING | the same warning' <<<"$out")" -eq 1
check "... while each rank's own line stays its own" test "$(grep -Ec '^\[rank [0-3]\] rank [0-3] says hello$' <<<"$out")" -eq 4
out=$("$LAUNCH" --nproc-per-node 4 --log-ranks 0,2-3 --worker "$CHATTY" -- fit 2>&1)
check "--log-ranks 0,2-3: the merged line names those ranks only" grep -q '^\[ranks 0, 2-3\] .*the same warning' <<<"$out"
check "--log-ranks 0,2-3: rank 1's lines are not shown" test "$(grep -c 'rank 1 says hello' <<<"$out")" -eq 0 -a "$(grep -c 'says hello' <<<"$out")" -eq 3
expect_exit 2 "--log-ranks '0,4': rank 4 is not in this job" "--log-ranks naming a rank the job lacks: exit 2" -- \
  "$LAUNCH" --nproc-per-node 4 --log-ranks 0,4 --worker "$CHATTY" -- fit

cat >cfg.json <<JSON
{"plugins": ["$TESTKIT"], "model": {"name": "mlp"}, "data": {"name": "synthetic", "train_size": 6400, "batch_size": 8},
 "trainer": {"max_epochs": 1}, "loggers": {"progress": true, "tensorboard": false, "logs_dir": "$WORK/logs"}}
JSON
tty_out=$(script -qfc "'$LAUNCH' --nproc-per-node 2 -- fit --config '$WORK/cfg.json' --model.step_sleep_ms 1" /dev/null < /dev/null)
check "--nproc-per-node on a terminal: rank 0's bar is redrawn in place (carriage returns, no progress: lines)" \
  bash -c '[[ $(tr "\r" "\n" <<<"$1" | grep -c "^\[rank 0\] \[#* *\] epoch 1/1") -ge 3 && $(grep -c "progress:" <<<"$1") -eq 0 ]]' _ "$tty_out"
check "... and log lines still arrive whole, each on its own line" \
  bash -c 'tr "\r" "\n" <<<"$1" | grep -Eq "^(\x1b\[K)?\[rank 0\] [0-9-]+ [0-9:,]+ \| INFO  \| bolt.trainer - epoch 1/1 \| train loss"' _ "$tty_out"
out=$("$LAUNCH" --nproc-per-node 2 -- fit --config "$WORK/cfg.json" 2>&1)
check "--nproc-per-node into a pipe: plain progress: lines, no carriage returns" \
  bash -c '[[ $(grep -c "^\[rank 0\] progress: epoch 1/1" <<<"$1") -ge 5 && $(grep -c $'"'"'\r'"'"' <<<"$1") -eq 0 ]]' _ "$out"
check "no process left behind" no_leftovers
finish
