#!/usr/bin/env python3
"""Run aiohttp's HTTP/1 parser tests (tests/test_http_parser.py) through h1dump and count
where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/aiohttp_corpus.py AIOHTTP [--rev REV] [--h1dump PATH]
                    [--verbose] [--notes] [--json OUT]

AIOHTTP is a checkout of aio-libs/aiohttp or a bare git directory of one (read at HEAD, or
at --rev). Nothing of aiohttp is kept in this repository: tests/test_http_parser.py is
parsed with Python's `ast` at run time; the inputs are evaluated from its constants,
concatenations, f-strings, .encode(), joins, conditional expressions, module-level
constants and the values of `@pytest.mark.parametrize` tables (each row is a case).

What is read. Every test function taking the `parser` fixture (a request parser: h1dump
--role server) or the `response` fixture (a response parser with read_until_eof: --role
client, as if answering a GET), and the tests that build a parser themselves with only
the fixtures' options (max_line_size, max_field_size 8190). The bytes of every feed_data()
call are concatenated into one input (h1dump ends it with the end of input, as feed_eof
does). The test's verdict: a feed_data() inside `with pytest.raises(E)` means the input is
refused (any error of ours but the end of input inside a message; for ContentLengthError
and TransferEncodingError, the end of input too); otherwise the messages it names must be
delivered, and what it asserts of them must hold: len(messages), method, path, version,
code, reason, headers[NAME], headers.get(NAME), headers.items() and `headers ==
CIMultiDict(...)` (aiohttp joins repeated names with ", "), raw_headers (names compared
case-insensitively, as we lowercase them), should_close (checked by sending another
message after the input: it must be read or refused), the `upgrade` flag feed_data returns
(our switch), `tail` (the bytes after the switch), and the payload's bytes (read(),
read(n), b"".join(payload._buffer), is_eof()) when asserted after the last feed. Other
assertions (msg.url, msg.compression, msg.chunked, msg.upgrade, headers.getall's list
splitting, chunk splits, exception messages) are aiohttp's API: listed by --notes, not
checked.

Not run, with the reason listed: tests of parser options (sizes, max_msg_queue_size, dev
mode's strict response parsing, lax/lenient modes), of LineTooLong (aiohttp's 8190-byte
fixture limits), of the payload parser and decompression classes, tests that drive mocks,
loops, try/except or statements not understood.

The two parsers. aiohttp runs these tests against its pure-Python parser and its llhttp
parser. Tests for one of them only (a test building HttpRequestParserC or ...Py, a skipif
NO_EXTENSIONS "Only tests C parser", an xfail fixture for the C parser, a body that
branches on the parser's class) are run and listed apart, not counted.

Figures are given as is and with a Host field supplied to HTTP/1.1 requests that have none
(the core refuses those, RFC 9112 §3.2; aiohttp now refuses them too). Every input goes
through h1dump whole and with --split 1; a difference, or a failure of h1dump itself, is
listed first as a bug of ours. Exit status 1 on such a bug, or when the file could not be
read.
"""

import ast
import itertools
import json
import re
import subprocess
import sys
import os

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402

FILE = "tests/test_http_parser.py"
HOST = b"Host: aiohttp.invalid\r\n"
HOST_FIELD = (b"host", b"aiohttp.invalid")
PROBE = {"server": b"GET /probe HTTP/1.1\r\nHost: a\r\n\r\n",
         "client": b"HTTP/1.1 204 No Content\r\n\r\n"}
# The options of aiohttp's `parser` and `response` fixtures; a test building its own parser
# with these (and the chunk size) is read as one of the fixture's.
FIXTURE_OPTIONS = {"max_line_size": 8190, "max_field_size": 8190, "max_headers": 128,
                   "read_until_eof": True}
PARSER_CLASSES = {"HttpRequestParserC": ("server", "C"), "HttpRequestParserPy": ("server", "Py"),
                  "HttpResponseParserC": ("client", "C"),
                  "HttpResponseParserPy": ("client", "Py"),
                  "request_cls": ("server", None), "response_cls": ("client", None)}
# Exceptions a missing end of input can raise (a body cut short).
EOF_ERRORS = {"ContentLengthError", "TransferEncodingError"}


class Unmapped(Exception):
    pass


class Sym:
    """Something of the parser's result a test names: the result of a feed, its messages,
    a (message, payload) pair, a message, a payload, an attribute or a read of them."""

    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)

    def __repr__(self):
        return "<%s>" % self.kind


class Evaluator:
    """Values of the test file's expressions: constants and what is built from them."""

    def __init__(self, consts):
        self.consts = consts

    def ev(self, node, env):
        m = getattr(self, "ev_" + type(node).__name__, None)
        if m is None:
            raise Unmapped("expression %s" % type(node).__name__)
        return m(node, env)

    def ev_Constant(self, node, env):
        return node.value

    def ev_Name(self, node, env):
        if node.id in env:
            return env[node.id]
        if node.id in self.consts:
            return self.consts[node.id]
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        raise Unmapped("name %s" % node.id)

    def ev_JoinedStr(self, node, env):
        out = ""
        for v in node.values:
            if isinstance(v, ast.Constant):
                out += v.value
            else:
                x = self.ev(v.value, env)
                if v.conversion == ord("r"):
                    x = repr(x)
                if v.format_spec is not None:
                    x = format(x, self.ev(v.format_spec, env))
                out += x if isinstance(x, str) else str(x)
        return out

    def ev_BinOp(self, node, env):
        a, b = self.ev(node.left, env), self.ev(node.right, env)
        ops = {ast.Add: lambda: a + b, ast.Mult: lambda: a * b, ast.Mod: lambda: a % b,
               ast.Pow: lambda: a ** b, ast.Sub: lambda: a - b}
        if type(node.op) not in ops or isinstance(a, Sym) or isinstance(b, Sym):
            raise Unmapped("operator")
        return ops[type(node.op)]()

    def ev_UnaryOp(self, node, env):
        v = self.ev(node.operand, env)
        if isinstance(node.op, ast.Not) and not isinstance(v, Sym):
            return not v
        if isinstance(node.op, ast.USub):
            return -v
        raise Unmapped("unary operator")

    def ev_Tuple(self, node, env):
        return tuple(self.ev(e, env) for e in node.elts)

    def ev_List(self, node, env):
        return [self.ev(e, env) for e in node.elts]

    def ev_Dict(self, node, env):
        return {self.ev(k, env): self.ev(v, env) for k, v in zip(node.keys, node.values)}

    def ev_Subscript(self, node, env):
        v = self.ev(node.value, env)
        if isinstance(node.slice, ast.Slice):
            s = node.slice
            return v[slice(*(None if x is None else self.ev(x, env)
                             for x in (s.lower, s.upper, s.step)))]
        return v[self.ev(node.slice, env)]

    def ev_IfExp(self, node, env):
        return self.ev(node.body if self.ev(node.test, env) else node.orelse, env)

    def ev_Compare(self, node, env):
        left = self.ev(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.ev(right_node, env)
            ok = {ast.Eq: lambda: left == right, ast.NotEq: lambda: left != right,
                  ast.In: lambda: left in right, ast.NotIn: lambda: left not in right,
                  ast.Is: lambda: left is right, ast.IsNot: lambda: left is not right}
            if type(op) not in ok:
                raise Unmapped("comparison")
            if not ok[type(op)]():
                return False
            left = right
        return True

    def ev_BoolOp(self, node, env):
        vals = [self.ev(v, env) for v in node.values]
        return all(vals) if isinstance(node.op, ast.And) else any(vals)

    def _comprehension(self, node, env):
        if len(node.generators) != 1 or node.generators[0].ifs:
            raise Unmapped("comprehension")
        g = node.generators[0]
        out = []
        for item in self.ev(g.iter, env):
            local = dict(env)
            self.bind(g.target, item, local)
            out.append(self.ev(node.elt, local))
        return out

    def ev_GeneratorExp(self, node, env):
        return self._comprehension(node, env)

    def ev_ListComp(self, node, env):
        return self._comprehension(node, env)

    def bind(self, target, value, env):
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            value = list(value)
            if len(value) != len(target.elts):
                raise Unmapped("unpacking")
            for t, v in zip(target.elts, value):
                self.bind(t, v, env)
        else:
            raise Unmapped("assignment target")

    def ev_Call(self, node, env):
        f = node.func
        if node.keywords and not (isinstance(f, ast.Attribute) and f.attr in ("encode", "decode")):
            raise Unmapped("keyword arguments")
        if isinstance(f, ast.Attribute):
            obj = self.ev(f.value, env)
            args = [self.ev(a, env) for a in node.args]
            kw = {k.arg: self.ev(k.value, env) for k in node.keywords}
            if isinstance(obj, (str, bytes)) and f.attr in (
                    "encode", "decode", "join", "replace", "lower", "upper", "strip",
                    "format", "split", "title"):
                return getattr(obj, f.attr)(*args, **kw)
            if isinstance(obj, dict) and f.attr in ("keys", "values", "items") and not args:
                return list(getattr(obj, f.attr)())
            raise Unmapped("call of .%s" % f.attr)
        if isinstance(f, ast.Name) and f.id in ("bytes", "str", "len", "range", "tuple",
                                                 "list", "chr", "ord", "bytearray"):
            args = [self.ev(a, env) for a in node.args]
            return {"bytes": bytes, "str": str, "len": len, "range": range, "tuple": tuple,
                    "list": list, "chr": chr, "ord": ord, "bytearray": bytearray}[f.id](*args)
        raise Unmapped("call of %s" % ast.unparse(f)[:40])


def module_constants(tree, evaluator):
    """The module's top-level assignments that evaluate (tables, prefixes)."""
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                v = evaluator.ev(node.value, {})
            except (Unmapped, Exception):  # noqa: B014 - a constant we cannot build
                continue
            for t in targets:
                try:
                    evaluator.bind(t, v, evaluator.consts)
                except Unmapped:
                    pass


def dotted(node):
    try:
        return ast.unparse(node)
    except Exception:
        return "?"


def parametrizations(func, evaluator):
    """The rows of the test's parametrize decorators: (bindings, line, id, marks) each, or
    raises Unmapped."""
    tables = []
    for d in func.decorator_list:
        if not (isinstance(d, ast.Call) and dotted(d.func) == "pytest.mark.parametrize"):
            continue
        names = evaluator.ev(d.args[0], {})
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        values_node = d.args[1]
        rows = []
        elts = values_node.elts if isinstance(values_node, (ast.List, ast.Tuple)) else None
        if elts is None:
            vals = evaluator.ev(values_node, {})
            elts = [(v, values_node.lineno) for v in vals]
        else:
            elts = [(e, e.lineno) for e in elts]
        for e, line in elts:
            marks, pid = [], None
            if isinstance(e, ast.Call) and dotted(e.func) == "pytest.param":
                for k in e.keywords:
                    if k.arg == "marks":
                        marks.append(dotted(k.value))
                    elif k.arg == "id":
                        pid = evaluator.ev(k.value, {})
                value = tuple(evaluator.ev(a, {}) for a in e.args)
                if len(names) == 1:
                    value = value[0]
            elif isinstance(e, ast.AST):
                value = evaluator.ev(e, {})
            else:
                value = e
            vals = [value] if len(names) == 1 else list(value)
            if len(names) == 1 and isinstance(values_node, (ast.Constant, ast.JoinedStr)):
                vals = [value]
            rows.append((dict(zip(names, vals)), line, pid, marks))
        tables.append(rows)
    if not tables:
        return [({}, func.lineno, None, [])]
    out = []
    for combo in itertools.product(*tables):
        env, marks = {}, []
        for b, _, _, m in combo:
            env.update(b)
            marks += m
        line = max(c[1] for c in combo)
        out.append((env, line, "-".join(str(c[2]) if c[2] is not None else "%r" % (
            list(c[0].values())[0],) for c in combo), marks))
    return out


class Walk:
    """One test run symbolically: its feeds, and what it expects of the result."""

    def __init__(self, evaluator, env, parser_names):
        self.e = evaluator
        self.env = dict(env)
        self.parsers = set(parser_names)
        self.feeds = []          # (bytes, inside pytest.raises)
        self.raises = None       # exception name, when a feed is in pytest.raises
        self.raise_at_eof = False
        self.checks = []         # (line, kind, args)
        self.notes = []
        self.counts = {}         # feed -> asserted len(messages)
        self.refs = {}           # feed -> highest message index named
        self.eof = False
        self.final = False
        self.nfeeds = 0

    # -- expressions naming the parser's results
    def sym(self, node):
        """The value of `node`, with the parser's results as Sym."""
        if isinstance(node, ast.Await):
            return self.sym(node.value)
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                    and f.value.id in self.parsers:
                if f.attr == "feed_data" and len(node.args) == 1 and not node.keywords:
                    if self.eof:
                        raise Unmapped("feed_data after feed_eof")
                    data = self.e.ev(node.args[0], self.env)
                    if not isinstance(data, bytes):
                        raise Unmapped("feed_data of a non-bytes value")
                    self.feeds.append(data)
                    return Sym("result", feed=len(self.feeds) - 1)
                if f.attr == "feed_eof" and not node.args:
                    self.eof = True
                    return None
                raise Unmapped("parser.%s()" % f.attr)
            if isinstance(f, ast.Attribute):
                obj = self.sym(f.value)
                if isinstance(obj, Sym):
                    return self.sym_call(obj, f.attr, node)
            if isinstance(f, ast.Name) and f.id in ("len", "list", "tuple") and len(node.args) == 1:
                obj = self.sym(node.args[0])
                if isinstance(obj, Sym):
                    if f.id == "len" and obj.kind == "messages":
                        return Sym("count", feed=obj.feed)
                    if f.id != "len" and obj.kind == "items":
                        return obj
                    raise Unmapped("%s() of %s" % (f.id, obj.kind))
            if isinstance(f, ast.Attribute) and f.attr == "join" and len(node.args) == 1 \
                    and isinstance(node.args[0], ast.GeneratorExp):
                g = node.args[0]
                it = self.sym(g.generators[0].iter)
                if isinstance(it, Sym) and it.kind == "attr" and it.name == "_buffer":
                    return Sym("buffered", payload=it.of)
            if isinstance(f, ast.Name) and f.id in ("CIMultiDict", "HeadersDictProxy"):
                inner = node.args[0] if node.args else None
                v = self.sym(inner) if inner is not None else []
                if isinstance(v, tuple) and len(v) == 2 and v[0] == "headers-eq":
                    return v
                if isinstance(v, dict):
                    v = list(v.items())
                return ("headers-eq", [tuple(x) for x in v])
            if isinstance(f, ast.Name) and f.id == "HttpVersion":
                kw = {k.arg: self.e.ev(k.value, self.env) for k in node.keywords}
                args = [self.e.ev(a, self.env) for a in node.args]
                return tuple(args) if args else (kw["major"], kw["minor"])
        if isinstance(node, ast.Subscript):
            obj = self.sym(node.value)
            if isinstance(obj, Sym):
                idx = self.e.ev(node.slice, self.env)
                return self.sym_index(obj, idx)
        if isinstance(node, ast.Attribute):
            obj = self.sym(node.value)
            if isinstance(obj, Sym):
                if obj.kind == "msg" and node.attr == "headers":
                    return Sym("headers", msg=obj)
                return Sym("attr", of=obj, name=node.attr)
        if isinstance(node, ast.Name) and isinstance(self.env.get(node.id), Sym):
            return self.env[node.id]
        return self.e.ev(node, self.env)

    def sym_index(self, obj, idx):
        if obj.kind == "result" and idx in (0, 1, 2):
            return Sym(("messages", "upgrade", "tail")[idx], feed=obj.feed)
        if obj.kind == "messages" and isinstance(idx, int):
            self.refs[obj.feed] = max(self.refs.get(obj.feed, -1), idx)
            return Sym("pair", feed=obj.feed, index=idx)
        if obj.kind == "pair" and idx in (0, 1):
            return Sym(("msg", "payload")[idx], feed=obj.feed, index=obj.index)
        if obj.kind == "headers" and isinstance(idx, str):
            return Sym("header", msg=obj.msg, name=idx)
        raise Unmapped("index of %s" % obj.kind)

    def sym_call(self, obj, attr, node):
        args = [self.e.ev(a, self.env) for a in node.args]
        if obj.kind == "headers" and attr == "get" and len(args) == 1:
            return Sym("header", msg=obj.msg, name=args[0])
        if obj.kind == "headers" and attr == "items" and not args:
            return Sym("items", msg=obj.msg)
        if obj.kind == "payload" and attr == "read":
            return Sym("read", payload=obj, n=args[0] if args else -1)
        if obj.kind == "payload" and attr == "is_eof":
            return Sym("is_eof", payload=obj)
        raise Unmapped(".%s() of %s" % (attr, obj.kind))

    def unpack(self, target, value):
        if isinstance(value, Sym) and isinstance(target, ast.Tuple):
            n = len(target.elts)
            if (value.kind, n) in (("result", 3), ("pair", 2)):
                for i, t in enumerate(target.elts):
                    if isinstance(t, ast.Name):
                        self.env[t.id] = self.sym_index(value, i)
                return
            raise Unmapped("unpacking %s" % value.kind)
        self.e.bind(target, value, self.env)

    # -- statements
    def run(self, body, in_raises=None):
        for st in body:
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant):
                continue
            if isinstance(st, ast.Return) and st.value is None:
                return True
            if isinstance(st, ast.Assign) and (
                    isinstance(st.value, ast.Call) and dotted(st.value.func) in (
                        set(PARSER_CLASSES) | {"RequestHandler", "ResponseHandler"})
                    or all(isinstance(t, ast.Attribute) and dotted(t) in (
                        "protocol._parser", "protocol._force_close") for t in st.targets)):
                continue  # building the parser a test feeds (checked by test_parsers)
            if isinstance(st, ast.Assign) and len(st.targets) == 1:
                n = len(self.feeds)
                v = self.sym(st.value)
                if in_raises and len(self.feeds) > n:
                    self.raises = in_raises
                self.unpack(st.targets[0], v)
            elif isinstance(st, ast.AnnAssign) and st.value is not None:
                self.unpack(st.target, self.sym(st.value))
            elif isinstance(st, ast.Expr):
                n, eof = len(self.feeds), self.eof
                self.sym(st.value)
                if in_raises and (len(self.feeds) > n or self.eof != eof):
                    if self.raises is None:
                        self.raises = in_raises
                        self.raise_at_eof = self.eof != eof
                elif len(self.feeds) == n and self.eof == eof and not in_raises:
                    raise Unmapped("statement %s" % ast.unparse(st)[:60])
            elif isinstance(st, ast.With) and len(st.items) == 1 and isinstance(
                    st.items[0].context_expr, ast.Call) and dotted(
                    st.items[0].context_expr.func) == "pytest.raises":
                exc = dotted(st.items[0].context_expr.args[0]).split(".")[-1]
                if self.run(st.body, in_raises=exc):
                    return True
                if self.raises is None:
                    raise Unmapped("pytest.raises around no feed")
            elif isinstance(st, ast.If):
                if self.run(st.body if self.e.ev(st.test, self.env) else st.orelse, in_raises):
                    return True
            elif isinstance(st, ast.Assert):
                if in_raises:
                    continue
                self.assertion(st)
            else:
                raise Unmapped("statement %s" % type(st).__name__)
        return False

    def assertion(self, st):
        t = st.test
        try:
            if isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(
                    t.ops[0], (ast.Eq, ast.Is, ast.IsNot)):
                a, b = self.sym(t.left), self.sym(t.comparators[0])
                if isinstance(b, Sym) and not isinstance(a, Sym):
                    a, b = b, a
                if isinstance(t.ops[0], ast.IsNot):
                    if b is not None:
                        raise Unmapped("is not")
                    return self.check(st, a, "not-none", None)
                if isinstance(t.ops[0], ast.Is) and b is not None:
                    raise Unmapped("is")
                return self.check(st, a, "eq", b)
            neg = isinstance(t, ast.UnaryOp) and isinstance(t.op, ast.Not)
            a = self.sym(t.operand if neg else t)
            return self.check(st, a, "false" if neg else "true", None)
        except (Unmapped, KeyError, TypeError, IndexError) as err:
            self.notes.append("line %d: %s (%s)" % (st.lineno, ast.unparse(t)[:80], err))

    def check(self, st, a, op, b):
        if not isinstance(a, Sym):
            raise Unmapped("no parser result")
        line = st.lineno
        last = self.nfeeds - 1 if self.final else -2
        if a.kind == "count" and op == "eq":
            self.counts[a.feed] = b
            if a.feed == last:
                self.checks.append((line, "count", a.feed, b))
            return
        if a.kind == "messages" and op in ("true", "false"):
            return self.check(st, Sym("count", feed=a.feed), "eq", 0) if op == "false" \
                else self.notes.append("line %d: messages not empty" % line)
        if a.kind in ("upgrade",) and op in ("true", "false", "eq"):
            want = (op == "true") if op != "eq" else bool(b)
            self.checks.append((line, "upgrade", a.feed, want))
            return
        if a.kind == "tail":
            if a.feed != last:
                raise Unmapped("tail of an earlier feed")
            want = b"" if op == "false" else b
            if not isinstance(want, bytes):
                raise Unmapped("tail")
            self.checks.append((line, "tail", a.feed, want))
            return
        if a.kind in ("read", "buffered", "is_eof"):
            if not self.final or len(self.feeds) != self.nfeeds:
                raise Unmapped("payload state between feeds")
            p = a.payload
            if a.kind == "is_eof":
                if op not in ("true", "false"):
                    raise Unmapped("is_eof")
                self.checks.append((line, "complete", (p.feed, p.index), op == "true"))
                return
            if op != "eq" or not isinstance(b, bytes):
                raise Unmapped("payload compared with a non-bytes value")
            self.checks.append((line, "body", (p.feed, p.index),
                                (b, a.n if a.kind == "read" else None, a.kind)))
            return
        if a.kind == "header" and op == "eq":
            self.checks.append((line, "header", (a.msg.feed, a.msg.index), (a.name, b)))
            return
        if a.kind in ("items", "headers") and op == "eq":
            if isinstance(b, tuple) and len(b) == 2 and b[0] == "headers-eq":
                b = b[1]
            self.checks.append((line, "items", (a.msg.feed, a.msg.index),
                                [tuple(x) for x in b]))
            return
        if a.kind == "attr" and a.of.kind == "msg":
            m = (a.of.feed, a.of.index)
            if a.name in ("method", "path", "version", "code", "reason") and op == "eq":
                self.checks.append((line, a.name, m, b))
                return
            if a.name == "raw_headers" and op == "eq":
                self.checks.append((line, "raw", m, [tuple(x) for x in b]))
                return
            if a.name == "should_close" and op in ("true", "false"):
                self.checks.append((line, "close", m, op == "true"))
                return
            raise Unmapped("aiohttp's msg.%s" % a.name)
        raise Unmapped("%s %s" % (a.kind, op))


def test_parsers(func):
    """The parser a test uses: (role, variable names, parsers ('both', 'C', 'Py')); or raises
    Unmapped with the reason it is not run."""
    args = [a.arg for a in func.args.args]
    if "parser" in args:
        return "server", ["parser"], "both"
    if "response" in args:
        return "client", ["response"], "both"
    for st in ast.walk(func):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(
                st.targets[0], ast.Name) and isinstance(st.value, ast.Call):
            name = dotted(st.value.func)
            if name in PARSER_CLASSES:
                kw = {k.arg: k.value for k in st.value.keywords}
                extra = [k for k in kw if k not in FIXTURE_OPTIONS or not (
                    isinstance(kw[k], ast.Constant) and kw[k].value == FIXTURE_OPTIONS[k])]
                if extra:
                    raise Unmapped("parser options: %s" % ", ".join(
                        "%s=%s" % (k, dotted(kw[k])) for k in extra))
                role, which = PARSER_CLASSES[name]
                return role, [st.targets[0].id], which or "both"
    raise Unmapped("no request or response parser fed (aiohttp's own API)")


def not_run_reason(func):
    decs = [dotted(d) for d in func.decorator_list]
    if any("dev_mode" in d for d in decs):
        return "dev mode (the strict response parser, an aiohttp option)"
    src = ast.unparse(func)
    if re.search(r"\bmax_\w+|size\b", " ".join(a.arg for a in func.args.args)) or \
            re.search(r"max_msg_queue_size|max_line_size\s*=\s*(?!8190)|max_field_size\s*=\s*(?!8190)"
                      r"|\bLineTooLong\b", src):
        return "aiohttp's size limits (the fixtures' 8190 bytes, max_msg_queue_size)"
    for a in ("monkeypatch", "protocol"):
        if a in [x.arg for x in func.args.args]:
            return "uses %s (aiohttp's internals)" % a
    if re.search(r"\bmock\.|_http_chunk_splits\b.*==|\bfor\b .* in range", src) and \
            "feed_data(text[" in src:
        return "feeds in a loop"
    return None


def apart_reason(func):
    decs = [dotted(d) for d in func.decorator_list]
    src = ast.unparse(func)
    for d in decs:
        if "xfail_c_parser" in d:
            return "xfail for the C parser: the parsers differ, only the Python one passes"
        if "NO_EXTENSIONS" in d or "HttpRequestParserC" in d:
            return "the C parser (llhttp) only"
    if re.search(r"\bHttp(Request|Response)ParserPy\(", src):
        return "the Python parser only"
    if re.search(r"\bHttp(Request|Response)ParserC\(", src):
        return "the C parser (llhttp) only"
    if re.search(r"isinstance\((parser|response), Http\w+Parser(Py|C)\)|pytest\.xfail", src):
        return "expectation depends on the parser"
    return None


def harvest(text, name):
    tree = ast.parse(text)
    evaluator = Evaluator({})
    module_constants(tree, evaluator)
    cases, not_run = [], []
    for func in tree.body:
        if isinstance(func, ast.ClassDef):
            for m in func.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        m.name.startswith("test_"):
                    not_run.append((m.lineno, "%s.%s" % (func.name, m.name),
                                    "aiohttp's payload parser or decompressor classes"))
            continue
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or \
                not func.name.startswith("test_"):
            continue
        reason = not_run_reason(func)
        if reason is None:
            try:
                role, names, _ = test_parsers(func)
            except Unmapped as err:
                reason = str(err)
        if reason:
            not_run.append((func.lineno, func.name, reason))
            continue
        try:
            rows = parametrizations(func, evaluator)
        except (Unmapped, Exception) as err:  # noqa: B014
            not_run.append((func.lineno, func.name, "parametrize table not read: %s" % err))
            continue
        apart = apart_reason(func)
        for env, line, pid, marks in rows:
            w = Walk(evaluator, env, names)
            try:
                # Walk twice: first to learn the feeds, then with the last one known.
                w.run(func.body)
                n = len(w.feeds)
                w = Walk(evaluator, env, names)
                w.final, w.nfeeds = True, n
                w.run(func.body)
            except (Unmapped, KeyError, TypeError, IndexError, AttributeError,
                    UnicodeError, ValueError) as err:
                not_run.append((line, "%s[%s]" % (func.name, pid) if pid else func.name,
                                "not mapped: %s" % err))
                continue
            if not w.feeds:
                not_run.append((line, func.name, "no input fed"))
                continue
            row_apart = apart
            if any("xfail" in m or "skip" in m for m in marks):
                row_apart = "marked %s" % ", ".join(marks)
            cases.append({
                "file": name, "line": line, "test_line": func.lineno,
                "test": func.name + ("[%s]" % pid if pid else ""), "role": role,
                "input": b"".join(w.feeds), "feeds": [len(f) for f in w.feeds],
                "raises": w.raises, "raise_at_eof": w.raise_at_eof,
                "checks": w.checks, "notes": w.notes, "counts": w.counts, "refs": w.refs,
                "apart": row_apart})
    return cases, not_run


# ------------------------------------------------------------------------ judging


def run(h1dump, role, data, split, timeout=120):
    try:
        return run_h1dump(h1dump, role, None, data, split, timeout), None
    except RuntimeError as failure:
        return "", [x.strip() for x in str(failure).splitlines() if x.strip()][:3]
    except subprocess.TimeoutExpired:
        return "", ["no answer within %d s (a hang)" % timeout]


def bases(case):
    """The index of the first message of each feed, where it is known."""
    out, total = [], 0
    for k, n in enumerate(case["feeds"]):
        out.append(total)
        if total is None:
            continue
        c = case["counts"].get(k)
        r = case["refs"].get(k)
        if c is not None:
            total += c
        elif r is not None:
            total += r + 1
        else:
            upto = case["input"][:sum(case["feeds"][:k + 1])]
            if b"\r\n\r\n" in upto[sum(case["feeds"][:k]) - 3 if k else 0:] or \
                    b"\n\n" in upto[sum(case["feeds"][:k]) - 1 if k else 0:]:
                total = None
    return out


def u(s):
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s


def same_value(ours, theirs, data):
    """A field value of ours is aiohttp's, an obs-fold replaced by one SP there and by as
    many SP as it had bytes here (RFC 9112 §5.2: "one or more SP")."""
    if ours == theirs:
        return True
    if ours is None or theirs is None or not re.search(rb"\r\n[ \t]", data):
        return False
    return re.sub(rb" +", b" ", ours) == re.sub(rb" +", b" ", theirs)


def same_fields(ours, theirs, data):
    return len(ours) == len(theirs) and all(
        a[0] == b[0] and same_value(a[1], b[1], data) for a, b in zip(ours, theirs))


def merged(headers):
    out = {}
    order = []
    for n, v in headers:
        if n not in out:
            out[n] = []
            order.append(n)
        out[n].append(v)
    return [(n, b", ".join(out[n])) for n in order]


def judge(h1dump, case, data, hosted):
    role = case["role"]
    whole, crash = run(h1dump, role, data, 0)
    bytewise, crash1 = run(h1dump, role, data, 1)
    ev = read_events(whole, data)
    ev["_ended"] = []
    for line in whole.splitlines():
        kind = json.loads(line)["event"]
        if kind in ("request", "response", "informational"):
            ev["_ended"].append(kind == "informational")
        elif kind == "end" and ev["_ended"]:
            ev["_ended"][-1] = True
    msgs = ev["msgs"]
    late = None
    if not msgs and ev["eof"] and "head" in ev["eof"]:
        out, _ = run(h1dump, role, h1dump_io.end_head(data), 0)
        probe = read_events(out, data)
        late = probe["error"] or ("accepted" if probe["msgs"] else "nothing")
    diffs = []
    if crash or crash1:
        diffs.append("h1dump failed")
    elif case["raises"]:
        exc = case["raises"]
        refused = bool(ev["error"]) or (exc in EOF_ERRORS and bool(ev["eof"]))
        if late is not None:
            refused = late not in ("accepted", "nothing") and "missing Host" not in late
        if not refused:
            diffs.append("aiohttp raises %s; we %s" % (exc, "read it" if not ev["eof"] else
                                                        "read it up to the end of input"))
    else:
        base = bases(case)
        if ev["error"]:
            # An error is fine only after every message the test names.
            need = 0
            for k in list(case["refs"]) + list(case["counts"]):
                if base[k] is not None:
                    need = max(need, base[k] + max(case["refs"].get(k, -1) + 1,
                                                   case["counts"].get(k, 0)))
            if len(msgs) < max(need, 1) or case["role"] == "server" and any(
                    c[1] in ("count",) for c in case["checks"]):
                diffs.append("we refuse: %s" % ev["error"])
        for line, kind, where, want in case["checks"]:
            d = check(case, kind, where, want, msgs, ev, base, data, hosted, h1dump)
            if d:
                diffs.append("line %d: %s" % (line, d))
    ours = describe(ev) if not crash else "h1dump FAILED: %s" % " / ".join(crash)
    return {"agree": not diffs, "late": late, "ours": ours, "diffs": diffs,
            "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


def check(case, kind, where, want, msgs, ev, base, data, hosted, h1dump):
    if kind == "count":
        if base[where] is None:
            return None
        got = len(msgs) - base[where]
        return None if got == want else "%d message(s) expected, we deliver %d" % (want, got)
    if kind == "upgrade":
        got = ev["switch_at"] is not None
        return None if got == want else "upgrade %s expected, we %s" % (
            want, "switch" if got else "do not switch")
    if kind == "tail":
        if ev["switch_at"] is None and want == b"":
            return None
        if ev["switch_at"] is None:
            return "tail %r expected, we do not switch" % want[:40]
        got = data[ev["switch_at"]:]
        return None if got == want else "tail %r expected, ours %r" % (want[:40], got[:40])
    feed, index = where
    if base[feed] is None:
        return None
    i = base[feed] + index
    if i >= len(msgs):
        return "message %d expected, we deliver %d" % (i + 1, len(msgs))
    m = msgs[i]
    fields = [(n, v) for n, v in m["headers"] if not (hosted and (n, v) == HOST_FIELD)]
    if kind == "method":
        return None if m["method"] == want else "method %r, ours %r" % (want, m["method"])
    if kind == "path":
        return None if m["target"] == u(want) else "path %r, ours %r" % (want, m["target"])
    if kind == "version":
        got = tuple(int(x) for x in m["version"].split("."))
        return None if got == tuple(want) else "version %r, ours %r" % (tuple(want), got)
    if kind == "code":
        return None if m["status"] == want else "code %r, ours %r" % (want, m["status"])
    if kind == "reason":
        return None if m["reason"] == u(want) else "reason %r, ours %r" % (want, m["reason"])
    if kind == "header":
        name, value = want
        got = dict(merged(fields)).get(u(name).lower())
        exp = None if value is None else u(value)
        return None if same_value(got, exp, data) else "%s: %r, ours %r" % (name, value, got)
    if kind == "items":
        exp = [(u(n).lower(), u(v)) for n, v in want]
        got = merged(fields)
        return None if same_fields(got, exp, data) else "fields %r, ours %r" % (exp, got)
    if kind == "raw":
        exp = [(u(n).lower(), u(v)) for n, v in want]
        return None if same_fields(fields, exp, data) else "raw fields %r, ours %r" % (
            exp, fields)
    if kind == "close":
        # After a switch no HTTP follows: aiohttp's should_close is not comparable.
        if ev["switch_at"] is not None or not (i == len(msgs) - 1 and ev_ended(ev, i)):
            return None
        out, _ = run(h1dump, case["role"], data + PROBE[case["role"]], 0)
        pr = read_events(out, data)
        kept = len(pr["msgs"]) > len(msgs) and pr["msgs"][len(msgs)]["status"] in (None, 204) \
            and pr["msgs"][len(msgs)]["target"] in (b"", b"/probe") and not pr["error"]
        return None if kept != want else "should_close %s, we %s" % (
            want, "read another message after it" if kept else "do not read another after it")
    if kind == "complete":
        done = ev_ended(ev, i)
        return None if done == want else "payload %s, ours %s" % (
            "complete" if want else "incomplete", "complete" if done else "incomplete")
    if kind == "body":
        exp, n, how = want
        body = m["body"]
        got = body[:n] if n not in (None, -1) else body
        if how == "read" and n not in (None, -1):
            ok = body[:len(exp)] == exp
        else:
            ok = got == exp
        return None if ok else "body %r, ours %r" % (exp[:60], body[:60])
    return "unknown check %s" % kind


def ev_ended(ev, i):
    return i < len(ev["_ended"]) and ev["_ended"][i]


def describe(ev):
    bits = []
    for m in ev["msgs"]:
        if m["kind"] == "request":
            bits.append("request %s %s HTTP/%s, %d field(s), body %r" % (
                m["method"], m["target"].decode("latin-1")[:60], m["version"],
                len(m["headers"]), m["body"][:40]))
        else:
            bits.append("%s %s %r, %d field(s), body %r" % (
                m["kind"], m["status"], m["reason"][:30], len(m["headers"]), m["body"][:40]))
    if ev["switch_at"] is not None:
        bits.append("switched")
    if ev["failure"]:
        bits.append("error: %s" % ev["failure"])
    return "; ".join(bits) or "nothing"


def show(b, limit=160):
    return repr(b) if len(b) <= limit else repr(b[:limit]) + "... (%d bytes)" % len(b)


def aiohttp_says(c):
    if c["raises"]:
        return "raises %s%s" % (c["raises"], " at feed_eof" if c["raise_at_eof"] else "")
    bits = ["reads it"]
    for line, kind, where, want in c["checks"]:
        text = repr(want)
        bits.append("%s %s" % (kind, text if len(text) <= 90 else text[:80] + "...'"))
    return ", ".join(bits)


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("aiohttp", "aiohttp checkout or bare git directory"))
    ap.add_argument("--notes", action="store_true",
                    help="list the assertions that were not mapped, case by case")
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = Source(args.aiohttp, args.rev, FILE)
    try:
        text = src.read_bytes(FILE).decode("utf-8")
    except (subprocess.CalledProcessError, OSError, UnicodeDecodeError) as err:
        print("could not read %s: %s" % (FILE, err))
        return 1
    cases, not_run = harvest(text, os.path.basename(FILE))

    results = []
    for c in cases:
        plain = judge(h1dump, c, c["input"], False)
        fed, points = h1dump_io.add_host(c["input"], HOST)
        hosted = judge(h1dump, c, fed, True) if points else plain
        results.append({"case": c, "plain": plain, "hosted": hosted, "host_added": bool(points),
                        "fed": fed})

    print("aiohttp: %s (%s at %s)" % (src.commit(), args.aiohttp, args.rev))
    print()
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "%s:%d %s (%s)" % (
            r["case"]["file"], r["case"]["line"], r["case"]["test"],
            "as is" if j is r["plain"] else "Host supplied"),
        data=lambda r, j: r["case"]["input"] if j is r["plain"] else r["fed"])

    counted = [r for r in results if not r["case"]["apart"]]
    apart = [r for r in results if r["case"]["apart"]]
    for title, rows in (("disagreements (as is; [host] = agrees once a Host field is "
                         "supplied)%s:" % (" and agreements" if args.verbose else ""), counted),
                        ("tests for one parser only, or where the two differ (not counted):",
                         apart)):
        print(title)
        for r in rows:
            c, p, h = r["case"], r["plain"], r["hosted"]
            quiet = p["agree"] and h["agree"] and not p["late"]
            if quiet and not args.verbose and not args.notes and not c["apart"]:
                continue
            print("  %s %s:%d %s [%s]" % (h1dump_io.mark(p, h), c["file"], c["line"],
                                          c["test"], c["role"]))
            if c["apart"]:
                print("      apart: %s" % c["apart"])
            if quiet and not args.notes and not c["apart"]:
                continue
            print("      input: %s" % show(c["input"]))
            print("      aiohttp: %s" % aiohttp_says(c))
            h1dump_io.print_ours(p, h, r["host_added"])
            if args.notes:
                for n in c["notes"]:
                    print("      not mapped: %s" % n)
        print()
    print("tests not run (%d):" % len(not_run))
    for line, name, why in not_run:
        print("  %s:%d %s: %s" % (os.path.basename(FILE), line, name, why))
    print()

    print("%-26s %6s %14s %16s" % ("", "cases", "as is", "Host supplied"))
    print("%-26s %6d %s" % ("counted", len(counted), h1dump_io.agreement(counted)))
    print("%-26s %6d %s" % ("one parser only (apart)", len(apart), h1dump_io.agreement(apart)))
    h1dump_io.print_consistency(results)
    if args.json:
        out = []
        for r in results:
            c = r["case"]
            item = {k: c[k] for k in ("file", "line", "test_line", "test", "role", "raises",
                                      "apart", "notes")}
            item["input"] = c["input"].decode("latin-1")
            item["aiohttp"] = aiohttp_says(c)
            item["host_added"] = r["host_added"]
            for k in ("plain", "hosted"):
                j = dict(r[k])
                j.pop("whole", None)
                item[k] = j
            out.append(item)
        with open(args.json, "w") as f:
            json.dump(h1dump_io.jsonable(out), f, indent=1, default=repr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
