#!/usr/bin/env python3
"""The `serve` example under wrk, beside other servers, in interleaved rounds.

usage: benches/e2e/wrk_servers.py [--workers 1] [--rounds 3] [--seconds 5] [NAME=COMMAND ...]

Each NAME=COMMAND is another server to compare, started with `{port}` replaced, e.g.
    hyper="$PEERS_BIN/hyper_server {port}" tiny="$PEERS_BIN/tiny_http_server {port}"
    ceiling="target/release/examples/wrk_ceiling {port}"
The last is a server that does no HTTP work (benches/e2e/wrk_ceiling.rs): what wrk measures
against it is the most this machine's client and kernel allow.
Needs `cargo build --release --example serve` and wrk. Runs, for each server and round:
  (a) wrk -t1 -c50 -dSs http://127.0.0.1:PORT/                       (no pipelining)
  (b) wrk -t1 -c4 -dSs -s tests/peers/pipeline.lua URL -- 16          (16 deep, 4 connections)
and prints req/s per round, the medians and serve's ratio to each (median of per-round ratios).
"""
import argparse, os, re, shlex, socket, statistics, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
SERVE = os.path.join(repo, "target", "release", "examples", "serve")
LUA = os.path.join(repo, "tests", "peers", "pipeline.lua")
RATE = re.compile(r"Requests/sec:\s*([0-9.]+)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("server did not start: %s" % cmd)


def wrk(port, seconds, pipelined):
    url = "http://127.0.0.1:%d/" % port
    if pipelined:
        cmd = ["wrk", "-t1", "-c4", "-d%ds" % seconds, "-s", LUA, url, "--", "16"]
    else:
        cmd = ["wrk", "-t1", "-c50", "-d%ds" % seconds, url]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    found = RATE.findall(out)
    if not found or "Non-2xx" in out or "Socket errors" in out:
        sys.exit("wrk failed or saw errors:\n" + out)
    return float(found[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("peers", nargs="*")
    a = ap.parse_args()
    servers = {"serve": [SERVE, "--addr", "127.0.0.1:{port}", "--workers", str(a.workers)]}
    for peer in a.peers:
        name, cmd = peer.split("=", 1)
        servers[name] = shlex.split(cmd)
    got = {(n, m): [] for n in servers for m in ("c50", "pipelined")}
    for r in range(a.rounds):
        for name, cmd in servers.items():
            port = free_port()
            proc = start([c.format(port=port) for c in cmd], port)
            try:
                got[(name, "c50")].append(wrk(port, a.seconds, False))
                got[(name, "pipelined")].append(wrk(port, a.seconds, True))
            finally:
                proc.kill()
                proc.wait()
        print("round %d: " % (r + 1) + "  ".join(
            "%s/%s=%.0f" % (n, m, v[-1]) for (n, m), v in got.items()), flush=True)
    for (n, m), v in got.items():
        print("%-8s %-9s median %10.0f req/s" % (n, m, statistics.median(v)))
    for name in servers:
        if name == "serve":
            continue
        for m in ("c50", "pipelined"):
            ratio = statistics.median([s / p for s, p in zip(got[("serve", m)], got[(name, m)])])
            print("serve/%s %s = %.2f" % (name, m, ratio))


if __name__ == "__main__":
    main()
