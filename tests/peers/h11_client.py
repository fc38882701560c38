#!/usr/bin/env python3
r"""An h11 client that pipelines requests to pollhttp's `serve` example, for tests/serve.rs.

    eval "$(tests/peers/setup.sh)"
    $POLLHTTP_PEERS_PYTHON tests/peers/h11_client.py HOST PORT [--rounds R]

Writes every request at once (R rounds of a mix of GET, HEAD, PUT and POST with
Content-Length and chunked bodies, over all of serve's routes), then one last GET with
`Connection: close`, from a writer thread, while the main thread reads the responses in
order with h11 and checks each: status, reason, the whole set of header fields, framing
and body. Then it checks that the server closes the connection.

h11 has no pipelining of its own (a client connection sends its next request only after
the response): each request is serialized with a fresh h11 connection, and one more h11
connection parses the responses, "sending" each request again (the bytes are dropped) so
it knows how the response is framed (HEAD), then reading that response and starting the
next cycle.

The last line on stdout is `h11_client: N ok` (N responses, the closing one included);
any mismatch is an AssertionError (exit status 1).
"""

import argparse
import re
import socket
import sys
import threading

import h11

TIMEOUT = 20
TEXT = "text/plain; charset=utf-8"
IMF_FIXDATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3][0-9] "
    rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    rb"[0-2][0-9]:[0-5][0-9]:[0-6][0-9] GMT")


def pattern(n):
    """n bytes, byte i is i % 251."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


class Case:
    """A request and the response it must get."""

    def __init__(self, method, target, status, reason, headers, body=b"",
                 send=None, chunked=False, close=False):
        self.method = method
        self.target = target
        self.status = status
        self.reason = reason
        # Expected response header fields, names lowercase, values bytes.
        self.headers = {k.encode(): v.encode() for k, v in headers.items()}
        if close:
            self.headers[b"connection"] = b"close"
        self.body = body
        self.send = send  # None, or a list of body pieces
        self.chunked = chunked
        self.close = close

    def events(self, host):
        headers = [("Host", host)]
        if self.close:
            headers.append(("Connection", "close"))
        if self.send is not None:
            if self.chunked:
                headers.append(("Transfer-Encoding", "chunked"))
            else:
                headers.append(("Content-Length", str(sum(map(len, self.send)))))
        yield h11.Request(method=self.method, target=self.target, headers=headers)
        for piece in self.send or ():
            if piece:
                yield h11.Data(data=piece)
        yield h11.EndOfMessage()


def length(n):
    return {"content-length": str(n)}


def mix(round_):
    """One round of cases; the round number varies the sizes a little."""
    k = round_ % 100 + 1
    doc = "document {}\n".format(k).encode()
    up = pattern(1000 + 37 * round_)
    big = pattern(70000 + round_)
    pieces = [pattern(1), pattern(5000), pattern(20000 + round_), b"end"]
    whole = b"".join(pieces)
    n = 10 + round_
    return [
        Case("GET", "/", 200, b"OK", {"content-type": TEXT, **length(13)}, b"Hello, world!"),
        Case("HEAD", "/", 200, b"OK", {"content-type": TEXT, **length(13)}),
        Case("GET", "/d{}.html".format(k), 200, b"OK",
             {"content-type": "text/html", **length(len(doc))}, doc),
        Case("HEAD", "/d{}.html?x=1".format(k), 200, b"OK",
             {"content-type": "text/html", **length(len(doc))}),
        Case("PUT", "/echo", 200, b"OK", length(len(up)), up, send=[up]),
        Case("PUT", "/echo", 200, b"OK", length(0), b"", send=[]),
        Case("POST", "/echo", 200, b"OK", length(len(big)), big, send=[big[:10], big[10:]]),
        Case("POST", "/echo", 200, b"OK", {"transfer-encoding": "chunked"}, whole,
             send=pieces, chunked=True),
        Case("PUT", "/echo", 200, b"OK", {"transfer-encoding": "chunked"}, b"",
             send=[], chunked=True),
        Case("GET", "/bytes/{}".format(n), 200, b"OK", length(n), b"x" * n),
        Case("GET", "/chunked/{}".format(n), 200, b"OK", {"transfer-encoding": "chunked"},
             b"x" * n),
        Case("HEAD", "/chunked/{}".format(n), 200, b"OK", {"transfer-encoding": "chunked"}),
        Case("GET", "/status/404", 404, b"Not Found", length(0)),
        Case("DELETE", "/status/503", 503, b"Service Unavailable", length(0)),
        Case("GET", "/status/204", 204, b"No Content", {}),
        Case("GET", "/status/304", 304, b"Not Modified", {}),
        Case("GET", "/sleep/0", 200, b"OK", {"content-type": TEXT, **length(5)}, b"slept"),
        Case("GET", "/nope", 404, b"Not Found", {"content-type": TEXT, **length(9)},
             b"not found"),
        Case("GET", "/echo", 404, b"Not Found", {"content-type": TEXT, **length(9)},
             b"not found"),
    ]


def serialize(case, host):
    conn = h11.Connection(our_role=h11.CLIENT)
    return b"".join(conn.send(event) or b"" for event in case.events(host))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    host = "{}:{}".format(args.host, args.port)

    cases = [case for r in range(args.rounds) for case in mix(r)]
    cases.append(Case("GET", "/d1.html", 200, b"OK",
                      {"content-type": "text/html", **length(11)}, b"document 1\n", close=True))
    wire = b"".join(serialize(case, host) for case in cases)

    sock = socket.create_connection((args.host, args.port), timeout=TIMEOUT)
    sent = []

    def writer():
        try:
            sock.sendall(wire)
            sent.append(len(wire))
        except OSError as e:
            sent.append(e)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()

    conn = h11.Connection(our_role=h11.CLIENT)
    for i, case in enumerate(cases):
        what = "response {} ({} {})".format(i, case.method, case.target)
        for event in case.events(host):
            conn.send(event)  # only to tell h11 what the response answers
        response, body = None, bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(256 * 1024)
                conn.receive_data(data)
                assert data, "{}: the server closed the connection early".format(what)
                continue
            if isinstance(event, h11.InformationalResponse):
                raise AssertionError("{}: unexpected {}".format(what, event))
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError("{}: unexpected {}".format(what, event))
        assert response.status_code == case.status, \
            "{}: status {} != {}".format(what, response.status_code, case.status)
        assert response.reason == case.reason, \
            "{}: reason {!r} != {!r}".format(what, response.reason, case.reason)
        got = {}
        for name, value in response.headers:
            assert name not in got, "{}: {} twice".format(what, name)
            got[name] = value
        # Every response is dated (RFC 9110 §6.6.1), in IMF-fixdate.
        date = got.pop(b"date", b"")
        assert IMF_FIXDATE.fullmatch(date), "{}: date {!r}".format(what, date)
        assert got == case.headers, "{}: headers {} != {}".format(what, got, case.headers)
        assert bytes(body) == case.body, "{}: body of {} bytes != {} bytes{}".format(
            what, len(body), len(case.body),
            "" if len(body) > 80 else ": {!r}".format(bytes(body)))
        if not case.close:
            conn.start_next_cycle()

    # After the `Connection: close` response: the end of the stream, nothing more.
    assert conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE, \
        "h11 does not see the connection closing: {}".format(conn.states)
    rest = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        rest += data
    assert rest == b"" and conn.trailing_data[0] == b"", \
        "bytes after the last response: {!r}".format(rest + conn.trailing_data[0])
    thread.join(TIMEOUT)
    assert sent and sent[0] == len(wire), "writing the requests: {}".format(sent)
    sock.close()
    print("h11_client: {} ok".format(len(cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
