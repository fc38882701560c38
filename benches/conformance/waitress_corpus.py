#!/usr/bin/env python3
"""Run waitress's parser tests (tests/test_parser.py, the chunked-receiver tests of
tests/test_receiver.py, and the raw requests of tests/test_functional.py) through h1dump
and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/waitress_corpus.py WAITRESS [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

WAITRESS is a waitress checkout (a directory with tests/test_parser.py) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the two test files are read at run time and each test method is read with
Python's `ast` (never run; waitress need not be installed). A method is a case when it
gives bytes to the parser:

  test_parser.py  `self.parser.received(DATA)` (several calls: their inputs joined; a
            call on `data[result:]`, the rest of an input already given, adds nothing),
            `self.feed(DATA)`, or `self.parser.parse_header(DATA)`, which parses a head
            without its empty line: the missing CRLF is added. DATA is a name bound to
            bytes (a literal, or a sum of literals) earlier in the method.
  test_receiver.py  `inst.received(DATA)` on a ChunkedReceiver (a body after its head),
            also in the parametrized class (each parameter a case): the input is
            `POST / HTTP/1.1`, a Host and `Transfer-Encoding: chunked`, then DATA.

Waitress's verdict, read from the method's assertions:

  refused   `assertIsInstance(parser.error, CLASS)` (or `inst.error`), `assert
            isinstance(inst.error, CLASS)`, `assertTrue(inst.error)`, or the parse_header
            call inside `try:` whose `else:` fails the test: we must refuse (an error of
            ours other than the input ending mid-message). CLASS, or the exception caught,
            is shown beside our status hint.
  accepted  parse_header called outside a `try:` (it did not raise), `feed` (the
            integration tests), `assertIsNone(... .error)`, `assertFalse(... .error)`,
            `inst.error is None`, or `buf.data` compared: we deliver the request and
            refuse nothing (the input ending inside a body, as in the receiver tests that
            give one chunk and stop, is not counted against us). Then what the method
            asserts is compared with our request: `command`, `version`, `headers[KEY]`,
            `KEY in headers`, the whole `headers` dict (waitress's WSGI form: the name
            upper-cased with `-` as `_`, names with a `_` dropped, repeated fields joined
            with ", ", Transfer-Encoding left out of an HTTP/1.1 request and
            CONTENT_LENGTH set to the decoded length of a chunked body, as waitress does)
            and the body (`get_body_stream().getvalue()`, `buf.data`).
  waits     `assertFalse(parser.completed)` and nothing else: the head is not complete;
            we agree when we deliver nothing and refuse nothing but the end of input.

test_functional.py starts a waitress server and writes to it over a socket. Each test
method of its test classes (EchoTests, PipeliningTests, ...) is run with a stand-in `self`
(nothing is sent; `from tests.fixtureapps import ...` gets stand-ins): `self.connect()`
opens a connection, each `self.sock.send(DATA)` adds to it (a `send_check_error` on a
connection waitress has closed adds nothing), and the statuses of its responses are read
from `assertline(line, STATUS, ...)` and `assertEqual(int(status), STATUS)`. A connection
is a case:

  answered  every status a success or an answer of the application (200, 500, ...): we
            deliver at least that many requests, each complete.
  refused   after N answered requests comes a 400, 408, 411, 413, 414, 431, 501 or 505:
            we deliver exactly N complete requests, then refuse.

Requests written with http.client, and methods that assert no status, are listed. A
server started with other limits (`max_request_header_size`, `max_request_body_size`:
TooLargeTests) is run and listed, not counted.

A method that sets the parser's state or options itself (`self.parser.adj.X = ...`:
other limits; `self.parser.completed = True`, `inst.all_chunks_received = True`, ...) or
that asserts none of the above (only `result`, the count of bytes taken) is listed, not
counted.

Waitress's own tests give most requests the version `HTTP/8.4`, which waitress reads as
some HTTP/1.x; the core answers 505 to any major version but 1 (RFC 9110 §15.6.6). The
figures are given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; waitress does not check; the added field is
left out of the comparison); and, separately, for the cases that do not use HTTP/8.4.
Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any
case where either happens is listed first, as a bug of ours.
"""

import ast
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

MARKER = "tests/test_parser.py"
FILES = ("tests/test_parser.py", "tests/test_receiver.py")
HOST = b"Host: waitress.invalid\r\n"
HOST_FIELD = (b"host", b"waitress.invalid")
CHUNKED_HEAD = (b"POST / HTTP/1.1\r\nHost: waitress.invalid\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
HINTS = {"BadRequest": 400, "ParsingError": 400, "RequestEntityTooLarge": 413,
         "RequestHeaderFieldsTooLarge": 431, "ServerNotImplemented": 501,
         "TransferEncodingNotImplemented": 501}


# ------------------------------------------------------------------------ the corpus


class Unknown(Exception):
    pass


REST = object()  # `data[result:]`: the rest of an input already given


def value(node, env):
    """The bytes (or str, int, list) of an expression of literals, names bound in `env`
    and `+`; Unknown for anything else."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return value(node.left, env) + value(node.right, env)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [value(e, env) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {value(k, env): value(v, env) for k, v in zip(node.keys, node.values)}
    raise Unknown(ast.dump(node)[:80])


def dotted(node):
    """`self.parser.error` for an Attribute chain, or ""."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def subject(node):
    """What an assertion's argument names: ("error"|"completed"|"command"|"version"|
    "headers"|"body"|"bufdata"|"expect_continue"|"connection_close"|"body_rcv", key or
    None), or None. `parser.`, `self.parser.` and `inst.` prefixes alike."""
    d = dotted(node)
    for attr in ("error", "completed", "command", "version", "headers", "expect_continue",
                 "connection_close"):
        if d.endswith("." + attr) and d.split(".")[-2] in ("parser", "inst"):
            return attr, None
    if d.endswith("body_rcv.__class__.__name__"):
        return "body_rcv", None
    if isinstance(node, ast.Subscript) and dotted(node.value).endswith("parser.headers"):
        return "headers", node.slice.value if isinstance(node.slice, ast.Constant) else None
    if isinstance(node, ast.Call) and dotted(node.func).endswith("getvalue"):
        return "body", None
    if isinstance(node, ast.Call) and dotted(node.func) == "b''.join" or (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join" and node.args
            and dotted(node.args[0]) == "buf.data"):
        return "bufdata", None
    if isinstance(node, ast.Subscript) and dotted(node.value) == "buf.data":
        return "bufdata0", None
    return None


def read_method(fn, params, receiver):
    """A case of one test method (its parameters bound to `params`): the input, the
    verdict and the checks; or a reason why it is not a case (a string)."""
    env = dict(params)
    fed, checks, options = [], [], []
    verdict = {"refuse": None, "accept": False, "waits": False, "checks": False}

    def feed_call(call, in_try):
        name = dotted(call.func)
        meth = name.split(".")[-1]
        if meth not in ("received", "parse_header", "feed"):
            return
        if not (name in ("self.parser.received", "self.parser.parse_header", "self.feed",
                         "inst.received")):
            return
        arg = call.args[0] if call.args else None
        if isinstance(arg, ast.Subscript) or (isinstance(arg, ast.Name)
                                              and env.get(arg.id) is REST):
            return  # the rest of an input already given
        data = value(arg, env)
        if isinstance(data, str):
            raise Unknown("a str given to the receiver")
        if meth == "parse_header":
            data += b"\r\n" if data.endswith(b"\r\n") else b"\r\n\r\n"
            if not in_try:
                verdict["accept"] = True
        if meth == "feed":
            verdict["accept"] = True
        fed.append(data)

    def assertion(call):
        name = dotted(call.func)
        meth = name.split(".")[-1]
        args = call.args
        s = subject(args[0]) if args else None
        if meth == "assertIsInstance" and s and s[0] == "error":
            verdict["refuse"] = args[1].id if isinstance(args[1], ast.Name) else "error"
        elif meth == "assertTrue" and s and s[0] == "error":
            verdict["refuse"] = "error"
        elif meth in ("assertIsNone", "assertFalse") and s and s[0] == "error":
            verdict["accept"] = True
        elif meth == "assertFalse" and s and s[0] == "completed":
            verdict["waits"] = True
        elif meth in ("assertEqual", "assertDictEqual", "assertTrue") and s:
            if s[0] in ("error", "completed"):
                return
            if meth == "assertTrue":
                checks.append((s[0], None, True))
            else:
                try:
                    want = value(args[1], env)
                except Unknown:
                    return
                checks.append((s[0], s[1], want))
                if want == {}:
                    return  # waitress's headers stay empty on an error too
            verdict["checks"] = True
        elif meth == "assertEqual" and len(args) == 2 and subject(args[1]):
            s = subject(args[1])
            try:
                checks.append((s[0], s[1], value(args[0], env)))
                verdict["checks"] = True
            except Unknown:
                pass
        elif meth == "assertIn" and len(args) == 2 and subject(args[1]) == ("headers", None):
            checks.append(("has", value(args[0], env), True))
            verdict["checks"] = True

    def walk(stmts, in_try=False):
        for st in stmts:
            if isinstance(st, ast.Assign) and len(st.targets) == 1:
                t = st.targets[0]
                if isinstance(t, ast.Name):
                    if isinstance(st.value, ast.Subscript) and \
                            isinstance(st.value.value, ast.Name) and st.value.value.id in env:
                        env[t.id] = REST
                        continue
                    try:
                        env[t.id] = value(st.value, env)
                    except Unknown:
                        pass
                    for c in ast.walk(st.value):
                        if isinstance(c, ast.Call):
                            feed_call(c, in_try)
                    continue
                d = dotted(t)
                if d.startswith(("self.parser.", "inst.", "parser.")):
                    options.append(ast.unparse(st).strip())
                continue
            if isinstance(st, ast.Try):
                fails = any(isinstance(c, ast.Call) and dotted(c.func) == "self.assertTrue"
                            and isinstance(c.args[0], ast.Constant) and c.args[0].value is False
                            for s2 in st.orelse for c in ast.walk(s2))
                n = len(fed)
                walk(st.body, in_try=True)
                if fails and len(fed) > n:
                    h = st.handlers[0].type if st.handlers else None
                    verdict["refuse"] = h.id if isinstance(h, ast.Name) else "exception"
                continue
            if isinstance(st, ast.Assert):
                t = st.test
                if isinstance(t, ast.Call) and dotted(t.func) == "isinstance" and \
                        subject(t.args[0]) == ("error", None):
                    verdict["refuse"] = t.args[1].id
                elif isinstance(t, ast.Compare) and subject(t.left) == ("error", None) and \
                        isinstance(t.ops[0], ast.Is):
                    verdict["accept"] = True
                continue
            for c in ast.walk(st):
                if isinstance(c, ast.Call):
                    feed_call(c, in_try)
                    assertion(c)

    try:
        walk(fn.body)
    except Unknown as e:
        return "an input the script cannot evaluate (%s)" % e
    if not fed:
        return "gives no bytes to the parser"
    if options:
        return "sets the parser's state or options itself: " + "; ".join(options)
    data = b"".join(fed)
    if receiver:
        data = CHUNKED_HEAD + data
    if verdict["refuse"]:
        expect = "refuse"
    elif verdict["accept"]:
        expect = "accept"
    elif verdict["waits"] and not receiver:
        expect = "waits"
    elif verdict["checks"] or verdict["waits"]:
        expect = "accept"  # a receiver that waits for more of the body refuses nothing
    else:
        return "asserts nothing the script compares (only the count of bytes taken)"
    return {"input": data, "expect": expect, "raises": verdict["refuse"], "checks": checks}


def parametrized(fn):
    """The parameter sets of a `@pytest.mark.parametrize("name", [...])` method."""
    sets = [{}]
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and dotted(d.func).endswith("mark.parametrize"):
            names = [n.strip() for n in d.args[0].value.split(",")]
            vals = value(d.args[1], {})
            sets = [dict(s, **dict(zip(names, v if len(names) > 1 else [v])))
                    for s in sets for v in vals]
    return sets


def cases(corpus):
    out, skipped = [], []
    for path in FILES:
        text = corpus.read_bytes(path).decode("utf-8")
        tree = ast.parse(text)
        for cls in tree.body:
            if not isinstance(cls, ast.ClassDef):
                continue
            receiver = path.endswith("test_receiver.py")
            if receiver and "Chunked" not in cls.name:
                continue
            for fn in cls.body:
                if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
                    continue
                for params in parametrized(fn):
                    name = "%s.%s%s" % (cls.name, fn.name, "[%s]" % ", ".join(
                        repr(v) for v in params.values()) if params else "")
                    c = read_method(fn, params, receiver)
                    if isinstance(c, str):
                        if c != "gives no bytes to the parser":
                            skipped.append((path, fn.lineno, name, c))
                        continue
                    c.update({"file": path, "line": fn.lineno, "name": name})
                    out.append(c)
    return out, skipped


# ------------------------------------------------------------------------ comparison


def wsgi_headers(msg):
    """Our request's fields as waitress's parser maps them."""
    out = {}
    chunked = False
    for n, v in msg["headers"]:
        if b"_" in n:
            continue
        key = n.decode("latin-1").upper().replace("-", "_")
        if key == "TRANSFER_ENCODING" and msg["version"] == "1.1":
            chunked = chunked or v.lower().rstrip().endswith(b"chunked")
            continue
        v = v.decode("latin-1")
        out[key] = out[key] + ", " + v if key in out else v
    if chunked:
        out.pop("CONTENT_LENGTH", None)
        out["CONTENT_LENGTH"] = str(len(msg["body"]))
    return out


def compare(checks, msg):
    diffs = []
    heads = wsgi_headers(msg)
    for what, key, want in checks:
        if what == "command":
            got = msg["method"]
        elif what == "version":
            got = msg["version"]
        elif what == "headers" and key is None:
            got = heads
        elif what == "headers":
            got = heads.get(key)
        elif what == "has":
            got, want = key in heads, True
        elif what in ("body", "bufdata"):
            got = msg["body"]
        elif what == "bufdata0":
            got = msg["body"][:len(want)]
        elif what == "body_rcv":
            got = "ChunkedReceiver" if any(
                n == b"transfer-encoding" for n, _ in msg["headers"]) else None
        elif what in ("expect_continue", "connection_close"):
            continue  # what waitress decides of the fields, not parsed
        else:
            continue
        if got != want:
            diffs.append("%s%s %r vs %r" % (what, "[%r]" % key if key else "", want, got))
    return diffs


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    msgs, diffs = ours["msgs"], []
    if ours["crash"]:
        agree = False
    elif case["expect"] == "refuse":
        agree = bool(ours["error"])
    elif case["expect"] == "waits":
        agree = not msgs and not ours["error"]
    else:
        agree = bool(msgs) and not ours["error"]
        if msgs:
            diffs = compare(case["checks"], msgs[0])
        agree = agree and not diffs
    return h1dump_io.verdict(agree, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def waitress_says(case):
    if case["expect"] == "functional":
        return "answers %s%s" % (", ".join(str(st) for st in case["statuses"]), (
            " [server options %s]" % case["options"]) if case["options"] else "")
    if case["expect"] == "refuse":
        return "refuses (%s, %s)" % (case["raises"], HINTS.get(case["raises"], "?"))
    if case["expect"] == "waits":
        return "waits for the rest of the head"
    return "accepts; checks %s" % ", ".join(
        "%s%s=%r" % (w, "[%r]" % k if k else "", v) for w, k, v in case["checks"]) \
        if case["checks"] else "accepts"


# ------------------------------------------------------------------------ test_functional.py

FUNCTIONAL = "tests/test_functional.py"
REFUSALS = {400, 408, 411, 413, 414, 431, 501, 505}
MAGIC = 987654321  # what int() of a status read from the stand-in socket gives


class Loose:
    """A permissive stand-in: any attribute, call, item; empty when iterated; 0 as an int."""

    def __init__(self, *a, **k):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Loose()

    def __call__(self, *a, **k):
        return Loose()

    def __getitem__(self, k):
        return Loose()

    def __iter__(self):
        return iter(())

    def __int__(self):
        return 0

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


class Status(Loose):
    """The status field of a status line read from the stand-in socket."""

    def strip(self):
        return self

    def __int__(self):
        return MAGIC


class StatusLine(Loose):
    def split(self, *a):
        return [b"HTTP/1.1", Status(), b"OK"]


class File(Loose):
    def readline(self, *a):
        return StatusLine()

    def read(self, *a):
        return b""


class Sock(Loose):
    def __init__(self, runner):
        self.runner = runner

    def send(self, data):
        self.runner.conns[-1]["data"].append(bytes(data))
        return len(data)

    sendall = send

    def makefile(self, *a, **k):
        return File()

    def connect(self, *a):
        pass

    def close(self):
        pass


class Runner:
    """The `self` of a test_functional.py test: `connect()` opens a connection (a case),
    `self.sock.send(DATA)` adds to it, `assertline(line, STATUS, ...)` or
    `assertEqual(int(status), STATUS)` names the status of its next response; the
    server's options (`start_subprocess(app, **options)`) are kept."""

    def __init__(self):
        self.conns, self.options = [], {}
        self.sock = Sock(self)

    def start_subprocess(self, target, **kw):
        self.options = kw

    def stop_subprocess(self):
        pass

    def create_socket(self):
        return Sock(self)

    def connect(self):
        self.conns.append({"data": [], "statuses": [], "client": False})

    def make_http_connection(self):
        if self.conns:
            self.conns[-1]["client"] = True
        return Loose()  # requests written by http.client: not a raw message

    def send_check_error(self, to_send):
        pass  # a send on a connection the server has closed

    def assertline(self, line, status, *a):
        if self.conns:
            self.conns[-1]["statuses"].append(int(status))

    def assertEqual(self, first, second, *a):
        if first == MAGIC and isinstance(second, int) and self.conns:
            self.conns[-1]["statuses"].append(second)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Loose()


def functional_cases(corpus):
    """The raw connections of test_functional.py's test classes, and the methods not
    run (file, line, name, why)."""
    text = corpus.read_bytes(FUNCTIONAL).decode("utf-8")
    tree = ast.parse(text)
    env = {"read_http": lambda fp: (StatusLine(), Loose(), b""),
           "parse_headers": lambda fp: Loose(),
           "ConnectionClosed": type("ConnectionClosed", (Exception,), {})}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                top = a.name.split(".")[0]
                env.setdefault(a.asname or top, __import__(top) if top in getattr(
                    sys, "stdlib_module_names", ()) else Loose())
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                env.setdefault(a.asname or a.name, Loose())
    out, skipped = [], []
    # `from tests.fixtureapps import echo` in the setUp methods: a stand-in package
    fixtures = types.ModuleType("tests.fixtureapps")
    fixtures.__getattr__ = lambda name: Loose()
    saved = {k: sys.modules.get(k) for k in ("tests", "tests.fixtureapps")}
    sys.modules.update({"tests": types.ModuleType("tests"), "tests.fixtureapps": fixtures})
    try:
        functional_classes(text, tree, env, out, skipped)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return out, skipped


def functional_classes(text, tree, env, out, skipped):
    for cls in tree.body:
        if not (isinstance(cls, ast.ClassDef) and not cls.bases and any(
                isinstance(f, ast.FunctionDef) and f.name == "setUp" for f in cls.body)):
            continue  # the mixins of tests (EchoTests, ...), each run over TCP
        scope = dict(env)
        exec(compile(ast.get_source_segment(text, cls), FUNCTIONAL, "exec"), scope)
        klass = type(cls.name + "Run", (scope[cls.name], Runner), {})
        for fn in cls.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
                continue
            run = klass()
            try:
                run.setUp()
                getattr(run, fn.name)()
            except Exception:  # noqa: BLE001 (a stand-in's answer): keep what was sent
                pass
            conns = [c for c in run.conns if c["data"] and not c["client"]]
            if not conns:
                why = "writes its requests with http.client" if any(
                    c["client"] for c in run.conns) else "sends no raw request"
                skipped.append((FUNCTIONAL, fn.lineno, "%s.%s" % (cls.name, fn.name), why))
                continue
            limits = {k: v for k, v in run.options.items() if "max" in k or "limit" in k}
            for k, c in enumerate(conns):
                statuses = [st for st in c["statuses"] if st >= 200]
                name = "%s.%s%s" % (cls.name, fn.name, " #%d" % (k + 1) if len(conns) > 1
                                    else "")
                if not statuses:
                    skipped.append((FUNCTIONAL, fn.lineno, name, "no status asserted"))
                    continue
                n_ok = next((i for i, st in enumerate(statuses) if st in REFUSALS),
                            len(statuses))
                out.append({"file": FUNCTIONAL, "line": fn.lineno, "name": name,
                            "input": b"".join(c["data"]), "expect": "functional",
                            "statuses": statuses, "n_ok": n_ok,
                            "refused": n_ok < len(statuses), "options": limits,
                            "raises": None, "checks": []})


def judge_functional(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    ended = sum(1 for line in whole.splitlines() if '"event":"end"' in line)
    if ours["crash"]:
        agree = False
    elif case["refused"]:
        agree = bool(ours["error"]) and ended == case["n_ok"]
    else:
        agree = ended >= case["n_ok"]
    return h1dump_io.verdict(agree, None, ours, [], runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("waitress", "waitress checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.waitress, args.rev, MARKER)
    all_cases, skipped = cases(corpus)
    more, not_run = functional_cases(corpus)
    all_cases += more
    skipped += not_run

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge_functional if c["expect"] == "functional" else judge, h1dump, c,
            lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"], "n": 1,
                        "input": c["input"].decode("latin-1"), "expect": c["expect"],
                        "waitress": waitress_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added, "options": c.get("options", {}),
                        "http84": b" HTTP/8.4\r\n" in c["input"]})
    counted = [r for r in results if not r["options"]]
    optional = [r for r in results if r["options"]]

    print("waitress: %s (%s)" % (corpus.commit(), args.waitress))
    h1dump_io.print_methods("test methods not counted (%d):", skipped)
    print()
    broken = h1dump_io.report_broken(results, "hosted", h1dump_io.method_label)
    h1dump_io.print_disagreements(counted, h1dump_io.show_case(
        h1dump_io.method_label, "waitress"), args.verbose,
        ("connections to a server with non-default limits (not counted):", optional))
    print("cases: %d (%d with non-default limits, not counted); Host supplied in %d; %d "
          "with HTTP/8.4" % (len(results), len(optional),
                             sum(r["host_added"] for r in counted),
                             sum(r["http84"] for r in counted)))
    row = h1dump_io.summary_table(30, "waitress's verdict")
    for v in ("accept", "refuse", "waits"):
        row("parser: " + v, [r for r in counted if r["expect"] == v])
    row("functional: answered", [r for r in counted if r["expect"] == "functional"
                                 and r["waitress"].startswith("answers 2")
                                 and not any(" %d" % x in " " + r["waitress"]
                                             for x in REFUSALS)])
    row("functional: refused", [r for r in counted if r["expect"] == "functional"
                                and any(" %d" % x in " " + r["waitress"] for x in REFUSALS)])
    row("all", counted)
    row("all but HTTP/8.4", [r for r in counted if not r["http84"]])
    row("non-default limits", optional)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "skipped": skipped})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
