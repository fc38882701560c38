#!/usr/bin/env python3
r"""A degu 0.18 server (pure-Python backend), for pollhttp's interop tests.

    eval "$(tests/peers/setup.sh)"   # puts degu on PYTHONPATH
    $POLLHTTP_PEERS_PYTHON tests/peers/degu_server.py PORT_FILE

Listens on 127.0.0.1, port chosen by the OS, and writes that port in decimal (no newline) to
PORT_FILE (written beside, then renamed). Exits by itself when its parent process goes away.
degu is strict: HTTP/1.1 only, methods GET PUT POST HEAD DELETE, no request or response
trailers, at most one chunk extension, no pipelining promises (it reads one request at a
time, so pipelined requests do work), and it closes the connection after any status >= 400
except 404, 409 and 412. Options: max_requests=75000 (degu's ceiling) per connection, 30 s
idle timeout. Routes:

  GET|HEAD /            200 "Hello, world!" (content-length: 13)
  GET|HEAD /dN.html     200 "document N\n" for any decimal N
  PUT|POST /echo        200, content-length, body = the request body (chunked or not)
  GET /chunked/N        200, transfer-encoding: chunked, N pattern bytes (byte i is i % 251)
                        in chunks of at most 1000 bytes, then the empty last chunk
  anything else         404 "not found\n" (the connection stays open)
"""

import os
import re
import sys
import threading
import time

from degu.server import Server

BLOCK = bytes(range(251)) * 5  # whole periods, long enough for a 1000-byte slice at any phase
DOC = re.compile(r"d(\d+)\.html")


def pattern_chunks(n, size=1000):
    for start in range(0, n, size):
        off = start % 251
        yield (None, BLOCK[off:off + min(size, n - start)])
    yield (None, b"")


def reply(request, body):
    headers = {"content-length": len(body)}
    return (200, "OK", headers, None if request.method == "HEAD" else body)


def app(session, request, api):
    method, path = request.method, request.path
    if method in ("GET", "HEAD"):
        if path == []:
            return reply(request, b"Hello, world!")
        if len(path) == 1 and (m := DOC.fullmatch(path[0])):
            return reply(request, f"document {int(m.group(1))}\n".encode())
        if method == "GET" and len(path) == 2 and path[0] == "chunked" and path[1].isdigit():
            return (200, "OK", {}, api.ChunkedBodyIter(pattern_chunks(int(path[1]))))
    if method in ("PUT", "POST") and path == ["echo"]:
        # Iterating reads past read()'s 16 MiB cap; degu wants the body consumed before replying.
        # A bytes body is capped at 16 MiB too; BodyIter streams the pieces back.
        if request.body is None:
            pieces = []
        elif request.body.chunked:
            pieces = [data for _ext, data in request.body if data]
        else:
            pieces = list(request.body)
        return (200, "OK", {}, api.BodyIter(pieces, sum(map(len, pieces))))
    if request.body is not None:
        for _ in request.body:
            pass
    return (404, "Not Found", {"content-length": 10}, None if method == "HEAD" else b"not found\n")


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} PORT_FILE")
    port_file = sys.argv[1]
    server = Server(("127.0.0.1", 0), app, max_requests=75000, max_connections=200)
    tmp = f"{port_file}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(str(server.address[1]))
    os.replace(tmp, port_file)
    threading.Thread(target=watch_parent, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
