#!/usr/bin/env bash
# A stand-in for bolt-worker (bolt-launch --worker) whose ranks all print the same warning
# (with their own timestamps, as loggers do) and one line of their own, for the console tests.
echo "$(date '+%Y-%m-%d %H:%M:%S,%3N') | WARNING | the same warning on every rank" >&2
echo "rank $RANK says hello"
sleep 0.05
exit 0
