#!/usr/bin/env bash
# A checkpoint write killed with SIGKILL never costs the previous good last.pt: kill a fit that
# writes a 4 MB last.pt every step at random moments, then load what is on disk.
source "$(dirname "$0")/lib.sh"
big=(--plugin "$TESTKIT" --model mlp --data synthetic --model.features 256 --data.features 256
     --model.hidden 2048 --model.lr 0.001 --data.train_size 100000 --data.val_size 64
     --data.batch_size 16 --trainer.max_epochs 1 --trainer.checkpoint_every_n_steps 1
     --loggers.progress false --loggers.logs_dir "$WORK/logs")
dir=$WORK/logs/mlp/version_0/checkpoints
ckpt=$dir/last.pt
mid_write=0
rounds=12
for round in $(seq $rounds); do
  # Every save renames a new file into place: a new inode means a new last.pt.
  before=$(stat -c %i "$ckpt" 2>/dev/null || echo none)
  "$LAUNCH" --device cpu -- fit "${big[@]}" --trainer.resume auto > "round$round.out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    now=$(stat -c %i "$ckpt" 2>/dev/null || echo none)
    [[ "$now" != "$before" && "$now" != none ]] && break
    sleep 0.02
  done
  sleep "0.$((RANDOM % 400 + 100))"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  # The writers before were all killed too, but this round's first save removed their files:
  # a temp file now is this round's, cut off mid-write.
  compgen -G "$dir/.last.pt.tmp.*" >/dev/null && mid_write=$((mid_write + 1))
  expect_exit 0 "loaded weights from .*last.pt" "round $round: last.pt still loads after kill -9" -- \
    "$LAUNCH" --device cpu -- validate "${big[@]}" --trainer.ckpt_path "$ckpt"
done
echo "# $mid_write of $rounds kills landed in the middle of a checkpoint write"
check "at least 3 of $rounds kills interrupted a write (else this test proves little)" test "$mid_write" -ge 3

# A last resume from what survived, stopped cleanly by the requeue signal after a few steps.
run_and_signal USR1 final.out "resumed from" -- "$LAUNCH" --device cpu -- fit "${big[@]}" --trainer.resume auto
rc=$?
check "a fit resumed from the surviving last.pt and stopped on SIGUSR1 with exit 75 (got $rc)" \
  test "$rc" -eq 75 -a -n "$(grep 'resumed from' final.out)"
check "that writer removed the temp files the killed writers left" bash -c "! compgen -G '$dir/.last.pt.tmp.*'"
finish
