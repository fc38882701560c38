#!/usr/bin/env python3
"""Paired wrk runs: every server started once, then short wrk runs alternating between them.

usage: benches/e2e/wrk_pairs.py pipelined|c50 SECONDS PAIRS NAME=COMMAND [NAME=COMMAND ...]

Each COMMAND has `{port}` where the server's port goes, e.g.

    python3 benches/e2e/wrk_pairs.py pipelined 2 12 \\
        hyper="$PEERS_BIN/hyper_server {port}" \\
        serve="target/release/examples/serve --addr 127.0.0.1:{port} --workers 1"

For a change whose effect is smaller than the drift of a shared machine between two
`wrk_servers.py` rounds: the runs are short and back to back, and each server's rate is
divided by the first server's in the same pair before the median is taken. pipelined is
`wrk -t1 -c4 -s tests/peers/pipeline.lua URL -- 16`, c50 `wrk -t1 -c50 URL`.
"""
import shlex, statistics, sys

# The same servers' start-up and wrk runs as the interleaved rounds (this directory is on
# sys.path when a script in it runs).
from wrk_servers import free_port, start, wrk


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("pipelined", "c50"):
        sys.exit(__doc__)
    mode, seconds, pairs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    servers = {}
    try:
        for arg in sys.argv[4:]:
            name, cmd = arg.split("=", 1)
            port = free_port()
            servers[name] = (port, start([c.format(port=port) for c in shlex.split(cmd)], port))
        got = {name: [] for name in servers}
        for _ in range(pairs):
            for name, (port, _) in servers.items():
                got[name].append(wrk(port, seconds, mode == "pipelined"))
            print("  ".join("%s=%.0f" % (n, v[-1]) for n, v in got.items()), flush=True)
    finally:
        for _, proc in servers.values():
            proc.kill()
            proc.wait()
    names = list(servers)
    for name in names:
        print("%-8s median %10.0f req/s" % (name, statistics.median(got[name])))
    for name in names[1:]:
        ratios = [a / b for a, b in zip(got[name], got[names[0]])]
        print("%s/%s paired median %.3f" % (name, names[0], statistics.median(ratios)))


if __name__ == "__main__":
    main()
