#!/usr/bin/env python3
"""Run waitress's parser tests (tests/test_parser.py and the chunked-receiver tests of
tests/test_receiver.py) through h1dump and count where the core agrees.

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
    if case["expect"] == "refuse":
        return "refuses (%s, %s)" % (case["raises"], HINTS.get(case["raises"], "?"))
    if case["expect"] == "waits":
        return "waits for the rest of the head"
    return "accepts; checks %s" % ", ".join(
        "%s%s=%r" % (w, "[%r]" % k if k else "", v) for w, k, v in case["checks"]) \
        if case["checks"] else "accepts"


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("waitress", "waitress checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.waitress, args.rev, MARKER)
    all_cases, skipped = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"], "n": 1,
                        "input": c["input"].decode("latin-1"), "expect": c["expect"],
                        "waitress": waitress_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added,
                        "http84": b" HTTP/8.4\r\n" in c["input"]})

    print("waitress: %s (%s)" % (corpus.commit(), args.waitress))
    h1dump_io.print_methods("test methods not counted (%d):", skipped)
    print()
    broken = h1dump_io.report_broken(results, "hosted", h1dump_io.method_label)
    h1dump_io.print_disagreements(results, h1dump_io.show_case(
        h1dump_io.method_label, "waitress"), args.verbose)
    print("cases: %d; Host supplied in %d; %d with HTTP/8.4" % (
        len(results), sum(r["host_added"] for r in results),
        sum(r["http84"] for r in results)))
    row = h1dump_io.summary_table(30, "waitress's verdict")
    for v in ("accept", "refuse", "waits"):
        row(v, [r for r in results if r["expect"] == v])
    row("all", results)
    row("all but HTTP/8.4", [r for r in results if not r["http84"]])
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "skipped": skipped})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
