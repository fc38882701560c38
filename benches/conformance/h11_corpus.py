#!/usr/bin/env python3
"""Run h11's own tests (python-hyper/h11: h11/tests/test_io.py and test_connection.py)
through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/h11_corpus.py H11 [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

H11 is an h11 checkout (a directory with h11/tests/test_io.py) or a bare git directory of
one (read at HEAD, or at --rev). Nothing of the corpus is kept in this repository: the
`h11` package of that revision, its tests included, is copied to a temporary directory and
imported from there (pure Python, no dependency; h11 need not be installed, pytest is
replaced by a stand-in). Every test function of every test module is run, each
parametrized one once per parameter, and what it gives h11 to read is recorded:

  test_io.py  `tr(READER, DATA, EXPECTED)`: a head reader on DATA. The reader of a client
            in IDLE reads a request (`--role server`), the one of a server in
            SEND_RESPONSE a response (`--role client`, method GET). EXPECTED is the event
            the test builds; inside `pytest.raises(LocalProtocolError)` the head is
            refused. `t_body_reader(THUNK, DATA, EXPECTED, do_eof)`: a body reader on
            DATA; EXPECTED lists the events (Data joined, EndOfMessage with its trailer
            fields), or holds LocalProtocolError. The body goes after a head: a
            ContentLengthReader(N) after `POST / HTTP/1.1`, a Host and `Content-Length:
            N`; a ChunkedReader after the same with `Transfer-Encoding: chunked`; an
            Http10Reader (a body read until the close) after `HTTP/1.1 200 OK` with no
            framing field, as a response. Without `do_eof` the reader never sees the end
            of input: its events are what it gave so far.
  test_connection.py  every h11.Connection the tests make, directly or through
            helpers.ConnectionPair (whose `send` gives one connection's output to the
            other's receive_data and asserts the events that come out): its role, the
            bytes given to receive_data, in order, with `b""` the end of input, and what
            next_event returned or raised. These tests run h11 itself (a conversation
            needs h11 to write the other side), so the expected events are h11's on its
            own tests, which the tests assert (next_event compared with an event,
            `receive_and_get(...) == [...]`, ConnectionPair's `expect`) and which pass;
            a RemoteProtocolError is expected where the test has `pytest.raises` around
            next_event. A client's method (`--method`) is the one of the requests it sent.

A test function that gives h11 nothing to read tests h11's own API (its writers, the
validation of events and header values a caller hands it, its state machine, internal
functions and helpers, live servers over sockets): it is listed with the reason, not
counted. So is a connection whose outcome depends on something h1dump cannot say:

  configured     made with another `max_incomplete_event_size`.
  switch denied  a server that refused a protocol switch the request proposed (h1dump's
                 server accepts every Upgrade and CONNECT).
  own close      a connection that received after it closed its own side.
  only the close a client with a request outstanding that receives only the end of input
                 (h1dump's client sends a request when a response starts).
  methods        a client whose requests mix methods that frame responses differently
                 (HEAD, CONNECT and others).

Bytes a connection received but never read (the test left it PAUSED without starting the
next cycle, and not switched) are left out of the input. A server the test left waiting
for its answer to a proposed switch (MIGHT_SWITCH_PROTOCOL) may switch, in our run, where
h11 paused. A test function's conversations
that repeat one another (loops, the same set-up) count once.

What is compared: each input through `h1dump --role server|client`, whole and with
--split 1, then the end of input (which the tests do not always give). Agreement: both
refuse (we must refuse on the bytes, with an error other than the input ending, unless h11
refused after its end of input; a head we judge only once complete is ended with CRLF
CRLF to see whether we refuse it, marked "late"), or both accept with the same messages:
method, target, version, status, reason, header fields (lowercase names), body bytes,
trailer fields, and where the connection switched. When h11 was not given the end of
input, its events are what it read so far: our last message may go on past them (and end
at our end of input), or the input may end inside it, and its body so far must be h11's.

test_headers.py and test_events.py check values a caller hands h11 (to send), so they are
not in the figure; their checks are also run, translated, as a figure of their own: each
call of normalize_and_validate(FIELDS) in test_headers.py becomes `GET / HTTP/1.1`, the
fields, a Host (last, so that a first field's leading whitespace stays a fold at the start
of the fields) and the body they frame (as many bytes as the first Content-Length says, up
to 1,000; a last chunk for chunked); each Request, InformationalResponse or
Response built in test_events.py becomes its start line and fields. The expected verdict is
the test's (refused inside `pytest.raises`); a call whose bytes h11's own Connection reads
otherwise (it strips the whitespace around a value on receipt, it reads a 200 whatever
event class the test tried) checks only what h11 sends, and is listed, not counted. Ours:
accepted when our first message ends, refused when we refuse before it does.

The figure is as is only: h11 refuses an HTTP/1.1 request without Host, as the core does.
Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any
case where either happens is listed first, as a bug of ours.
"""

import contextlib
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

HOST = b"Host: h11.invalid\r\n"
TRANSLATED = {"test_headers.py": ("normalize_and_validate",),
              "test_events.py": ("Request", "InformationalResponse", "Response")}
REQUEST_HEAD = b"POST / HTTP/1.1\r\n" + HOST
RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\n\r\n"


# ------------------------------------------------------------------------ h11 at `rev`


def materialize(src, into):
    """Copies h11's package (and a top-level tests/ folder, in old layouts) from `src` to
    the directory `into`; returns the tests' package name."""
    folders = [f for f in ("h11", "tests") if f == "h11" or not src_has(src, "h11/tests")]
    for folder in folders:
        if src.is_checkout:
            if os.path.isdir(os.path.join(src.path, folder)):
                shutil.copytree(os.path.join(src.path, folder), os.path.join(into, folder))
            continue
        out = subprocess.run(src.git + ["ls-tree", "-r", "--name-only", src.rev, folder + "/"],
                             capture_output=True, text=True, check=True)
        for name in out.stdout.split("\n"):
            if not name:
                continue
            path = os.path.join(into, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(src.read_bytes(name))
    return "h11.tests" if src_has(src, "h11/tests") else "tests"


def src_has(src, folder):
    try:
        return bool(src.names(folder))
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False


class Expecting:
    """The `pytest.raises` blocks open at the moment (innermost last)."""
    stack = []


class Raises:
    """`pytest.raises(E)`: marks the calls made inside as expected to raise E, and
    swallows E (the stand-in readers raise nothing)."""

    def __init__(self, exc, *a, **k):
        self.exc = exc if isinstance(exc, tuple) else (exc,)
        self.value = None

    def __enter__(self):
        Expecting.stack.append(self.exc)
        return self

    def __exit__(self, ty, value, tb):
        Expecting.stack.pop()
        if ty is not None and issubclass(ty, self.exc):
            self.value = value
            return True
        return False


def expected_error():
    """The exception classes of the innermost open `pytest.raises`, or None."""
    return Expecting.stack[-1] if Expecting.stack else None


def pytest_stand_in():
    mod = types.ModuleType("pytest")

    class Param(tuple):
        pass

    def param(*values, id=None, marks=()):
        return Param(values)

    def parametrize(names, values, **k):
        def mark(fn):
            fn._parametrize = (names, list(values))
            return fn
        return mark

    mod.raises = Raises
    mod.param = param
    mod.mark = types.SimpleNamespace(parametrize=parametrize)
    mod.fixture = lambda *a, **k: (a[0] if a and callable(a[0]) else (lambda f: f))
    return mod


# ------------------------------------------------------------------------ recording


class Recorder:
    """What the test being run gives h11 to read."""

    def __init__(self):
        self.reads = []       # test_io: dicts
        self.conns = []       # test_connection: ConnLog
        self.translated = []  # test_headers, test_events: dicts


class ConnLog:
    """One h11.Connection: its role, the options it was made with, what it received and
    sent, and what next_event gave: ("event", EVENT), ("need",), ("paused", THEIR_STATE)
    or ("error", EXCEPTION, the open pytest.raises, whether the end of input had come)."""

    def __init__(self, conn, role, options):
        self.conn, self.role, self.options = conn, role, options
        self.chunks = []           # bytes received, in order
        self.eof = False           # b"" received
        self.events = []
        self.sent = []             # events this connection sent
        self.closed_first = False  # received after closing its own side
        self.deny = False          # refused a switch the request proposed


RECORDER = Recorder()


def instrument(h11):
    """Wraps Connection's methods to log every connection's input and events."""
    from h11 import _connection
    cls = _connection.Connection
    orig = {n: getattr(cls, n) for n in ("__init__", "receive_data", "next_event", "send",
                                         "send_with_data_passthrough")}

    def log_of(self):
        return getattr(self, "_corpus_log", None)

    def init(self, our_role, *a, **k):
        orig["__init__"](self, our_role, *a, **k)
        log = ConnLog(self, "client" if our_role is h11.CLIENT else "server",
                      ["%s" % (x,) for x in a] + ["%s=%r" % kv for kv in k.items()])
        self._corpus_log = log
        RECORDER.conns.append(log)

    def receive_data(self, data):
        orig["receive_data"](self, data)  # raises RuntimeError for data after b""
        log = log_of(self)
        if data:
            if any(type(e).__name__ == "ConnectionClosed" for e in log.sent):
                log.closed_first = True
            log.chunks.append(bytes(data))
        else:
            log.eof = True

    def next_event(self):
        log = log_of(self)
        before = self.their_state
        try:
            ev = orig["next_event"](self)
        except h11.RemoteProtocolError as e:
            log.events.append(("error", e, expected_error(), log.eof))
            raise
        if ev is h11.NEED_DATA:
            log.events.append(("need",))
        elif ev is h11.PAUSED:
            log.events.append(("paused", before))
        else:
            log.events.append(("event", ev))
        return ev

    def send(self, event):
        log = log_of(self)
        might = self.their_state is h11.MIGHT_SWITCH_PROTOCOL
        out = orig["send"](self, event)
        log.sent.append(event)
        if might and type(event).__name__ in ("Response", "InformationalResponse") and \
                self.their_state is not h11.SWITCHED_PROTOCOL and \
                self.our_role is h11.SERVER:
            log.deny = True
        return out

    def send_with_data_passthrough(self, event):
        out = orig["send_with_data_passthrough"](self, event)
        log_of(self).sent.append(event)
        return out

    cls.__init__ = init
    cls.receive_data = receive_data
    cls.next_event = next_event
    cls.send = send
    cls.send_with_data_passthrough = send_with_data_passthrough


def record_tr(readers, reader, data, expected):
    from h11._state import CLIENT, IDLE, SERVER, SEND_RESPONSE
    role = "server" if reader is readers[CLIENT, IDLE] else \
        "client" if reader is readers[SERVER, SEND_RESPONSE] else None
    RECORDER.reads.append({"kind": "head", "role": role, "data": bytes(data),
                           "expected": expected, "raises": expected_error(), "eof": True})


def record_body(thunk, data, expected, do_eof=False):
    from h11._readers import ChunkedReader, ContentLengthReader, Http10Reader
    from h11._util import LocalProtocolError
    reader = thunk()
    data = bytes(data)
    if isinstance(reader, ContentLengthReader):
        role = "server"
        full = REQUEST_HEAD + b"Content-Length: %d\r\n\r\n" % reader._length + data
    elif isinstance(reader, ChunkedReader):
        role = "server"
        full = REQUEST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + data
    elif isinstance(reader, Http10Reader):
        role = "client"
        full = RESPONSE_HEAD + data
    else:
        role, full = None, data
    RECORDER.reads.append({"kind": "body", "role": role, "data": full, "body": data,
                           "reader": type(reader).__name__,
                           "expected": [e for e in expected if e is not LocalProtocolError],
                           "raises": (LocalProtocolError,) if LocalProtocolError in expected
                           else expected_error(), "eof": bool(do_eof)})


def as_bytes(x):
    if isinstance(x, str):
        return x.encode("latin-1")
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    return str(int(x)).encode("ascii")


def field_lines(headers):
    return b"".join(as_bytes(n) + b": " + as_bytes(v) + b"\r\n" for n, v in headers)


def body_for(headers):
    """The body a translated request needs to be complete: as many bytes as a sensible
    Content-Length says, or a last chunk."""
    for n, v in headers:
        name, value = as_bytes(n).strip().lower(), as_bytes(v)
        if name == b"transfer-encoding" and value.strip().lower() == b"chunked":
            return b"0\r\n\r\n"
        if name == b"content-length":
            first = value.split(b",")[0].strip()
            if first.isdigit() and int(first) <= 1000:
                return b"x" * int(first)
    return b""


def record_fields(real):
    """`normalize_and_validate` of test_headers.py: its fields in a request."""
    def wrapped(headers, *a, **k):
        headers = list(headers)
        data = b"GET / HTTP/1.1\r\n" + field_lines(headers) + HOST + b"\r\n" + \
            body_for(headers)
        RECORDER.translated.append({"role": "server", "data": data,
                                    "call": "normalize_and_validate(%r)" % (headers,),
                                    "refused": expected_error() is not None})
        return real(headers, *a, **k)
    return wrapped


def record_event(real):
    """An event constructor of test_events.py: the event as bytes."""
    def wrapped(**kw):
        headers = list(kw.get("headers", []))
        version = as_bytes(kw.get("http_version", "1.1"))
        if real.__name__ == "Request":
            data = as_bytes(kw["method"]) + b" " + as_bytes(kw["target"]) + b" HTTP/" + \
                version + b"\r\n" + field_lines(headers) + b"\r\n" + body_for(headers)
            role = "server"
        else:
            data = b"HTTP/" + version + b" " + as_bytes(kw["status_code"]) + b" " + \
                as_bytes(kw.get("reason", b"")) + b"\r\n" + field_lines(headers) + b"\r\n"
            role = "client"
        RECORDER.translated.append({"role": role, "data": data, "call": "%s(%s)" % (
            real.__name__, ", ".join("%s=%r" % kv for kv in kw.items())),
            "refused": expected_error() is not None})
        return real(**kw)
    return wrapped


# ------------------------------------------------------------------------ running


def test_functions(module):
    for name, fn in vars(module).items():
        if name.startswith("test") and inspect.isfunction(fn) and \
                fn.__module__ == module.__name__:
            params = getattr(fn, "_parametrize", None)
            if params:
                names = [n.strip() for n in params[0].split(",")]
                for k, values in enumerate(params[1]):
                    if len(names) == 1:
                        values = (values[0],) if isinstance(values, tuple) and \
                            type(values).__name__ == "Param" else (values,)
                    yield name, "%s[%d]" % (name, k), fn, dict(zip(names, values))
            else:
                yield name, name, fn, {}


def run_corpus(src):
    """Runs every test function; returns (h11 version, [(module file, test name, line,
    source, Recorder, failure, whether it was left unrun for its live servers)])."""
    global RECORDER
    tmp = tempfile.mkdtemp(prefix="h11_corpus_")
    try:
        tests_pkg = materialize(src, tmp)
        sys.modules["pytest"] = pytest_stand_in()
        sys.path.insert(0, tmp)
        import h11
        instrument(h11)
        from h11._readers import READERS
        out = []
        folder = os.path.join(tmp, *tests_pkg.split("."))
        for fname in sorted(os.listdir(folder)):
            if not (fname.startswith("test") and fname.endswith(".py")):
                continue
            modname = "%s.%s" % (tests_pkg, fname[:-3])
            text = open(os.path.join(folder, fname)).read()
            if re.search(r"^import socket|^from socket", text, re.M):
                # starts live servers: not run
                mod = None
            else:
                mod = importlib.import_module(modname)
                if hasattr(mod, "tr"):
                    mod.tr = lambda r, d, e: record_tr(READERS, r, d, e)
                if hasattr(mod, "t_body_reader"):
                    mod.t_body_reader = record_body
                if fname in TRANSLATED:
                    for name in TRANSLATED[fname]:
                        real = getattr(mod, name)
                        setattr(mod, name, record_fields(real) if name ==
                                "normalize_and_validate" else record_event(real))
            if mod is None:
                for m in re.finditer(r"^def (test\w*)", text, re.M):
                    line = text[:m.start()].count("\n") + 1
                    out.append((fname, m.group(1), line, text_of(text, m.start()),
                                Recorder(), None, True))
                continue
            for name, label, fn, kwargs in test_functions(mod):
                RECORDER = Recorder()
                failure = None
                try:
                    fn(**kwargs)
                except Exception as e:  # noqa: BLE001
                    failure = "%s: %s" % (type(e).__name__, e)
                line = fn.__code__.co_firstlineno
                out.append((fname, label, line, inspect.getsource(fn), RECORDER, failure,
                            False))
        return h11.__version__, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def text_of(text, start):
    """The top-level definition starting at `start` in `text`."""
    body = text.find("\n", start) + 1
    m = re.search(r"^\S", text[body:], re.M)
    return text[start:body + m.start()] if m else text[start:]


# ------------------------------------------------------------------------ cases


def new_msg(ev):
    name = type(ev).__name__
    m = {"kind": {"Request": "request", "Response": "response"}.get(name, "informational"),
         "method": None, "target": None, "status": None, "reason": None,
         "version": bytes(ev.http_version).decode("ascii"),
         "headers": [(bytes(n).lower(), bytes(v)) for n, v in ev.headers],
         "body": b"", "trailers": [], "ended": False}
    if name == "Request":
        m["method"], m["target"] = bytes(ev.method), bytes(ev.target)
    else:
        m["status"], m["reason"] = ev.status_code, bytes(ev.reason)
    return m


def messages(events):
    """h11's events as messages (Data joined, EndOfMessage's fields as trailers), and
    whether a ConnectionClosed came."""
    msgs, closed = [], False
    for ev in events:
        name = type(ev).__name__
        if name in ("Request", "Response", "InformationalResponse"):
            msgs.append(new_msg(ev))
            if name == "InformationalResponse":
                msgs[-1]["ended"] = True
        elif name == "Data" and msgs:
            msgs[-1]["body"] += bytes(ev.data)
        elif name == "EndOfMessage" and msgs:
            msgs[-1]["trailers"] = [(bytes(n).lower(), bytes(v)) for n, v in ev.headers]
            msgs[-1]["ended"] = True
        elif name == "ConnectionClosed":
            closed = True
    return msgs, closed


def error_text(exc):
    return "%s: %s (%s)" % (type(exc).__name__, exc, getattr(exc, "error_status_hint", ""))


def read_case(r):
    """A test_io call as a case."""
    c = {"role": r["role"], "method": None, "input": r["data"], "origin": r["kind"],
         "skip": None if r["role"] else "a reader h1dump has no role for",
         "error": None, "error_at_eof": False, "eof_judged": r["eof"] and r["kind"] == "body",
         "msgs": [], "switch_at": None, "switch_any": r["kind"] == "head",
         "body_only": r["kind"] == "body", "closed": False}
    if r["raises"]:
        c["error"] = "%s (inside pytest.raises)" % r["raises"][0].__name__
        return c
    if r["kind"] == "head":
        c["msgs"] = [new_msg(r["expected"])]
        c["eof_judged"] = False
    else:
        m = {"kind": "request" if r["role"] == "server" else "response", "body": b"",
             "trailers": [], "ended": False}
        for ev in r["expected"]:
            name = type(ev).__name__
            if name == "Data":
                m["body"] += bytes(ev.data)
            elif name == "EndOfMessage":
                m["trailers"] = [(bytes(n).lower(), bytes(v)) for n, v in ev.headers]
                m["ended"] = True
        c["msgs"] = [m]
    return c


def conn_case(log, h11):
    """A connection's received bytes and h11's outcome as a case."""
    conn = log.conn
    data = b"".join(log.chunks)
    c = {"role": log.role, "method": None, "input": data, "origin": "connection",
         "skip": None, "error": None, "error_at_eof": False, "eof_judged": False,
         "msgs": [], "switch_at": None, "switch_any": False, "body_only": False,
         "closed": False, "notes": []}
    events, error = [], None
    for e in log.events:
        if e[0] == "event":
            events.append(e[1])
        elif e[0] == "error":
            error = e
            break
    c["msgs"], c["closed"] = messages(events)
    methods = sorted({bytes(e.method).decode("ascii") for e in log.sent
                      if type(e).__name__ == "Request"})
    if log.role == "client":
        framing = {m if m in ("HEAD", "CONNECT") else "GET" for m in methods}
        if len(framing) > 1:
            c["skip"] = "methods"
        c["method"] = framing.pop() if len(framing) == 1 else None
    if log.options:
        c["skip"] = "configured (%s)" % ", ".join(log.options)
    elif log.closed_first:
        c["skip"] = "own close"
    elif log.deny:
        c["skip"] = "switch denied"
    elif log.role == "client" and not data and log.eof and methods:
        c["skip"] = "only the close"
    if error:
        c["error"] = error_text(error[1])
        c["error_at_eof"] = error[3]
        if error[2] is None or not issubclass(h11.RemoteProtocolError, error[2]):
            c["notes"].append("the error is outside pytest.raises")
        return c
    trailing = bytes(conn.trailing_data[0])
    consumed = len(data) - len(trailing)
    if conn.their_state is h11.SWITCHED_PROTOCOL:
        c["switch_at"] = consumed
    elif conn.their_state is h11.MIGHT_SWITCH_PROTOCOL:
        c["switch_any"] = True
        c["input"] = data[:consumed]
    elif trailing:
        c["input"] = data[:consumed]
        c["notes"].append("%d byte(s) h11 left unread: %r" % (len(trailing), trailing[:40]))
    c["eof_judged"] = log.eof and not trailing and bool(log.events) and (
        log.events[-1][0] == "event" and type(log.events[-1][1]).__name__ ==
        "ConnectionClosed")
    return c


def corpus_cases(results, h11):
    """(counted and not-counted cases, test functions listed apart)."""
    cases, apart = [], []
    for fname, label, line, source, rec, failure, live in results:
        found = [read_case(r) for r in rec.reads] + \
            [conn_case(log, h11) for log in rec.conns if log.chunks or log.eof]
        if failure or live or not found:
            apart.append((fname, line, label, failure and "failed under the stand-ins: " +
                          failure or api_reason(source, live)))
            continue
        seen = set()
        for k, c in enumerate(found):
            key = repr((c["role"], c["method"], c["input"], c["error"], c["skip"],
                        c["switch_at"], [sorted(m.items()) for m in c["msgs"]]))
            if key in seen:
                continue
            seen.add(key)
            c.update(file=fname, test=label, line=line)
            cases.append(c)
    for fname, label in {(c["file"], c["test"]) for c in cases}:
        mine = [c for c in cases if c["file"] == fname and c["test"] == label]
        for k, c in enumerate(mine):
            c["n"], c["count"] = k + 1, len(mine)
    return cases, apart


API_REASONS = [
    (r"socket", "talks to live servers over sockets (Python's http.server, urllib)"),
    (r"\bt[wr]\(\s*write_|\btw\(|dowrite\(|Writer\(", "h11's writers (what it sends)"),
    (r"ConnectionState\(", "the state machine, driven by calls"),
    (r"ReceiveBuffer\(", "the receive buffer's own methods"),
    (r"normalize_and_validate|comma_header|has_expect_100",
     "the header helpers, on values a caller hands h11"),
    (r"_keep_alive\(|_body_framing\(|_obsolete_line_fold\(",
     "internal functions, on events a caller builds"),
    (r"normalize_data_events", "the tests' own helper"),
    (r"validate\(|bytesify|make_sentinel|ProtocolError\(",
     "utility functions and the exception classes"),
    (r"(Request|Response|InformationalResponse)\(", "the events' constructors (what a caller "
     "hands h11 to send)"),
    (r"next_event\(\)", "next_event with nothing received"),
]


def api_reason(source, live):
    if live:
        return API_REASONS[0][1]
    for pattern, reason in API_REASONS:
        if re.search(pattern, source):
            return reason
    return "gives h11 nothing to read"


def translated_cases(results):
    """test_headers.py's and test_events.py's calls as messages (not counted in the main
    figure)."""
    out = []
    for fname, label, line, source, rec, failure, live in results:
        seen = set()
        for t in rec.translated:
            if (t["data"], t["refused"]) in seen:
                continue
            seen.add((t["data"], t["refused"]))
            out.append(dict(t, file=fname, test=label, line=line))
    for fname, label in {(c["file"], c["test"]) for c in out}:
        mine = [c for c in out if c["file"] == fname and c["test"] == label]
        for k, c in enumerate(mine):
            c["n"], c["count"] = k + 1, len(mine)
    return out


def h11_reads(h11, role, data):
    """Whether h11's own Connection reads the first message of `data` (then the end of
    input) whole: True, False (it refuses), or None (the input ends first)."""
    global RECORDER
    saved, RECORDER = RECORDER, Recorder()
    try:
        conn = h11.Connection(h11.SERVER if role == "server" else h11.CLIENT)
        if role == "client":
            conn.send(h11.Request(method="GET", target="/", headers=[("Host", "h11.invalid")]))
            conn.send(h11.EndOfMessage())
        conn.receive_data(data)
        conn.receive_data(b"")
        while True:
            ev = conn.next_event()
            if isinstance(ev, (h11.EndOfMessage, h11.InformationalResponse)):
                return True
            if ev in (h11.NEED_DATA, h11.PAUSED) or isinstance(ev, h11.ConnectionClosed):
                return None
    except h11.RemoteProtocolError:
        return False
    finally:
        RECORDER = saved


def judge_translated(h1dump, h11, t):
    """h11's reader on the message (does its verdict follow the test's?) and ours."""
    data = t["data"]
    t["h11_reads"] = h11_reads(h11, t["role"], data)
    whole, ours, runs = h1dump_io.run_twice(h1dump, t["role"], data, [], None)
    first = h1dump_io.read_events(whole, data, first_only=True)
    read = first["ended"] or any(m["kind"] == "informational" for m in first["msgs"])
    if t["refused"]:
        agree = not read and bool(first["error"])
    else:
        agree = read
    t["result"] = h1dump_io.verdict(agree, None, ours, [], runs)
    t["same_on_receipt"] = t["h11_reads"] is (not t["refused"])
    return t


# ------------------------------------------------------------------------ comparison


KEYS = ("kind", "method", "target", "version", "status", "reason", "headers")


def ours_msgs(ours):
    out = []
    for m in ours["msgs"]:
        out.append({"kind": m["kind"], "method": h1dump_io.latin1(m["method"])
                    if m["method"] else None,
                    "target": m["target"] if m["kind"] == "request" else None,
                    "status": m["status"],
                    "reason": m["reason"] if m["kind"] != "request" else None,
                    "version": m["version"], "headers": m["headers"], "body": m["body"],
                    "trailers": m["trailers"]})
    return out


def ended_flags(whole):
    """For each message of h1dump's output, whether its end came."""
    flags = []
    for line in whole.splitlines():
        ev = json.loads(line)
        if ev["event"] in ("request", "response"):
            flags.append(False)
        elif ev["event"] == "informational":
            flags.append(True)
        elif ev["event"] == "end" and flags:
            flags[-1] = True
    return flags


def compare(c, ours, ended):
    """Differences between h11's accepted outcome (the case) and ours."""
    diffs = []
    mine = ours_msgs(ours)
    theirs = c["msgs"]
    if len(mine) != len(theirs):
        diffs.append("messages: h11 %d, ours %d" % (len(theirs), len(mine)))
    for i, (x, y) in enumerate(zip(theirs, mine)):
        keys = ("kind",) if c["body_only"] else KEYS
        for key in keys + ("body", "trailers"):
            if key in ("trailers",) and not x["ended"]:
                continue
            if x[key] != y[key]:
                vx, vy = x[key], y[key]
                if key == "body" and len(vx) + len(vy) > 200:
                    vx, vy = "%d bytes" % len(vx), "%d bytes" % len(vy)
                diffs.append("message %d %s: h11 %r, ours %r" % (i + 1, key, vx, vy))
        if x["ended"] and not ended[i]:
            diffs.append("message %d: h11 ends it, ours does not" % (i + 1))
    if not c["switch_any"] and c["switch_at"] != ours["switch_at"]:
        diffs.append("switch: h11 %s, ours %s" % (c["switch_at"], ours["switch_at"]))
    return diffs


def judge(h1dump, c):
    data = c["input"]
    whole, ours, runs = h1dump_io.run_twice(h1dump, c["role"], data, [], None, c["method"])
    diffs, late = [], None
    if ours["crash"]:
        agree = False
    elif c["error"]:
        agree = bool(ours["error"]) or (bool(ours["eof"]) and c["error_at_eof"])
        if not agree and not ours["error"]:
            probe = h1dump_io.read_events(h1dump_io.run_h1dump(
                h1dump, c["role"], c["method"], h1dump_io.end_head(data), 0), data)
            if probe["error"]:
                late = probe["error"]
                agree = True
    else:
        ended = ended_flags(whole)
        diffs = compare(c, ours, ended)
        agree = not diffs and not ours["error"] and \
            (not ours["eof"] or not c["eof_judged"])
        if ours["eof"] and c["eof_judged"]:
            diffs.append("ours: the input ends mid-message; h11 reads it whole")
    return h1dump_io.verdict(agree, late, ours, diffs, runs, bodies=True)


# ------------------------------------------------------------------------ report


SKIPS = {
    "configured": "made with another max_incomplete_event_size",
    "switch denied": "the test's server refuses the protocol switch the request proposes "
                     "(h1dump's server accepts every Upgrade and CONNECT)",
    "own close": "receives after closing its own side (the test's close, not the peer's)",
    "only the close": "a client with a request outstanding that receives only the end of "
                      "input (h1dump's client sends a request when a response starts)",
    "methods": "a client whose requests frame their responses differently",
}


def skip_reason(c):
    key = c["skip"].split(" (")[0]
    return SKIPS.get(key, c["skip"]) + (" (%s)" % c["skip"].split(" (", 1)[1]
                                        if " (" in c["skip"] else "")


def describe_h11(c):
    if c["error"]:
        return "h11 refuses: %s%s" % (c["error"], " (after the end of input)"
                                      if c["error_at_eof"] else "")
    parts = []
    for m in c["msgs"][:2]:
        if m["kind"] == "request" and m.get("method") is not None:
            parts.append("request %s %r HTTP/%s %r" % (
                m["method"].decode("latin-1"), m["target"], m["version"], m["headers"]))
        elif m.get("status") is not None:
            parts.append("%s HTTP/%s %d %r %r" % (m["kind"], m["version"], m["status"],
                                                  m["reason"], m["headers"]))
        else:
            parts.append("a %s" % m["kind"])
        if m["body"]:
            parts.append("body %r" % m["body"][:60])
        if m["trailers"]:
            parts.append("trailers %r" % m["trailers"])
        if not m["ended"]:
            parts.append("(not ended)")
    if len(c["msgs"]) > 2:
        parts.append("... %d messages" % len(c["msgs"]))
    if c["switch_at"] is not None:
        parts.append("switched at %d" % c["switch_at"])
    if c["closed"]:
        parts.append("closed")
    if not c["eof_judged"]:
        parts.append("no end of input")
    return "h11: " + ("; ".join(parts) or "nothing")


def label(c, j=None):
    return "%s:%d %s%s" % (c["file"], c["line"], c["test"],
                           " #%d" % c["n"] if c["count"] > 1 else "")


def origin_of(c):
    if c["origin"] == "connection":
        return "test_connection: %s role" % c["role"]
    if c["origin"] == "head":
        return "heads: %s" % ("requests" if c["role"] == "server" else "responses")
    return "body readers"


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("h11", "h11 checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = Source(args.h11, args.rev, os.path.join("h11", "__init__.py"))
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        version, results = run_corpus(src)
    import h11
    cases, apart = corpus_cases(results, h11)
    for c in cases:
        c["cause"] = None
        c["result"] = judge(h1dump, c)
        if not c["result"]["agree"]:
            c["cause"] = classify(c, c["result"])
    counted = [c for c in cases if not c["skip"]]
    skipped = [c for c in cases if c["skip"]]
    translated = [judge_translated(h1dump, h11, t) for t in translated_cases(results)]
    same = [t for t in translated if t["same_on_receipt"]]

    print("h11 %s: %s (%s)" % (version, src.commit(), args.h11))
    h1dump_io.print_methods("test functions that give h11 nothing to read, or that were "
                            "not run (%d; not counted):", apart)
    print()
    broken = h1dump_io.report_broken(
        [dict(c, plain=c["result"], input=c.get("input", c.get("data")).decode("latin-1"))
         for c in cases + translated], "plain", lambda r, j: label(r))
    print("connections whose outcome h1dump cannot reproduce (%d; not counted):"
          % len(skipped))
    for c in skipped:
        print("  %s [%s%s]: %s" % (label(c), c["role"], ", " + c["method"] if c["method"]
                                   else "", skip_reason(c)))
        if args.verbose:
            h1dump_io.print_input(c["input"], 6)
    print()
    groups = {}
    for c in counted:
        if not c["result"]["agree"]:
            groups.setdefault(c["cause"] or "UNCLASSIFIED", []).append(c)
    print("disagreements by cause (%d):" % sum(len(v) for v in groups.values()))
    for cause, rows in sorted(groups.items(), key=lambda kv: (kv[0] == "UNCLASSIFIED",
                                                              -len(kv[1]), kv[0])):
        print("\n  %s (%d)" % (cause, len(rows)))
        for c in rows:
            show(c)
    if args.verbose:
        print("\nagreements:")
        for c in counted:
            if c["result"]["agree"]:
                show(c)
    print()
    print("%s, translated: each call of %s as a message (a request with the fields, "
          "and Host; the event's start line and fields), not counted above:" % (
              " and ".join(sorted(TRANSLATED)), ", ".join(
                  n for v in TRANSLATED.values() for n in v)))
    for t in translated:
        if t["same_on_receipt"] and t["result"]["agree"] and not args.verbose:
            continue
        print("  %s %s:%d %s%s" % ("ok" if t["result"]["agree"] else "XX", t["file"],
                                   t["line"], t["test"], " #%d" % t["n"]
                                   if t["count"] > 1 else ""))
        print("      %s" % t["call"][:200])
        h1dump_io.print_input(t["data"], 6)
        print("      the test: %s; h11 on these bytes: %s" % (
            "refused" if t["refused"] else "accepted",
            {True: "reads it", False: "refuses it", None: "waits for more"}[t["h11_reads"]]
            + ("" if t["same_on_receipt"] else " (a check of what h11 sends only; not "
               "counted)")))
        print("      %s" % t["result"]["ours"])
    print()

    def row(name, rows):
        n = len(rows)
        a = sum(c["result"]["agree"] for c in rows)
        rej = [c for c in rows if c["result"]["agree"] and c["error"]]
        host = sum(1 for c in rej if "missing Host" in c["result"]["ours"])
        print("%-34s %6d %6d %6.1f%%   (both refuse: %d, we for a missing Host: %d)" % (
            name, n, a, 100.0 * a / n if n else 0, len(rej), host))

    print("%-34s %6s %6s %7s" % ("cases", "count", "agree", ""))
    for name in ("heads: requests", "heads: responses", "body readers",
                 "test_connection: server role", "test_connection: client role"):
        row(name, [c for c in counted if origin_of(c) == name])
    row("all", counted)
    n, a = len(same), sum(t["result"]["agree"] for t in same)
    print("%-34s %6d %6d %6.1f%%   (of %d calls; h11 reads the other %d otherwise)" % (
        "translated (not in all)", n, a, 100.0 * a / n if n else 0, len(translated),
        len(translated) - n))
    late = [c for c in counted if c["result"]["agree"] and c["result"]["late"]]
    print("agreeing only once the head is ended (late): %d%s" % (
        len(late), "".join(" " + label(c) for c in late)))
    print("not counted: %d test functions, %d connections" % (len(apart), len(skipped)))
    bad = h1dump_io.print_consistency([dict(c, plain=c["result"])
                                       for c in cases + translated], ("plain",))
    if args.json:
        for c in cases + translated:
            c["result"].pop("whole", None)
        with open(args.json, "w") as f:
            json.dump(h1dump_io.jsonable({"cases": cases, "apart": apart,
                                          "translated": translated}), f, indent=1)
    return 1 if broken or bad else 0


def show(c):
    r = c["result"]
    print("    [%s%s] %s" % (c["role"], ", " + c["method"] if c["method"] else "", label(c)))
    h1dump_io.print_input(c["input"], 8)
    print("        %s" % describe_h11(c))
    for note in c.get("notes") or ():
        print("        (%s)" % note)
    print("        %s" % r["ours"])
    for d in r["diffs"]:
        print("        differs: %s" % d[:300])
    if r["late"]:
        print("        once the head is ended with CRLF CRLF: %s" % r["late"])


def classify(c, r):
    """The cause of a disagreement, among those of docs/conformance.md ("h11 on the same
    inputs"); None when no rule matches (to be looked at by hand)."""
    data, ours, diffs = c["input"], r["ours"], r["diffs"]
    h_err = c["error"] or ""
    refused = ours.startswith("ours refuses")
    if "no request line received" in h_err or "no response line received" in h_err:
        return "Empty lines before a start line: h11 refuses, we skip"
    if "expecting EOF" in h_err and not refused:
        return "Data after a close: h11 error, we discard"
    if refused and not h_err:
        if "fold" in ours:
            return "obs-fold in a request: h11 joins, we refuse"
        if "bare LF" in ours or "LF" in ours.split("(")[0]:
            return "Bare LF line ends: h11 accepts, we refuse"
        if "chunk extension" in ours and re.search(rb"\r\n[0-9A-Fa-f]+[ \t]+\r\n", data):
            return "Whitespace after the chunk size: h11 allows it, we refuse"
        if "chunk extension" in ours:
            return "Chunk extension grammar: h11 does not check it"
        if "invalid character in a header field value" in ours:
            return "Other CTLs in field values: h11 refuses only NUL and the whitespace " \
                "controls, we refuse them all"
        if "unsupported HTTP version" in ours:
            return "HTTP/0.9 and major versions other than 1: h11 reads them, we refuse"
    if not h_err and not refused and c["role"] == "server" and \
            data.startswith(b"CONNECT ") and any("switch" in d or "body" in d for d in diffs):
        return "CONNECT with Content-Length: h11 reads a body, we tunnel after the head"
    return None


if __name__ == "__main__":
    sys.exit(main())
