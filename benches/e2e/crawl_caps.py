#!/usr/bin/env python3
"""The pipelined crawl against nginx with its default request cap per connection
(keepalive_requests 1000) beside the same crawl against nginx without a cap, in interleaved
rounds: what reconnecting every 1,000 requests costs.

usage: benches/e2e/crawl_caps.py [--n 100000] [--rounds 5] [--methods HEAD,GET]
                                 [--connections C] [--depth D] [--no-diagnose]

Needs `cargo build --release --example crawl` and nginx (tests/peers/setup.sh). Starts two
nginx (one worker each) through tests/peers/nginx.sh: one with KEEPALIVE_REQUESTS=default
(nginx's own cap, 1000 since 1.19.10: the 1000th response says `Connection: close`), one with
nginx.sh's default (no practical cap). Each round runs, per method,
    crawl http://127.0.0.1:PORT/ --n N --method M [--connections C] [--depth D]
against both (which goes first alternates from round to round), and checks that every request
got a 2xx. Prints req/s per round, the medians, and capped/uncapped (median of the per-round
ratios). Then, unless --no-diagnose, one more crawl per method against the capped nginx, not
timed, with --output: the requests sent more than once (retries) and, when strace is
installed, the connections opened (connect(2) calls).
"""
import argparse, json, os, re, shutil, socket, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
CRAWL = os.path.join(repo, "target", "release", "examples", "crawl")
NGINX = os.path.join(repo, "tests", "peers", "nginx.sh")
LAST = re.compile(r"crawl: (\d+) ok of (\d+) in ([0-9.]+) s = ([0-9.]+) req/s")
GOAL = 0.85


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def crawl_cmd(port, a, method):
    cmd = [CRAWL, "http://127.0.0.1:%d/" % port, "--n", str(a.n), "--method", method]
    if a.connections:
        cmd += ["--connections", str(a.connections)]
    if a.depth:
        cmd += ["--depth", str(a.depth)]
    return cmd


def crawl_rate(cmd, n):
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    found = LAST.findall(out.stdout)
    if out.returncode != 0 or not found or int(found[-1][0]) != n:
        sys.exit("crawl failed or not all %d ok: %s\n%s%s" % (n, " ".join(cmd), out.stdout, out.stderr))
    return float(found[-1][3])


def diagnose(cmd, n, d):
    """Retries from --output's attempts; connections from strace's connect(2) calls."""
    jsonl = os.path.join(d, "out.jsonl")
    pre = []
    trace = os.path.join(d, "strace.txt")
    if shutil.which("strace"):
        pre = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", trace]
    subprocess.run(pre + cmd + ["--output", jsonl], check=True, capture_output=True, timeout=600)
    answers = attempts = 0
    with open(jsonl) as f:
        for line in f:
            o = json.loads(line)
            answers += o["status"] is not None
            attempts += o["attempts"]
    conns = None
    if pre:
        with open(trace) as f:
            conns = sum(1 for line in f if "connect(" in line)
    return answers, attempts - n, conns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--methods", default="HEAD,GET")
    ap.add_argument("--connections", type=int, help="passed to crawl (its default: 1)")
    ap.add_argument("--depth", type=int, help="passed to crawl (its default: 1024)")
    ap.add_argument("--no-diagnose", action="store_true")
    a = ap.parse_args()
    methods = [m.strip().upper() for m in a.methods.split(",") if m.strip()]
    with tempfile.TemporaryDirectory() as d:
        ports = {"capped": free_port(), "uncapped": free_port()}
        dirs = {k: os.path.join(d, "nginx-" + k) for k in ports}
        try:
            sh(NGINX, "start", str(ports["capped"]), dirs["capped"],
               env=dict(os.environ, KEEPALIVE_REQUESTS="default"))
            env = dict(os.environ)
            env.pop("KEEPALIVE_REQUESTS", None)
            sh(NGINX, "start", str(ports["uncapped"]), dirs["uncapped"], env=env)
            got = {(k, m): [] for m in methods for k in ports}
            for r in range(a.rounds):
                order = ["capped", "uncapped"] if r % 2 == 0 else ["uncapped", "capped"]
                for m in methods:
                    for k in order:
                        got[(k, m)].append(crawl_rate(crawl_cmd(ports[k], a, m), a.n))
                print("round %d: " % (r + 1) + "  ".join(
                    "%s/%s=%.0f" % (k, m, v[-1]) for (k, m), v in got.items()), flush=True)
            diag = {}
            if not a.no_diagnose:
                for m in methods:
                    diag[m] = diagnose(crawl_cmd(ports["capped"], a, m), a.n, d)
        finally:
            for k in ports:
                sh(NGINX, "stop", dirs[k])
    for (k, m), v in got.items():
        print("%-8s %-4s median %9.0f req/s" % (k, m, statistics.median(v)))
    for m in methods:
        ratios = [c / u for c, u in zip(got[("capped", m)], got[("uncapped", m)])]
        ratio = statistics.median(ratios)
        print("%s capped/uncapped = %.2f (per round %s; goal >= %.2f: %s)" % (
            m, ratio, " ".join("%.2f" % x for x in ratios), GOAL, "met" if ratio >= GOAL else "NOT met"))
    for m, (answers, retries, conns) in diag.items():
        print("%s against the capped nginx (one more run, --output%s): %d answers, %d retries%s" % (
            m, ", strace" if conns is not None else "", answers, retries,
            ", %d connections" % conns if conns is not None else ""))


if __name__ == "__main__":
    main()
