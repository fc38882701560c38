#!/usr/bin/env python3
"""Downloads side by side, interleaved rounds: pollhttp's `get` example (`-o`, which writes
the body with `BodyReader::copy_to`: splice(2) on Linux in clear text), curl, and dugong's
readinto (256 KiB buffer, in-process, to nowhere).

usage: benches/e2e/bulk.py URL [--rounds 5] [--small URL...] [--small-tries 20] [--dir DIR]

For URL (a large body: nginx's /1g.bin) each round times `get -o /dev/null` and
`curl -s -o /dev/null`, then `get -o FILE` and `curl -s -o FILE` (FILE in DIR, default the
system's temporary directory, removed after each try, then sync and half a second's rest),
the two in each pair in alternating order from round to round, then dugong. For each --small URL it times
--small-tries runs of `get -o /dev/null` and of `curl -s -o /dev/null` (process start
included: the cost a small download pays).

Needs `cargo build --release --example get`, curl, and dugong importable (tests/peers/setup.sh
installs it: run with $POLLHTTP_PEERS_PYTHON; without it dugong is left out). Prints each
one's GB/s per round, the medians, and pollhttp's ratios (median of per-round ratios).
"""
import argparse, importlib.util, os, statistics, subprocess, sys, tempfile, time
from urllib.parse import urlsplit

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
GET = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target")),
                   "release", "examples", "get")


def timed(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def to_file(cmd_for, directory):
    fd, path = tempfile.mkstemp(prefix="bulk-", dir=directory)
    os.close(fd)
    try:
        dt = timed(cmd_for(path))
        size = os.path.getsize(path)
    finally:
        os.unlink(path)
        # Freeing 1 GiB (ext4 with `discard` here) costs the next writer: let it settle
        # before anything else is timed.
        os.sync()
        time.sleep(0.5)
    return dt, size


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
    ap.add_argument("--small", nargs="*", default=[])
    ap.add_argument("--small-tries", type=int, default=20)
    ap.add_argument("--dir", default=None)
    a = ap.parse_args()
    have_dugong = importlib.util.find_spec("dugong") is not None
    size = int(subprocess.run(["curl", "-sI", a.url], capture_output=True, text=True, check=True)
               .stdout.lower().split("content-length:")[1].split()[0])
    got = {"get null": [], "curl null": [], "get file": [], "curl file": []}
    if have_dugong:
        got["dugong"] = []
    small = {u: {"get": [], "curl": []} for u in a.small}
    for r in range(a.rounds):
        # Who goes first alternates from round to round.
        for who in (("get", "curl") if r % 2 == 0 else ("curl", "get")):
            cmd = [GET] if who == "get" else ["curl", "-s"]
            got[who + " null"].append(size / timed(cmd + ["-o", "/dev/null", a.url]) / 1e9)
        for who in (("get", "curl") if r % 2 == 0 else ("curl", "get")):
            cmd = [GET] if who == "get" else ["curl", "-s"]
            dt, n = to_file(lambda p: cmd + ["-o", p, a.url], a.dir)
            assert n == size, (who, n, size)
            got[who + " file"].append(size / dt / 1e9)
        if have_dugong:
            t_dugong, n = dugong(a.url)
            got["dugong"].append(n / t_dugong / 1e9)
        print("round %d: " % (r + 1) + "  ".join("%s=%.2f GB/s" % (k, v[-1]) for k, v in got.items()),
              flush=True)
        for u in a.small:
            for who, cmd in (("get", [GET, "-o", "/dev/null", u]), ("curl", ["curl", "-s", "-o", "/dev/null", u])):
                small[u][who].append(sum(timed(cmd) for _ in range(a.small_tries)) / a.small_tries)
            print("round %d: %s: get %.2f ms, curl %.2f ms per run" % (
                r + 1, u, small[u]["get"][-1] * 1e3, small[u]["curl"][-1] * 1e3), flush=True)
    for k, v in got.items():
        print("%-9s median %.2f GB/s" % (k, statistics.median(v)))
    ratio = lambda p, q: statistics.median([x / y for x, y in zip(got[p], got[q])])
    line = "ratios (median of rounds): get/curl to /dev/null %.2f, to a file %.2f" % (
        ratio("get null", "curl null"), ratio("get file", "curl file"))
    if have_dugong:
        line += ", get to /dev/null/dugong %.2f" % ratio("get null", "dugong")
    print(line)
    for u in a.small:
        g, c = small[u]["get"], small[u]["curl"]
        print("%s: get median %.2f ms, curl %.2f ms per run; time ratio get/curl %.2f (median of rounds)" % (
            u, statistics.median(g) * 1e3, statistics.median(c) * 1e3,
            statistics.median([x / y for x, y in zip(g, c)])))


if __name__ == "__main__":
    sys.exit(main())
