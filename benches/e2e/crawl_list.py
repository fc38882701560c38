#!/usr/bin/env python3
"""A list crawl: a shuffled list of URLs over several origins (one nginx listening on several
ports, with its default request cap), fetched by `crawl --urls LIST` (list mode: 2 connections
per origin, 64 in flight on each) and by `curl --parallel`, in interleaved rounds.

usage: benches/e2e/crawl_list.py [--n 20000] [--origins 8] [--rounds 5] [--method HEAD]
                                 [--curl-parallel 64] [--seed 9] [-- EXTRA CRAWL ARGS...]

Needs `cargo build --release --example crawl`, nginx (tests/peers/setup.sh) and curl. Starts
one nginx (one worker) through tests/peers/nginx.sh with KEEPALIVE_REQUESTS=default (nginx's
own cap: 1000 requests per connection), then adds a `listen` line per further origin to the
configuration nginx.sh wrote and reloads it: ORIGINS ports, each an origin
(http://127.0.0.1:PORT). The list holds N URLs, /d1.html .. /d100.html on each origin in
turn, shuffled (seeded). Each round runs
    crawl --urls LIST --method M [EXTRA...]
    curl -s --parallel --parallel-max 64 [-I] -w '%{http_code} %{num_connects}\\n' -K CONFIG
(CONFIG: `url = "..."` and `output = "/dev/null"` per URL), times both on the wall clock
(process start included) and checks that each got N answers, all 2xx: the crawl by its last
line and exit status, curl by its N status lines. curl's connections are the sum of its
num_connects. Prints URLs/s per round, the medians and crawl/curl (median of the per-round
ratios).
"""
import argparse, os, random, re, shutil, socket, statistics, subprocess, sys, tempfile, time
import http.client

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
CRAWL = os.path.join(repo, "target", "release", "examples", "crawl")
NGINX = os.path.join(repo, "tests", "peers", "nginx.sh")
LAST = re.compile(r"crawl: (\d+) ok of (\d+) in ([0-9.]+) s = ([0-9.]+) req/s")
GOAL = 10.0


def free_ports(k):
    socks = []
    try:
        for _ in range(k):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def sh(*cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def nginx_binary():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        sys.exit("nginx is not installed (tests/peers/setup.sh)")
    return found


def answers(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("HEAD", "/d1.html")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def start_nginx(ports, d):
    """nginx.sh for the first port, then one more `listen` per port and a reload."""
    sh(NGINX, "start", str(ports[0]), d, env=dict(os.environ, KEEPALIVE_REQUESTS="default"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf) as f:
        text = f.read()
    first = "listen 127.0.0.1:%d;" % ports[0]
    if text.count(first) != 1 or "keepalive_requests" in text:
        sys.exit("nginx.sh wrote an unexpected configuration (no single %r, or a keepalive_requests)" % first)
    text = text.replace(first, " ".join("listen 127.0.0.1:%d;" % p for p in ports))
    with open(conf, "w") as f:
        f.write(text)
    sh(nginx_binary(), "-p", d, "-c", conf, "-e", os.path.join(d, "logs", "error.log"), "-s", "reload")
    for _ in range(100):
        if all(answers(p) for p in ports):
            return
        time.sleep(0.1)
    sys.exit("nginx did not answer on every port after the reload")


def run_crawl(list_path, a, n):
    cmd = [CRAWL, "--urls", list_path, "--method", a.method] + a.extra
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t
    found = LAST.findall(out.stdout)
    if out.returncode != 0 or not found or int(found[-1][0]) != n or int(found[-1][1]) != n:
        sys.exit("crawl failed or not all %d ok: %s\n%s%s" % (n, " ".join(cmd), out.stdout, out.stderr))
    return n / wall, float(found[-1][3])


def run_curl(config, a, n):
    cmd = ["curl", "-s", "--parallel", "--parallel-max", str(a.curl_parallel),
           "-w", "%{http_code} %{num_connects}\\n", "-K", config]
    if a.method == "HEAD":
        cmd.insert(2, "-I")
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t
    lines = out.stdout.split()
    codes, connects = lines[0::2], lines[1::2]
    ok = sum(1 for c in codes if c.startswith("2"))
    if out.returncode != 0 or len(codes) != n or ok != n:
        sys.exit("curl: exit %d, %d status lines, %d of them 2xx (want %d)\n%s" % (
            out.returncode, len(codes), ok, n, out.stderr[-2000:]))
    return n / wall, sum(int(c) for c in connects)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--origins", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--method", default="HEAD")
    ap.add_argument("--curl-parallel", type=int, default=64)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("extra", nargs=argparse.REMAINDER, help="-- then more crawl arguments")
    a = ap.parse_args()
    a.method = a.method.upper()
    a.extra = [x for x in a.extra if x != "--"]
    with tempfile.TemporaryDirectory() as d:
        ports = free_ports(a.origins)
        urls = ["http://127.0.0.1:%d/d%d.html" % (ports[i % a.origins], i // a.origins % 100 + 1)
                for i in range(a.n)]
        random.Random(a.seed).shuffle(urls)
        list_path, config = os.path.join(d, "urls.txt"), os.path.join(d, "curl.cfg")
        with open(list_path, "w") as f:
            f.write("".join(u + "\n" for u in urls))
        with open(config, "w") as f:
            f.write("".join('url = "%s"\noutput = "/dev/null"\n' % u for u in urls))
        ngx = os.path.join(d, "nginx")
        try:
            start_nginx(ports, ngx)
            got = {"crawl": [], "crawl (own)": [], "curl": []}
            conns = []
            for r in range(a.rounds):
                wall, own = run_crawl(list_path, a, a.n)
                got["crawl"].append(wall)
                got["crawl (own)"].append(own)
                rate, c = run_curl(config, a, a.n)
                got["curl"].append(rate)
                conns.append(c)
                print("round %d: crawl=%.0f URLs/s (its own timing %.0f)  curl=%.0f URLs/s (%d connections)" % (
                    r + 1, wall, own, rate, c), flush=True)
        finally:
            sh(NGINX, "stop", ngx)
    for k, v in got.items():
        print("%-12s median %9.0f URLs/s" % (k, statistics.median(v)))
    ratios = [c / p for c, p in zip(got["crawl"], got["curl"])]
    ratio = statistics.median(ratios)
    print("crawl/curl = %.2f (wall clock both; per round %s; goal >= %.0f: %s)" % (
        ratio, " ".join("%.2f" % x for x in ratios), GOAL, "met" if ratio >= GOAL else "NOT met"))
    print("%d URLs over %d origins, all answered 2xx by both in every round; curl opened %s connections" % (
        a.n, a.origins, "/".join(str(c) for c in conns)))


if __name__ == "__main__":
    main()
