#!/usr/bin/env python3
"""Serve the same edge-case responses to `get` and to other HTTP clients, and list where
`get` parts from them.

    cargo build --release --example get
    python3 benches/conformance/clients_differential.py [--get PATH] [--verbose] [--json OUT]

A raw server on a loopback port answers each request with one canned response (chosen by
the request's path), then closes the connection. Each case is fetched once by each client:

  get       this repository's `get` example (the blocking client): its exit status and
            stdout;
  curl      `curl -s` (HTTP/1.1);
  python    the standard library's http.client, reading the body to its end;
  node      Node's http.get (llhttp), if `node` is installed.

A client's answer is "ok" with the body it delivered, or "error" (an exit status, or an
exception). A case is listed when `get` gives another verdict than the others all give
("alone"), or than most of them ("against most"); with --verbose, every case. Where all
say ok, differing bodies are listed too.

The cases are written here, grouped by the rule they try (RFC 9112 and 9110 sections).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402


def resp(status=b"HTTP/1.1 200 OK", fields=b"Content-Length: 5\r\n", body=b"hello"):
    return status + b"\r\n" + fields + b"\r\n" + body


def chunked(body, fields=b""):
    return resp(fields=b"Transfer-Encoding: chunked\r\n" + fields, body=body)


CASES = [
    # --- status line (RFC 9112 §4) ---
    ("plain", resp()),
    ("HTTP/1.0", resp(b"HTTP/1.0 200 OK")),
    ("no reason, with space", resp(b"HTTP/1.1 200 ")),
    ("no reason, no space", resp(b"HTTP/1.1 200")),
    ("long reason with tab", resp(b"HTTP/1.1 200 Very\tFine Indeed")),
    ("reason with obs-text", resp(b"HTTP/1.1 200 \xe9t\xe9")),
    ("lowercase http", resp(b"http/1.1 200 OK")),
    ("HTTP/2 status line", resp(b"HTTP/2 200 OK")),
    ("HTTP/2.0 status line", resp(b"HTTP/2.0 200 OK")),
    ("HTTP/1.2", resp(b"HTTP/1.2 200 OK")),
    ("two-digit status", resp(b"HTTP/1.1 20 OK")),
    ("four-digit status", resp(b"HTTP/1.1 2000 OK")),
    ("status 099", resp(b"HTTP/1.1 099 OK")),
    ("status 600", resp(b"HTTP/1.1 600 Odd")),
    ("two spaces after version", resp(b"HTTP/1.1  200 OK")),
    ("leading empty line", b"\r\n" + resp()),
    ("HTTP/0.9 body only", b"hello"),
    # --- fields (§5) ---
    ("bare LF head", resp().replace(b"\r\n", b"\n", 2)),
    ("bare LF everywhere", b"HTTP/1.1 200 OK\nContent-Length: 5\n\nhello"),
    ("obs-fold", resp(fields=b"X: a\r\n b\r\nContent-Length: 5\r\n")),
    ("space before colon", resp(fields=b"X : a\r\nContent-Length: 5\r\n")),
    ("no colon", resp(fields=b"Xyz\r\nContent-Length: 5\r\n")),
    ("NUL in value", resp(fields=b"X: a\x00b\r\nContent-Length: 5\r\n")),
    ("ctl 0x01 in value", resp(fields=b"X: a\x01b\r\nContent-Length: 5\r\n")),
    ("bare CR in value", resp(fields=b"X: a\rb\r\nContent-Length: 5\r\n")),
    ("obs-text in value", resp(fields=b"X: \xe9\r\nContent-Length: 5\r\n")),
    ("empty name", resp(fields=b": a\r\nContent-Length: 5\r\n")),
    ("name with space", resp(fields=b"X Y: a\r\nContent-Length: 5\r\n")),
    ("500 fields", resp(fields=b"".join(b"X%d: y\r\n" % i for i in range(500)) +
                        b"Content-Length: 5\r\n")),
    ("60 KiB field", resp(fields=b"X: " + b"a" * 60000 + b"\r\nContent-Length: 5\r\n")),
    # --- Content-Length (§6.3) ---
    ("CL short body then close", resp(fields=b"Content-Length: 10\r\n")),
    ("CL long body", resp(fields=b"Content-Length: 3\r\n")),
    ("CL leading zeros", resp(fields=b"Content-Length: 0005\r\n")),
    ("CL twice same", resp(fields=b"Content-Length: 5\r\nContent-Length: 5\r\n")),
    ("CL list same", resp(fields=b"Content-Length: 5, 5\r\n")),
    ("CL twice different", resp(fields=b"Content-Length: 5\r\nContent-Length: 6\r\n")),
    ("CL plus", resp(fields=b"Content-Length: +5\r\n")),
    ("CL hex", resp(fields=b"Content-Length: 0x5\r\n")),
    ("CL empty", resp(fields=b"Content-Length:\r\n")),
    ("CL trailing junk", resp(fields=b"Content-Length: 5x\r\n")),
    ("CL overflow", resp(fields=b"Content-Length: 18446744073709551616\r\n")),
    ("no framing, until close", resp(fields=b"")),
    ("no framing, HTTP/1.0", resp(b"HTTP/1.0 200 OK", fields=b"")),
    ("204 with CL body", resp(b"HTTP/1.1 204 No Content")),
    ("304 with CL", resp(b"HTTP/1.1 304 Not Modified", body=b"")),
    ("1xx then 200", b"HTTP/1.1 100 Continue\r\n\r\n" + resp()),
    ("102 then 200", b"HTTP/1.1 102 Processing\r\n\r\n" + resp()),
    ("103 with fields then 200", b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + resp()),
    ("101 unasked", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" + resp()),
    # --- Transfer-Encoding (§6.1, §7) ---
    ("chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked in two chunks", chunked(b"2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n")),
    ("chunked with CL", chunked(b"5\r\nhello\r\n0\r\n\r\n", b"Content-Length: 3\r\n")),
    ("chunked uppercase", resp(fields=b"Transfer-Encoding: CHUNKED\r\n",
                               body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked no last chunk, close", chunked(b"5\r\nhello\r\n")),
    ("chunked no final CRLF, close", chunked(b"5\r\nhello\r\n0\r\n")),
    ("chunked cut in data", chunked(b"5\r\nhel")),
    ("chunk size 0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk size trailing space", chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    ("chunk size bare LF", chunked(b"5\nhello\r\n0\r\n\r\n")),
    ("chunk data bare LF", chunked(b"5\r\nhello\n0\r\n\r\n")),
    ("chunk data too long", chunked(b"5\r\nhelloX\r\n0\r\n\r\n")),
    ("chunk extension", chunked(b"5;a=b\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension bad", chunked(b"5;\"\r\nhello\r\n0\r\n\r\n")),
    ("trailers", chunked(b"5\r\nhello\r\n0\r\nX: y\r\n\r\n")),
    ("trailer without colon", chunked(b"5\r\nhello\r\n0\r\nXyz\r\n\r\n")),
    ("chunk size overflow", chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n")),
    ("gzip, chunked (body not gzip)", resp(fields=b"Transfer-Encoding: gzip, chunked\r\n",
                                           body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked, gzip", resp(fields=b"Transfer-Encoding: chunked, gzip\r\n", body=b"hello")),
    ("identity", resp(fields=b"Transfer-Encoding: identity\r\n", body=b"hello")),
    ("TE in HTTP/1.0", resp(b"HTTP/1.0 200 OK", b"Transfer-Encoding: chunked\r\n",
                            b"5\r\nhello\r\n0\r\n\r\n")),
    # --- connection (§9) ---
    ("Connection: close", resp(fields=b"Connection: close\r\nContent-Length: 5\r\n")),
    ("extra bytes after body", resp() + b"garbage"),
    ("two responses", resp() + resp()),
    ("empty answer", b""),
    ("binary answer", b"\x16\x03\x01\x00\x05hello"),
]


def serve(listener):
    """Answers each connection with the case its path names, then closes it."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=answer, args=(conn,), daemon=True).start()


def answer(conn):
    with conn:
        data = b""
        conn.settimeout(5)
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1]
            index = int(path.strip(b"/").split(b"/")[0])
            conn.sendall(CASES[index][1])
            conn.shutdown(socket.SHUT_WR)
            # Read what the client still sends, so that the close is not a reset.
            while conn.recv(4096):
                pass
        except (OSError, ValueError, IndexError):
            pass


def run(cmd, timeout=10):
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ("error", b"timeout")
    return ("ok", out.stdout) if out.returncode == 0 else ("error", out.stderr[-200:])


PYTHON = r"""
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", sys.argv[2])
r = c.getresponse()
sys.stdout.buffer.write(r.read())
"""

NODE = r"""
const http = require('http');
http.get({host: '127.0.0.1', port: +process.argv[1], path: process.argv[2]}, (res) => {
  const parts = [];
  res.on('data', (d) => parts.push(d));
  res.on('end', () => { process.stdout.write(Buffer.concat(parts)); process.exit(0); });
  res.on('error', (e) => { console.error(String(e)); process.exit(1); });
}).on('error', (e) => { console.error(String(e)); process.exit(1); });
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--get", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
        "release", "examples", "get"))
    ap.add_argument("--verbose", action="store_true", help="list every case")
    ap.add_argument("--json", help="write every answer to this file")
    a = ap.parse_args()
    if not os.access(a.get, os.X_OK):
        sys.exit("no get at %s: run `cargo build --release --example get` first" % a.get)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    threading.Thread(target=serve, args=(listener,), daemon=True).start()

    clients = [("get", lambda url, path: run([a.get, url]))]
    if shutil.which("curl"):
        clients.append(("curl", lambda url, path: run(["curl", "-s", "--http1.1", url])))
    clients.append(("python", lambda url, path: run([sys.executable, "-c", PYTHON,
                                                     str(port), path])))
    if shutil.which("node"):
        clients.append(("node", lambda url, path: run(["node", "-e", NODE, str(port), path])))

    answers = [[None] * len(clients) for _ in CASES]

    def fetch(i, j):
        path = "/%d/x" % i
        answers[i][j] = clients[j][1]("http://127.0.0.1:%d%s" % (port, path), path)
    h1dump_io.run_threads(fetch, [(i, j) for i in range(len(CASES))
                                  for j in range(len(clients))], 8)

    def cell(x):
        return "ok %r" % x[1][:12] if x[0] == "ok" else "error"
    width = max(len(n) for n, _ in CASES)
    print("%-*s  %s" % (width, "case", "  ".join("%-20s" % n for n, _ in clients)))
    alone = most = bodies = 0
    for (name, _), row in zip(CASES, answers):
        ours, rest = row[0][0], [x[0] for x in row[1:]]
        agree = sum(v == ours for v in rest)
        mark = ""
        if agree == 0:
            mark, alone = "ALONE", alone + 1
        elif agree * 2 < len(rest):
            mark, most = "most", most + 1
        elif all(x[0] == "ok" for x in row) and len({x[1] for x in row}) > 1:
            mark, bodies = "bodies differ", bodies + 1
        if mark or a.verbose:
            print("%-*s  %s  %s" % (width, name, "  ".join("%-20s" % cell(x) for x in row),
                                    mark))
    print()
    names = [n for n, _ in clients]
    print("%d cases; get alone against %s: %d; against most of them: %d; all ok with "
          "different bodies: %d" % (len(CASES), ", ".join(names[1:]), alone, most, bodies))
    for j, name in enumerate(names[1:], 1):
        same = sum(r[0][0] == r[j][0] for r in answers)
        print("  get agrees with %s on %d of %d (%.1f%%)" % (name, same, len(CASES),
                                                            100.0 * same / len(CASES)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"case": n, "response": d.decode("latin-1"),
                        "answers": {c: [x[0], x[1].decode("latin-1")]
                                    for c, x in zip(names, row)}}
                       for (n, d), row in zip(CASES, answers)], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
