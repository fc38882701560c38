#!/usr/bin/env python3
r"""A pipelined crawl with dugong's coroutine API, against pollhttp's `serve` example, for
tests/serve.rs.

    eval "$(tests/peers/setup.sh)"
    $POLLHTTP_PEERS_PYTHON tests/peers/dugong_crawl.py HOST PORT [--n N] [--method HEAD|GET] [--paths K]

N requests (default 10,000) for /d1.html .. /dK.html (cycled; K defaults to 100) on one
dugong connection: one coroutine sends every request (`co_send_request`), another reads
the responses (`co_read_response`, and `co_readall` for GET) as they come, and a poll(2)
loop resumes each when the socket is ready for it, as dugong's documentation does for
pipelining. Each response is checked: status 200, the path it answers, `Content-Length`
of `document N\n`, and for GET the body itself.

The last line on stdout is `dugong_crawl: <ok> ok of <N> in <secs> s = <rate> req/s`;
the exit status is 0 when every response was right.
"""

import argparse
import select
import sys
import time

from dugong import HTTPConnection, PollNeeded

TIMEOUT = 20
# What the reader yields when it has read every response sent so far.
WAIT_FOR_SENDER = object()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--method", default="HEAD", choices=["HEAD", "GET"])
    parser.add_argument("--paths", type=int, default=100)
    args = parser.parse_args()
    n, method = args.n, args.method

    def path(i):
        return "/d{}.html".format(i % args.paths + 1)

    conn = HTTPConnection(args.host, args.port)
    conn.timeout = TIMEOUT
    conn.connect()
    fd = conn._sock.fileno()
    results = {"ok": 0, "bad": []}

    def sender():
        for i in range(n):
            yield from conn.co_send_request(method, path(i))

    def reader():
        for i in range(n):
            while not conn.response_pending():
                yield WAIT_FOR_SENDER
            resp = yield from conn.co_read_response()
            doc = "document {}\n".format(i % args.paths + 1).encode()
            problems = []
            if resp.status != 200:
                problems.append("status {}".format(resp.status))
            if resp.path != path(i):
                problems.append("answers {} {}".format(resp.method, resp.path))
            if resp.headers["Content-Length"] != str(len(doc)):
                problems.append("content-length {}".format(resp.headers["Content-Length"]))
            if method == "GET":
                body = yield from conn.co_readall()
                if body != doc:
                    problems.append("body {!r}".format(body))
            if problems:
                results["bad"].append("response {}: {}".format(i, ", ".join(problems)))
            else:
                results["ok"] += 1

    start = time.monotonic()
    running = {"send": sender(), "read": reader()}
    waits = {"send": None, "read": None}  # None: ready to run
    while running:
        ran = False
        for name in list(running):
            wait = waits[name]
            if wait is None or (wait is WAIT_FOR_SENDER and conn.response_pending()):
                ran = True
                try:
                    waits[name] = next(running[name])
                except StopIteration:
                    del running[name]
                    waits[name] = None
        if ran:
            continue
        # Both wait for the socket (or the reader for a sender that waits for it).
        mask = 0
        for name in running:
            if isinstance(waits[name], PollNeeded):
                mask |= waits[name].mask
        if mask == 0:
            raise RuntimeError("nothing to wait for: {}".format(waits))
        poll = select.poll()
        poll.register(fd, mask)
        ready = poll.poll(TIMEOUT * 1000)
        if not ready:
            raise RuntimeError("timed out after {} of {} responses".format(results["ok"], n))
        events = ready[0][1]
        for name in running:
            wait = waits[name]
            if isinstance(wait, PollNeeded) and events & (wait.mask | select.POLLERR | select.POLLHUP):
                waits[name] = None
    secs = time.monotonic() - start
    assert not conn.response_pending()
    conn.disconnect()

    for line in results["bad"][:10]:
        print(line, file=sys.stderr)
    rate = n / secs if secs > 0 else 0.0
    print("dugong_crawl: {} ok of {} in {:.3f} s = {:.0f} req/s".format(results["ok"], n, secs, rate))
    return 0 if results["ok"] == n else 1


if __name__ == "__main__":
    sys.exit(main())
