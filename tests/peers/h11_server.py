#!/usr/bin/env python3
r"""An HTTP/1.1 test server built on h11, for pollhttp's interop tests.

    $POLLHTTP_PEERS_PYTHON tests/peers/h11_server.py PORT_FILE

Listens on 127.0.0.1, port chosen by the OS, and writes that port in decimal (no newline) to
PORT_FILE; the file appears whole (written beside, then renamed), so a test can poll for it.
One thread per connection, keep-alive and pipelining per h11. The server exits by itself
when its parent process goes away, so a crashed test leaves nothing behind.

Every generated body is the pattern "byte i is i % 251" (i counted from 0 at the start of
the body); /1m.bin on nginx.sh uses the same pattern. N and MS are decimal. A query string
is ignored. Routes:

  GET|HEAD /length/N    200, content-length: N, the N pattern bytes.
  GET|HEAD /chunked/N   200, transfer-encoding: chunked, trailer: x-checksum, x-trailer;
                        the N pattern bytes in chunks of at most 1000 bytes (1000-byte chunks,
                        then the remainder), then the last chunk with trailers
                        x-checksum: <sum of the bytes mod 2**32, decimal> and x-trailer: yes.
                        HEAD sends the same head with no body and no trailers.
  GET /close/N          Written raw (h11 would pick chunked for a 1.1 client):
                        "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + N pattern bytes,
                        then shutdown(SHUT_WR): the body ends at EOF. Anything pipelined
                        behind it is read and dropped until the client closes (or 2 s), so
                        the client sees a clean FIN, not a reset.
  PUT|POST /echo        200, content-length, body = the request body, and
                        x-request-framing: chunked | length | none (how the body came), and
                        x-request-trailers: name=value;name=value (request trailers in order,
                        lowercase names; the header is absent when there were none).
  PUT /continue/accept  If the client sent "Expect: 100-continue": "HTTP/1.1 100 Continue\r\n\r\n"
                        once the head is in. Then reads the whole body and answers 200
                        "got N bytes" with x-sent-100: yes|no and
                        x-early-body: yes|no (yes: body bytes had arrived before the 100 was
                        sent, or within 50 ms of the head, i.e. the client did not wait).
  PUT /continue/reject  Right after the head, without reading any body:
                        417 "Expectation Failed", content-length: 8, connection: close,
                        body "rejected"; then shutdown(SHUT_WR) and close. (If the client
                        sent body bytes anyway, the close turns into a reset.)
  PUT /early-error      Sends 100 Continue if the client asked for it, reads at most 64 KiB
                        (65536 bytes) of body, then 401 "Unauthorized", content-length: 6,
                        connection: close, body "denied"; shutdown(SHUT_WR) and close without
                        reading the rest (dugong's aborted upload: the client's write fails,
                        the 401 is still there to read).
  PUT /early-close      Like /early-error but sends no response at all: shutdown, close.
  GET /cut/N            200, content-length: N, sends only the first N//2 pattern bytes, closes.
  GET /cut-chunked/N    200, chunked, sends the first N//2 pattern bytes in chunks of at most
                        1000 bytes, then closes without the last chunk.
  GET /sleep/MS         sleeps MS milliseconds, then 200 "slept".
  GET /headers          200, body = the request headers as "name: value\n" lines, lowercase
                        names, in the order received.
  anything else         404 "not found\n".

Responses have reason phrases and the header names as written here, lowercase, except two
that h11 writes itself: "Transfer-Encoding: chunked" and "Connection: close" (when the
client asked to close, or sent HTTP/1.0). A request body the route did not read (a 404 to a
PUT, say) is drained before the next request; if the client is still waiting for
100-continue, the response says "connection: close" instead and the connection ends. A
request h11 cannot parse gets a 400 (or 431 etc.) with connection: close.
"""

import os
import re
import select
import socket
import sys
import threading
import time
import traceback

import h11

BLOCK = bytes(range(251)) * 261  # 65511 bytes: a whole number of periods
RECV = 65536
EARLY_LIMIT = 65536


def pattern(start, n):
    """The pattern bytes start .. start+n."""
    out = []
    while n > 0:
        off = start % 251
        take = min(n, len(BLOCK) - off)
        out.append(BLOCK[off:off + take])
        start += take
        n -= take
    return b"".join(out)


def pattern_sum(n):
    full, rem = divmod(n, 251)
    return (full * (250 * 251 // 2) + rem * (rem - 1) // 2) % 2**32


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.h = h11.Connection(h11.SERVER, max_incomplete_event_size=RECV)
        self.out = []
        self.out_len = 0
        self.method = None

    def send(self, *events, flush=True):
        for ev in events:
            data = self.h.send(ev)
            if data:
                self.out.append(data)
                self.out_len += len(data)
        # Batch small chunks into large writes, or 1000-byte chunks cost a syscall each.
        if flush or self.out_len >= RECV:
            self.flush()

    def flush(self):
        if self.out:
            self.sock.sendall(b"".join(self.out))
            self.out = []
            self.out_len = 0

    def next_event(self, max_recv=RECV):
        while True:
            ev = self.h.next_event()
            if ev is not h11.NEED_DATA:
                return ev
            self.h.receive_data(self.sock.recv(max_recv))

    def continue_if_asked(self):
        if self.h.they_are_waiting_for_100_continue:
            self.send(h11.InformationalResponse(status_code=100, headers=[], reason=b"Continue"))
            return True
        return False

    def read_body(self, limit=None):
        """Reads the request body: (bytes, trailers, complete). Stops past `limit` bytes."""
        self.continue_if_asked()
        body = bytearray()
        while self.h.their_state is h11.SEND_BODY:
            if limit is not None and len(body) >= limit:
                return bytes(body), [], False
            want = RECV if limit is None else max(1, min(RECV, limit - len(body)))
            ev = self.next_event(want)
            if isinstance(ev, h11.Data):
                body += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                trailers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in ev.headers]
                return bytes(body), trailers, True
        return bytes(body), [], True

    def respond(self, status, reason, body=b"", headers=()):
        headers = [("content-length", str(len(body)))] + list(headers)
        # The client never got a 100 and sent no body: its body may or may not follow, so
        # the connection cannot be reused.
        if self.h.they_are_waiting_for_100_continue:
            headers.append(("connection", "close"))
        self.send(h11.Response(status_code=status, reason=reason, headers=headers), flush=False)
        if body and self.method != b"HEAD":
            self.send(h11.Data(data=body), flush=False)
        self.send(h11.EndOfMessage())

    def send_pattern(self, n, chunk):
        for start in range(0, n, chunk):
            self.send(h11.Data(data=pattern(start, min(chunk, n - start))), flush=False)

    def abort(self):
        """Closes now: FIN, then close, leaving unread input unread (a reset if any)."""
        try:
            self.flush()
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()

    def linger_close(self):
        """Closes politely: FIN, then drops input until the client closes, for at most 2 s."""
        try:
            self.flush()
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + 2
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([self.sock], [], [], left)[0]:
                    break
                if not self.sock.recv(RECV):
                    break
        except OSError:
            pass
        self.sock.close()


# Handlers return True to keep serving the connection, False when they closed it.

def r_length(c, req, n):
    c.send(h11.Response(status_code=200, reason=b"OK", headers=[("content-length", str(n))]),
           flush=False)
    if req.method == b"GET":
        c.send_pattern(n, RECV)
    c.send(h11.EndOfMessage())
    return True


def r_chunked(c, req, n):
    c.send(h11.Response(status_code=200, reason=b"OK",
                        headers=[("transfer-encoding", "chunked"),
                                 ("trailer", "x-checksum, x-trailer")]), flush=False)
    if req.method == b"HEAD":
        c.send(h11.EndOfMessage())
        return True
    c.send_pattern(n, 1000)
    c.send(h11.EndOfMessage(headers=[("x-checksum", str(pattern_sum(n))), ("x-trailer", "yes")]))
    return True


def r_close(c, req, n):
    c.flush()
    c.sock.sendall(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
    for start in range(0, n, RECV):
        c.sock.sendall(pattern(start, min(RECV, n - start)))
    c.linger_close()
    return False


def r_echo(c, req):
    names = {k for k, _ in req.headers}
    framing = ("chunked" if b"transfer-encoding" in names
               else "length" if b"content-length" in names else "none")
    body, trailers, _ = c.read_body()
    headers = [("x-request-framing", framing)]
    if trailers:
        headers.append(("x-request-trailers", ";".join(f"{k}={v}" for k, v in trailers)))
    c.respond(200, b"OK", body, headers)
    return True


def r_continue_accept(c, req):
    sent_100 = False
    early = False
    if c.h.they_are_waiting_for_100_continue:
        early = bool(c.h.trailing_data[0]) or bool(select.select([c.sock], [], [], 0.05)[0])
        sent_100 = c.continue_if_asked()
    body, _, _ = c.read_body()
    c.respond(200, b"OK", f"got {len(body)} bytes".encode(),
              [("x-sent-100", "yes" if sent_100 else "no"),
               ("x-early-body", "yes" if early else "no")])
    return True


def r_continue_reject(c, req):
    c.send(h11.Response(status_code=417, reason=b"Expectation Failed",
                        headers=[("content-length", "8"), ("connection", "close")]), flush=False)
    c.send(h11.Data(data=b"rejected"), h11.EndOfMessage())
    c.abort()
    return False


def r_early_error(c, req):
    c.read_body(limit=EARLY_LIMIT)
    c.send(h11.Response(status_code=401, reason=b"Unauthorized",
                        headers=[("content-length", "6"), ("connection", "close")]), flush=False)
    c.send(h11.Data(data=b"denied"), h11.EndOfMessage())
    c.abort()
    return False


def r_early_close(c, req):
    c.read_body(limit=EARLY_LIMIT)
    c.abort()
    return False


def r_cut(c, req, n):
    c.send(h11.Response(status_code=200, reason=b"OK", headers=[("content-length", str(n))]),
           flush=False)
    c.send_pattern(n // 2, RECV)
    c.linger_close()
    return False


def r_cut_chunked(c, req, n):
    c.send(h11.Response(status_code=200, reason=b"OK", headers=[("transfer-encoding", "chunked")]),
           flush=False)
    c.send_pattern(n // 2, 1000)
    c.linger_close()
    return False


def r_sleep(c, req, ms):
    time.sleep(ms / 1000)
    c.respond(200, b"OK", b"slept")
    return True


def r_headers(c, req):
    body = "".join(f"{k.decode('latin-1')}: {v.decode('latin-1')}\n" for k, v in req.headers)
    c.respond(200, b"OK", body.encode("latin-1"))
    return True


ROUTES = [
    ({b"GET", b"HEAD"}, r"/length/(\d+)", r_length),
    ({b"GET", b"HEAD"}, r"/chunked/(\d+)", r_chunked),
    ({b"GET"}, r"/close/(\d+)", r_close),
    ({b"PUT", b"POST"}, r"/echo", r_echo),
    ({b"PUT"}, r"/continue/accept", r_continue_accept),
    ({b"PUT"}, r"/continue/reject", r_continue_reject),
    ({b"PUT"}, r"/early-error", r_early_error),
    ({b"PUT"}, r"/early-close", r_early_close),
    ({b"GET"}, r"/cut/(\d+)", r_cut),
    ({b"GET"}, r"/cut-chunked/(\d+)", r_cut_chunked),
    ({b"GET"}, r"/sleep/(\d+)", r_sleep),
    ({b"GET"}, r"/headers", r_headers),
]
ROUTES = [(methods, re.compile(path), handler) for methods, path, handler in ROUTES]


def dispatch(c, req):
    c.method = req.method
    path = req.target.split(b"?", 1)[0].decode("latin-1")
    for methods, rx, handler in ROUTES:
        m = rx.fullmatch(path)
        if m and req.method in methods:
            return handler(c, req, *(int(g) for g in m.groups()))
    c.respond(404, b"Not Found", b"not found\n")
    return True


def serve(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(300)
    c = Conn(sock)
    try:
        while True:
            ev = c.next_event()
            if not isinstance(ev, h11.Request):
                break  # ConnectionClosed
            if not dispatch(c, ev):
                return
            if c.h.our_state is not h11.DONE:
                break  # MUST_CLOSE
            # Drop what the handler left of the request body, so the next request lines up.
            while c.h.their_state is h11.SEND_BODY:
                c.next_event()
            if c.h.their_state is not h11.DONE:
                break
            c.h.start_next_cycle()
    except h11.RemoteProtocolError as e:
        if c.h.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                c.respond(e.error_status_hint, b"Bad Request" if e.error_status_hint == 400
                          else b"Error", f"{e}\n".encode(), [("connection", "close")])
            except Exception:
                pass
    except (OSError, h11.LocalProtocolError):
        pass
    except Exception:
        traceback.print_exc()
    c.linger_close()


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
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(128)
    tmp = f"{port_file}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(str(lsock.getsockname()[1]))
    os.replace(tmp, port_file)
    threading.Thread(target=watch_parent, daemon=True).start()
    while True:
        sock, _ = lsock.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
