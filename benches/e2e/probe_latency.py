#!/usr/bin/env python3
"""Probes a server while something else attacks it: a fresh connection with one
`GET / HTTP/1.1` (Connection: close) every EVERY seconds for SECONDS, each read to its
end. Prints the probes made, those that failed (no 200, or nothing within 10 s), the
worst time and when it came, and every probe slower than 0.2 s (start, time).

usage: benches/e2e/probe_latency.py PORT SECONDS [EVERY=0.25]

For example, beside slowhttptest's slow read against `serve`:
    slowhttptest -X -w 10 -y 20 -n 5 -z 32 -k 3 -c 2000 -r 500 -l 40 \\
        -u http://127.0.0.1:PORT/bytes/50000000 &
    benches/e2e/probe_latency.py PORT 30
"""
import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
every = float(sys.argv[3]) if len(sys.argv) > 3 else 0.25
t0 = time.time()
worst, worst_at, fails, n, slow = 0.0, 0.0, 0, 0, []
while time.time() - t0 < seconds:
    n += 1
    t = time.time()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        ok = got.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    took = time.time() - t
    fails += not ok
    if took > 0.2:
        slow.append((round(t - t0, 2), round(took, 3)))
    if took > worst:
        worst, worst_at = took, t - t0
    time.sleep(every)
print("probe: %d probes, %d failed, worst %.3f s at %.1f s; slower than 0.2 s (at, took): %s"
      % (n, fails, worst, worst_at, slow))
