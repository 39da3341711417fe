#!/usr/bin/env python3
# Prints the port of a TCP listener whose accept queue is full, then holds it for ARGV[1] s:
# connection attempts to it are dropped (no reply), as a firewall that drops packets does.
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    held.append(c)
time.sleep(0.5)
print(port, flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
