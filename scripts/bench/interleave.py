#!/usr/bin/env python3
"""Runs several commands at once, taking turns on the CPU: one runs for SLICE_MS while the others
are stopped (SIGSTOP/SIGCONT to every process of its session: a launcher's ranks sit in process
groups of their own), then the next, round-robin. This machine's
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


def session_members(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # After the command name (which may hold spaces): state, ppid, pgrp, session, ...
        if int(stat[stat.rindex(")") + 2:].split()[3]) == sid:
            pids.append(int(entry))
    return pids


def signal_pids(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(proc, members):
    """Stops the command's processes, then looks for any it forked meanwhile and stops those too.
    Returns its processes (all stopped, so none forks another) and when its turn ended: the look
    costs no command's turn."""
    signal_pids(members, signal.SIGSTOP)
    ended = time.time()
    members = set(members)
    while True:
        found = set(session_members(proc.pid))
        new = found - members
        if not new:
            return found, ended
        signal_pids(new, signal.SIGSTOP)
        members |= new


def active_seconds(turns, start, end):
    return sum(max(0.0, min(stop, end) - max(cont, start)) for cont, stop in turns)


def main():
    slice_s = float(sys.argv[1]) / 1000
    turns_path, commands = sys.argv[2], sys.argv[3:]
    procs = [subprocess.Popen(["bash", "-c", "exec " + c], start_new_session=True) for c in commands]
    members = [stop(proc, set())[0] for proc in procs]
    turns = [[] for _ in procs]
    k = 0
    try:
        while any(p.poll() is None for p in procs):
            proc = procs[k]
            if proc.poll() is None:
                cont = time.time()
                signal_pids(members[k], signal.SIGCONT)
                time.sleep(slice_s)
                members[k], ended = stop(proc, members[k])
                turns[k].append([cont, ended])
            else:
                time.sleep(slice_s)
            k = (k + 1) % len(procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                rest = session_members(proc.pid)
                signal_pids(rest, signal.SIGKILL)
                signal_pids(rest, signal.SIGCONT)
    with open(turns_path, "w") as f:
        json.dump(turns, f)
    failed = [c for c, p in zip(commands, procs) if p.returncode != 0]
    if failed:
        print(f"interleave: exited non-zero: {failed[0]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
