#!/usr/bin/env python3
"""Put nginx, Apache, lighttpd, HAProxy and Varnish in front of `serve` as reverse proxies,
send request smuggling vectors through each, and check that the proxy and `serve` agree on
where every request and every response ends.

    cargo build --release --example serve
    python3 benches/conformance/proxies_differential.py [--serve PATH] [--only PROXY]...
        [--verbose] [--json OUT]

`--serve` defaults to `$CARGO_TARGET_DIR/release/examples/serve` (`target/` when unset).
The script starts everything itself, on free loopback ports, in a temporary folder it
removes at the end, and stops it all when done:

- one `serve` (the example, default settings);
- per proxy, a relay between the proxy and `serve` that keeps every byte of every upstream
  connection, both ways (the tap);
- HAProxy 2.6 (a minimal frontend and backend, `http-reuse safe` by default) and Varnish
  7.1 (the default VCL: a backend and nothing else; it caches GET and HEAD, passes the
  rest, pipes unknown methods such as CONNECT with `Connection: close`), run in the
  foreground from their Debian packages (`apt-get install haproxy varnish`; stop the
  services the packages start);
- Debian's nginx 1.22, Apache 2.4 and lighttpd 1.4 through `tests/peers/{nginx,apache,
  lighttpd}.sh` (their default configurations), each with a reverse proxy to its tap added:
  nginx `proxy_pass` with `proxy_http_version 1.1`, an empty `Connection` and an upstream
  `keepalive 16` (its documented setup for keep-alive to a backend; its other settings,
  `client_max_body_size 1m` included, are its defaults); Apache `ProxyPass` (mod_proxy_http,
  which keeps backend connections); lighttpd `proxy.server` (mod_proxy, one connection a
  request).

Each case (about 120 smuggling vectors written here, then the 237 inputs of
`servers_differential.py`) is sent through each proxy on a new client connection; what the
client gets within 0.7 s is read. Then a probe, `GET /d7.html`, goes through the same
proxy on another client connection (behind nginx and Apache it may reuse the same upstream
connection). Then the tap's new bytes are read as RFC 9112 frames them: the proxy writes
requests it has framed itself, so this reading is the proxy's view; serve's answers on the
same upstream connection are serve's view. A case is:

  refused    the proxy sent nothing of it upstream (its own 4xx, or nothing);
  agreed     each request the proxy sent upstream got exactly one final response from serve
             (up to one asking `Connection: close`: what follows it is not read);
  DESYNC     serve answered more requests than the proxy sent on a connection (a request
             hidden in a body, executed), or fewer while the proxy's were complete (serve
             waits for a body the proxy thinks it ended), or its responses do not parse, or
             the probe did not get `document 7` (a response queued to the wrong client).

The smuggled requests are `GET /status/CODE`, each with a code of its own (2xx, 6xx), so
that a hidden one shows in serve's answers. An agreed case where serve refused what the
proxy forwarded (400, 411, 413, 414, 431, 501, 505) is listed apart: no desync (serve
closes after such a refusal), but the two parsers differ. Exit status 1 when any case is
DESYNC. Four minutes here (the proxies run side by side, 0.7 s a case).
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import servers_differential  # noqa: E402

H = b"Host: localhost\r\n"
READ_FOR = 0.7


# --- the tap ---------------------------------------------------------------------------

class Tap:
    """A relay from a listening port to `target`, keeping what goes each way per connection."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # [up bytes (proxy to serve), down bytes]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                conn = [bytearray(), bytearray()]
                self.conns.append(conn)
            threading.Thread(target=self._pump, args=(client, server, conn[0]), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, conn[1]), daemon=True).start()

    def _pump(self, src, dst, kept):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                kept += data
            try:
                dst.sendall(data)
            except OSError:
                return

    def snapshot(self):
        with self.lock:
            return [(bytes(up), bytes(down)) for up, down in self.conns]


# --- RFC 9112 framing of what went upstream ----------------------------------------------

def head_at(buf, pos):
    """(head, end of head) of the message at `pos` (empty lines before it skipped), or None."""
    while buf.startswith(b"\r\n", pos):
        pos += 2
    end = buf.find(b"\r\n\r\n", pos)
    return None if end < 0 else (buf[pos:end], end + 4)


def fields_of(head):
    out = []
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        out.append((name.strip().lower(), value.strip(b" \t")))
    return out


def chunked_end(buf, pos):
    """Where a chunked body starting at `pos` ends; None if incomplete; ValueError if bad."""
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = buf[pos:eol].split(b";", 1)[0]
        if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size):
            raise ValueError("chunk line %r" % buf[pos:eol][:40])
        n, pos = int(size, 16), eol + 2
        if n == 0:
            while True:  # the trailer section, then the empty line
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return eol + 2
                pos = eol + 2
        if len(buf) < pos + n + 2:
            return None
        if buf[pos + n:pos + n + 2] != b"\r\n":
            raise ValueError("no CRLF after chunk data")
        pos += n + 2


def body_end(buf, start, flds, no_body):
    """End of the body from `start`, by the fields; None if incomplete, len(buf) if until close."""
    if no_body:
        return start
    te = [v for n, v in flds if n == b"transfer-encoding"]
    cl = [v for n, v in flds if n == b"content-length"]
    if te:
        return chunked_end(buf, start)
    if cl:
        if not re.fullmatch(rb"[0-9]+", cl[0]) or len(set(cl)) > 1:
            raise ValueError("Content-Length %r" % cl)
        end = start + int(cl[0])
        return end if end <= len(buf) else None
    return None


def requests_in(buf):
    """[(request line, complete, asks to close)], and how far they go."""
    out, pos = [], 0
    while True:
        found = head_at(buf, pos)
        if found is None:
            return out, pos
        head, start = found
        flds = fields_of(head)
        line = head.split(b"\r\n")[0]
        closes = any(n == b"connection" and b"close" in v.lower() for n, v in flds)
        framed = any(n in (b"transfer-encoding", b"content-length") for n, _ in flds)
        try:
            end = body_end(buf, start, flds, not framed)
        except ValueError:
            end = None
        if end is None:
            out.append((line, False, closes))
            return out, len(buf)
        out.append((line, True, closes))
        pos = end


def responses_in(buf, methods):
    """[status line] of the final responses (1xx skipped), framed for `methods` in order;
    raises ValueError when they do not parse."""
    out, pos = [], 0
    while pos < len(buf):
        found = head_at(buf, pos)
        if found is None:
            if buf[pos:].strip(b"\r\n"):
                raise ValueError("not a response: %r" % buf[pos:pos + 40])
            break
        head, start = found
        line = head.split(b"\r\n")[0]
        m = re.match(rb"HTTP/1\.[01] (\d{3})", line)
        if not m:
            raise ValueError("status line %r" % line[:40])
        code = int(m.group(1))
        if code < 200:
            pos = start
            continue
        method = methods[len(out)] if len(out) < len(methods) else b"?"
        flds = fields_of(head)
        no_body = method == b"HEAD" or code in (204, 304)
        end = body_end(buf, start, flds, no_body)
        out.append(line)
        if end is None:
            # Until the close, or not all here yet: nothing after it to frame.
            break
        pos = end
    return out


# --- the cases ---------------------------------------------------------------------------

def smuggled(code):
    return b"GET /status/%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % code


def post(fields, body, path=b"/echo"):
    return b"POST " + path + b" HTTP/1.1\r\n" + H + fields + b"\r\n" + body


def own_cases():
    """(name, bytes, send the body apart) for the classic vectors; the smuggled requests ask
    for codes of their own: 231 to 299, then 600 up (serve answers any code from 200 to 999)."""
    cases = []
    code = iter(list(range(231, 300)) + list(range(600, 1000)))

    def hidden_after_chunked_end(fields):
        body = b"0\r\n\r\n" + smuggled(next(code))
        return post(fields + b"Content-Length: %d\r\n" % len(body), body)

    def hidden_in_chunk(fields):
        inner = smuggled(next(code))
        return post(fields, b"%x\r\n" % len(inner) + inner + b"\r\n0\r\n\r\n")

    cases.append(("CL.TE", hidden_after_chunked_end(b"Transfer-Encoding: chunked\r\n"), False))
    body = b"0\r\n\r\n" + smuggled(next(code))
    cases.append(("TE.CL", post(b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(body),
                                body), False))
    cases.append(("TE.CL, short CL", hidden_in_chunk(b"Transfer-Encoding: chunked\r\n"
                                                     b"Content-Length: 4\r\n"), False))
    for te in [b"Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n",
               b"Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n",
               b"Transfer-Encoding : chunked\r\n", b"Transfer-Encoding:\tchunked\r\n",
               b"Transfer-Encoding: xchunked\r\n", b"Transfer-Encoding: chunked, identity\r\n",
               b"Transfer-Encoding: identity, chunked\r\n", b"Transfer-Encoding: gzip, chunked\r\n",
               b"Transfer-Encoding: chunked, chunked\r\n", b"Transfer-Encoding: \"chunked\"\r\n",
               b"Transfer-Encoding: Chunked\r\n", b"Transfer-Encoding: chunked \r\n",
               b"Transfer-Encoding:\x0bchunked\r\n", b"Transfer-Encoding: \xa0chunked\r\n",
               b"X: y\r\n Transfer-Encoding: chunked\r\n", b"Transfer-Encoding:\r\n chunked\r\n",
               b"Transfer_Encoding: chunked\r\n", b"Transfer-Encoding: chunked\n",
               b"X: y\nTransfer-Encoding: chunked\r\n", b"Transfer-Encoding: chunked;q=1\r\n"]:
        cases.append(("TE %r with CL" % te, hidden_after_chunked_end(te), False))
        cases.append(("TE %r alone" % te, hidden_in_chunk(te), False))
    for cl in [b"Content-Length: 5\r\nContent-Length: %d\r\n", b"Content-Length: %d\r\nContent-Length: 5\r\n",
               b"Content-Length: 5, %d\r\n", b"Content-Length: +%d\r\n", b"Content-Length: 0%d\r\n",
               b"Content-Length:  %d \r\n", b"Content-Length: %d.0\r\n", b"Content-Length : %d\r\n",
               b"Content-Length:\t%d\r\n", b"Content-Length: 5\r\n Content-Length: %d\r\n",
               b"Content_Length: %d\r\n", b"Content-Length: %d\n", b"Content-Length: %d\x00\r\n",
               b"Content-Length: -%d\r\n", b"Content-Length: %d 5\r\n"]:
        body = b"hello" + smuggled(next(code))
        fields = cl % len(body)
        cases.append(("CL %r" % fields, post(fields, body), False))
    for size in [b"0x5", b"+5", b" 5", b"5 ", b"5;ext", b"5;e=\"a;b\"", b"5\t", b"00000005", b"5;\n",
                 b"5\n", b"10000000000000005"]:
        body = size + b"\r\nhello\r\n0\r\n\r\n" + smuggled(next(code))
        cases.append(("chunk size %r" % size, post(b"Transfer-Encoding: chunked\r\n", body), False))
    for name, body in [("chunk data bare LF", b"5\r\nhello\n0\r\n\r\n"),
                       ("chunk data too long", b"3\r\nhello\r\n0\r\n\r\n"),
                       ("last chunk bare LF", b"5\r\nhello\r\n0\n\r\n"),
                       ("trailer", b"5\r\nhello\r\n0\r\nX: y\r\n\r\n"),
                       ("trailer ends with bare LFs", b"5\r\nhello\r\n0\r\nX: y\n\n"),
                       ("Content-Length in a trailer", b"5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n"),
                       ("chunk extension with a bare LF", b"5;a\nx\r\nhello\r\n0\r\n\r\n")]:
        cases.append((name, post(b"Transfer-Encoding: chunked\r\n", body + smuggled(next(code))), False))
    for name, fields in [("obs-fold", b"X-A: a\r\n b\r\n"), ("NUL in a value", b"X-A: a\x00b\r\n"),
                         ("CR in a value", b"X-A: a\rb\r\n")]:
        cases.append((name, post(fields + b"Content-Length: 5\r\n", b"hello"), False))
    inner = smuggled(next(code))
    cases.append(("GET with a body", b"GET /d1.html HTTP/1.1\r\n" + H
                  + b"Content-Length: %d\r\n\r\n" % len(inner) + inner, False))
    for path in [b"/", b"/chunked/10", b"/bytes/10", b"/nope"]:
        cases.append(("HEAD " + path.decode(), b"HEAD " + path + b" HTTP/1.1\r\n" + H + b"\r\n", False))
    cases.append(("HEAD then GET", b"HEAD /bytes/10 HTTP/1.1\r\n" + H + b"\r\nGET /d4.html HTTP/1.1\r\n"
                  + H + b"\r\n", False))
    for status in (204, 205, 304, 404, 500):
        cases.append(("GET /status/%d" % status, b"GET /status/%d HTTP/1.1\r\n" % status + H + b"\r\n",
                      False))
    cases.append(("POST with a body to a 204", post(b"Content-Length: 5\r\n", b"hello", b"/status/204"),
                  False))
    for path in [b"/chunked/70000", b"/bytes/70000"]:
        cases.append(("GET " + path.decode(), b"GET " + path + b" HTTP/1.1\r\n" + H + b"\r\n", False))
    expect = b"Expect: 100-continue\r\n"
    cases.append(("Expect, echoed", post(expect + b"Content-Length: 5\r\n", b"hello"), True))
    cases.append(("Expect, body unread", post(expect + b"Content-Length: 5\r\n", b"hello",
                                              b"/status/200"), True))
    inner = smuggled(next(code))
    cases.append(("Expect, body unread, a request in it",
                  post(expect + b"Content-Length: %d\r\n" % len(inner), inner, b"/status/200"), True))
    cases.append(("Expect, chunked", post(expect + b"Transfer-Encoding: chunked\r\n",
                                          b"5\r\nhello\r\n0\r\n\r\n"), True))
    cases.append(("Expect, body at once", post(expect + b"Content-Length: 5\r\n", b"hello"), False))
    cases.append(("HTTP/1.0 with Transfer-Encoding",
                  b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                  + smuggled(next(code)), False))
    cases.append(("Upgrade: websocket", b"GET / HTTP/1.1\r\n" + H
                  + b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", False))
    cases.append(("CONNECT with a request after it", b"CONNECT localhost:80 HTTP/1.1\r\n" + H + b"\r\n"
                  + smuggled(next(code)), False))
    big = 2 << 20
    cases.append(("2 MiB to a handler that does not read", post(b"Content-Length: %d\r\n" % big,
                                                                 b"a" * big, b"/status/200"), False))
    return cases


def all_cases():
    theirs = [("differential: " + name, data, False) for name, data in servers_differential.CASES]
    return own_cases() + theirs


# --- running -----------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(port, data, split=False, read_for=READ_FOR):
    """What comes back within `read_for` s of the last byte sent (the head first, then the
    body after a pause when `split`)."""
    got = b""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(read_for)
        try:
            if split:
                cut = data.index(b"\r\n\r\n") + 4
                s.sendall(data[:cut])
                try:
                    got += s.recv(65536)
                except socket.timeout:
                    pass
                data = data[cut:]
            s.sendall(data)
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
    return got


def judge(tap, seen, client, probe):
    """The verdict on the tap's new bytes since `seen` (updated): (verdict, upstream
    requests, serve's responses, note)."""
    sent, answered, problems = [], [], []
    for cid, (up, down) in enumerate(tap.snapshot()):
        up_from, down_from = seen.get(cid, (0, 0))
        if len(up) == up_from and len(down) == down_from:
            continue
        requests, used = requests_in(up[up_from:])
        closes = [i for i, (_, _, close) in enumerate(requests) if close]
        seen[cid] = (up_from + used, len(down))
        methods = [line.split(b" ")[0] for line, _, _ in requests]
        try:
            finals = responses_in(down[down_from:], methods)
        except ValueError as e:
            problems.append("conn %d: serve's answer does not parse: %s" % (cid, e))
            finals = []
        sent += [line.decode("latin1") for line, _, _ in requests]
        answered += [line.decode("latin1") for line in finals]
        complete = all(done for _, done, _ in requests)
        # A request with `Connection: close` is the last one serve answers on its
        # connection (Varnish pipes a CONNECT so, and anything after it goes unread).
        if closes and len(finals) == closes[0] + 1 < len(requests):
            requests = requests[:len(finals)]
        if len(finals) > len(requests):
            problems.append("conn %d: %d requests sent, %d answered" % (cid, len(requests), len(finals)))
        elif len(finals) < len(requests) and complete:
            problems.append("conn %d: %d complete requests sent, %d answered"
                            % (cid, len(requests), len(finals)))
    if b"document 7" not in probe:
        problems.append("the probe got %r" % probe[:60])
    forwarded = [line for line in sent if not line.startswith("GET /d7.html ")]
    refused_by_serve = [line for line in answered if re.match(r"HTTP/1\.[01] (400|411|413|414|431|501|505)", line)]
    if problems:
        verdict = "DESYNC"
    elif not forwarded:
        verdict = "refused"
    else:
        verdict = "agreed"
    note = "; ".join(problems)
    if verdict == "agreed" and refused_by_serve:
        note = "serve refused it: " + ", ".join(refused_by_serve)
    client_statuses = [m.decode() for m in re.findall(rb"HTTP/1\.[01] \d{3}", client)]
    return verdict, forwarded, answered, client_statuses, note


def run_proxy(name, port, tap, cases, results, verbose):
    seen = {}
    time.sleep(0.1)
    exchange(port, b"GET /d1.html HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    time.sleep(0.2)
    judge(tap, seen, b"", b"document 7")
    for case, data, split in cases:
        client = exchange(port, data, split)
        probe = exchange(port, b"GET /d7.html HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n",
                         read_for=3.0)
        time.sleep(0.2)
        verdict, forwarded, answered, statuses, note = judge(tap, seen, client, probe)
        results.append(dict(proxy=name, case=case, verdict=verdict, client=statuses,
                            upstream=forwarded, serve=answered, note=note))
        if verbose or verdict == "DESYNC":
            print("%-8s %-60s %-7s client %s upstream %s %s" % (
                name, case[:60], verdict, ",".join(statuses) or "-", len(forwarded), note), flush=True)


def start_proxies(tmp, taps):
    """Starts a reverse proxy to each tap in `taps` ({name: Tap}); returns {name: port}
    and the commands that stop them."""
    peers = os.path.join(REPO, "tests", "peers")
    ports, stops = {}, []
    for name, tap in taps.items():
        port = free_port()
        if name == "nginx":
            # nginx's static server stays on `port`; the proxy gets one of its own.
            ports[name] = free_port()
            env = {"EXTRA_HTTP": (
                "upstream serve { server 127.0.0.1:%d; keepalive 16; }\n"
                "server { listen 127.0.0.1:%d; location / { proxy_pass http://serve;\n"
                "    proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
                % (tap.port, ports[name]))}
        elif name == "apache":
            ports[name] = port
            modules = "/usr/lib/apache2/modules"
            # The start script's readiness check asks for /index.html: Apache serves it.
            env = {"EXTRA_CONF": (
                "<IfModule !proxy_module>\nLoadModule proxy_module %s/mod_proxy.so\n</IfModule>\n"
                "<IfModule !proxy_http_module>\n"
                "LoadModule proxy_http_module %s/mod_proxy_http.so\n</IfModule>\n"
                "ProxyPass /index.html !\nProxyPass / http://127.0.0.1:%d/"
                % (modules, modules, tap.port))}
        else:
            ports[name] = port
            # lighttpd refuses a module loaded twice.
            loaded = subprocess.run(["grep", "-rqs", "\"mod_proxy\"", "/etc/lighttpd/lighttpd.conf",
                                     "/etc/lighttpd/conf-enabled"]).returncode == 0
            env = {"EXTRA_CONF": ("" if loaded else "server.modules += (\"mod_proxy\")\n") + (
                "$HTTP[\"url\"] !~ \"^/index\\.html$\" { proxy.server = (\"\" => "
                "((\"host\" => \"127.0.0.1\", \"port\" => %d))) }" % tap.port)}
        script, folder = os.path.join(peers, name + ".sh"), os.path.join(tmp, name)
        subprocess.run([script, "start", str(port), folder], check=True, env={**os.environ, **env})
        stops.append([script, "stop", folder])
    return ports, stops


def start_daemon(name, tap, tmp):
    """HAProxy or Varnish in the foreground in front of `tap`; returns (port, the process)."""
    port, folder = free_port(), os.path.join(tmp, name)
    os.makedirs(folder)
    os.chmod(folder, 0o755)
    if name == "haproxy":
        # A minimal frontend and backend; `http-reuse safe` is the default: a backend
        # connection goes to another client's requests once its first client has used it.
        conf = os.path.join(folder, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write("global\n    maxconn 1000\n"
                    "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n"
                    "    timeout server 30s\n"
                    "frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n"
                    "backend be\n    server s1 127.0.0.1:%d\n" % (port, tap.port))
        command = ["haproxy", "-db", "-f", conf]
    else:
        # The default VCL: only a backend. GET and HEAD are cached (each case's target is
        # its own, so most go upstream), the rest passed; backend connections are kept.
        vcl = os.path.join(folder, "default.vcl")
        with open(vcl, "w") as f:
            f.write('vcl 4.1;\nbackend default { .host = "127.0.0.1"; .port = "%d"; }\n' % tap.port)
        command = ["varnishd", "-F", "-a", "127.0.0.1:%d" % port, "-f", vcl, "-n",
                   os.path.join(folder, "work"), "-s", "malloc,64m", "-T", "none"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        sys.exit("%s did not start" % name)
    return port, process


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    ap.add_argument("--serve", default=os.path.join(target, "release", "examples", "serve"))
    ap.add_argument("--only", action="append",
                    choices=["nginx", "apache", "lighttpd", "haproxy", "varnish"])
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    names = args.only or ["nginx", "apache", "lighttpd", "haproxy", "varnish"]
    tmp = tempfile.mkdtemp(prefix="proxies-differential-")
    # Readable by the servers' users when run as root (Apache and lighttpd drop to www-data).
    os.chmod(tmp, 0o755)
    serve_port = free_port()
    serve = subprocess.Popen([args.serve, "--addr", "127.0.0.1:%d" % serve_port],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stops, processes = [], []
    try:
        if not serve.stdout.readline().startswith(b"listening on"):
            sys.exit("serve did not start")
        taps = {name: Tap(("127.0.0.1", serve_port)) for name in names}
        daemons = ("haproxy", "varnish")
        ports, stops = start_proxies(tmp, {n: t for n, t in taps.items() if n not in daemons})
        for name in names:
            if name in daemons:
                ports[name], process = start_daemon(name, taps[name], tmp)
                processes.append(process)
        cases = all_cases()
        results = []
        threads = [threading.Thread(target=run_proxy, args=(name, ports[name], taps[name], cases,
                                                            results, args.verbose))
                   for name in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for stop in stops:
            subprocess.run(stop)
        for process in processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        serve.kill()
        serve.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%-9s %6s %8s %8s %7s %s" % ("proxy", "cases", "refused", "agreed", "DESYNC",
                                        "forwarded but refused by serve"))
    for name in names:
        mine = [r for r in results if r["proxy"] == name]
        count = {v: sum(r["verdict"] == v for r in mine) for v in ("refused", "agreed", "DESYNC")}
        serve_refused = [r["case"] for r in mine if r["note"].startswith("serve refused")]
        print("%-9s %6d %8d %8d %7d %d%s" % (name, len(mine), count["refused"], count["agreed"],
                                             count["DESYNC"], len(serve_refused),
                                             (": " + "; ".join(serve_refused)) if serve_refused else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if any(r["verdict"] == "DESYNC" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
