#!/usr/bin/env python3
"""1 GiB GET side by side, interleaved rounds: pollhttp's `get` example (Connection::read_into,
256 KiB buffer, body to /dev/null), curl to /dev/null, and dugong's readinto (256 KiB buffer).

usage: benches/e2e/bulk.py URL [--rounds 5]

Needs `cargo build --release --example get`, curl, and dugong importable (tests/peers/setup.sh
installs it: run with $POLLHTTP_PEERS_PYTHON). Prints each one's GB/s per round, the medians, and
pollhttp's ratio to each (median of per-round ratios).
"""
import argparse, os, statistics, subprocess, sys, time
from urllib.parse import urlsplit

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
GET = os.path.join(repo, "target", "release", "examples", "get")


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def dugong(url):
    from dugong import HTTPConnection
    u = urlsplit(url)
    t = time.perf_counter()
    conn = HTTPConnection(u.hostname, u.port)
    conn.send_request("GET", u.path)
    conn.read_response()
    buf = bytearray(256 * 1024)
    n = 0
    while True:
        k = conn.readinto(buf)
        if not k:
            break
        n += k
    conn.disconnect()
    return time.perf_counter() - t, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    size = None
    got = {"pollhttp": [], "curl": [], "dugong": []}
    for r in range(a.rounds):
        t_dugong, size = dugong(a.url)
        got["dugong"].append(size / t_dugong / 1e9)
        got["pollhttp"].append(size / timed([GET, "-o", "/dev/null", a.url]) / 1e9)
        got["curl"].append(size / timed(["curl", "-s", "-o", "/dev/null", a.url]) / 1e9)
        print("round %d: " % (r + 1) + "  ".join("%s=%.2f GB/s" % (k, v[-1]) for k, v in got.items()),
              flush=True)
    for k, v in got.items():
        print("%-9s median %.2f GB/s" % (k, statistics.median(v)))
    ratios = {k: statistics.median([p / q for p, q in zip(got["pollhttp"], got[k])])
              for k in ("curl", "dugong")}
    print("ratios (pollhttp/peer, median of rounds): " +
          "  ".join("%s=%.2f" % (k, v) for k, v in ratios.items()))


if __name__ == "__main__":
    sys.exit(main())
