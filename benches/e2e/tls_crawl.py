#!/usr/bin/env python3
"""The pipelined HEAD crawl over TLS against nginx, side by side with the same crawl in clear
text and with curl fetching the same URLs one by one over one TLS connection, in interleaved
rounds.

usage: benches/e2e/tls_crawl.py [--n 100000] [--curl-n 10000] [--rounds 3] [--method HEAD]

Needs `cargo build --release --example crawl`, nginx (tests/peers/setup.sh), curl and the
openssl command. Starts its own nginx (clear and TLS listeners, one worker) through
tests/peers/nginx.sh with a throwaway CA and an ECDSA P-256 server certificate for localhost.
Prints each one's req/s per round, the medians, and the ratios (median of per-round ratios).
"""
import argparse, os, re, socket, statistics, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(os.path.dirname(here))
CRAWL = os.path.join(repo, "target", "release", "examples", "crawl")
NGINX = os.path.join(repo, "tests", "peers", "nginx.sh")
RATE = re.compile(r"=\s*([0-9.]+)\s*req/s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(*cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def make_pki(d):
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    cert, key, csr = os.path.join(d, "server.pem"), os.path.join(d, "server.key"), os.path.join(d, "server.csr")
    ext = os.path.join(d, "ext.cnf")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=bench CA",
       "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign")
    sh("openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
       "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


def crawl_rate(url, n, method, ca=None):
    cmd = [CRAWL, url, "--n", str(n), "--method", method]
    if ca:
        cmd += ["--cacert", ca]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    found = RATE.findall(out.stdout)
    if out.returncode != 0 or not found:
        sys.exit("crawl failed: %s\n%s" % (out.stdout, out.stderr))
    return float(found[-1])


def curl_rate(tls_port, n, method, ca, d):
    config = os.path.join(d, "urls.txt")
    with open(config, "w") as f:
        for i in range(n):
            f.write('url = "https://localhost:%d/d%d.html"\noutput = "/dev/null"\n' % (tls_port, i % 100 + 1))
    cmd = ["curl", "-s", "--fail", "--cacert", ca, "-K", config]
    if method == "HEAD":
        cmd.insert(1, "-I")
    t = time.perf_counter()
    sh(*cmd)
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--curl-n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--method", default="HEAD")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        ca, cert, key = make_pki(d)
        port, tls_port = free_port(), free_port()
        env = dict(os.environ, TLS_PORT=str(tls_port), TLS_CERT=cert, TLS_KEY=key)
        sh(NGINX, "start", str(port), os.path.join(d, "nginx"), env=env)
        try:
            got = {"tls": [], "clear": [], "curl": []}
            for r in range(a.rounds):
                got["tls"].append(crawl_rate("https://localhost:%d/" % tls_port, a.n, a.method, ca))
                got["clear"].append(crawl_rate("http://127.0.0.1:%d/" % port, a.n, a.method))
                got["curl"].append(curl_rate(tls_port, a.curl_n, a.method, ca, d))
                print("round %d: " % (r + 1) + "  ".join("%s=%.0f req/s" % (k, v[-1]) for k, v in got.items()),
                      flush=True)
        finally:
            sh(NGINX, "stop", os.path.join(d, "nginx"))
    for k, v in got.items():
        print("%-6s median %9.0f req/s" % (k, statistics.median(v)))
    ratio = lambda p: statistics.median([t / q for t, q in zip(got["tls"], got[p])])
    print("ratios (TLS crawl / peer, median of rounds): clear=%.2f  curl=%.2f" % (ratio("clear"), ratio("curl")))


if __name__ == "__main__":
    main()
