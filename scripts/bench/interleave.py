#!/usr/bin/env python3
"""Runs several commands at once, taking turns on the CPU: one runs for SLICE_MS while the others
are stopped (SIGSTOP/SIGCONT to its process group), then the next, round-robin. This machine's
speed drifts by ±15 % within seconds, faster than a run lasts; turns of a tenth of a second let
the drift slow all of them alike, so their ratios hold where runs one after another do not. A
finished command's turns stay idle, so the others keep the same rhythm to their end.

  interleave.py SLICE_MS TURNS_JSON COMMAND...   (each command one shell string)

Writes one list of turns per command, [[continued, stopped], ...] (Unix times), to TURNS_JSON.
A command's running time within its own window [start, end] is its turns clipped to it
(active_seconds). Exits non-zero if any command does."""
import json
import os
import signal
import subprocess
import sys
import time


def signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def active_seconds(turns, start, end):
    return sum(max(0.0, min(stop, end) - max(cont, start)) for cont, stop in turns)


def main():
    slice_s = float(sys.argv[1]) / 1000
    turns_path, commands = sys.argv[2], sys.argv[3:]
    procs = [subprocess.Popen(["bash", "-c", "exec " + c], start_new_session=True) for c in commands]
    for proc in procs:
        signal_group(proc, signal.SIGSTOP)
    turns = [[] for _ in procs]
    k = 0
    try:
        while any(p.poll() is None for p in procs):
            proc = procs[k]
            if proc.poll() is None:
                cont = time.time()
                signal_group(proc, signal.SIGCONT)
                time.sleep(slice_s)
                signal_group(proc, signal.SIGSTOP)
                turns[k].append([cont, time.time()])
            else:
                time.sleep(slice_s)
            k = (k + 1) % len(procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                signal_group(proc, signal.SIGKILL)
                signal_group(proc, signal.SIGCONT)
    with open(turns_path, "w") as f:
        json.dump(turns, f)
    failed = [c for c, p in zip(commands, procs) if p.returncode != 0]
    if failed:
        print(f"interleave: exited non-zero: {failed[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
