#!/usr/bin/env python3
"""Run CPython's HTTP test vectors (http.client, http.server, wsgiref) through h1dump and
count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/cpython_corpus.py CPYTHON [--rev REV] [--h1dump PATH]
                    [--verbose] [--notes] [--json OUT]

CPYTHON is a CPython checkout (a directory with Lib/test/test_httplib.py), a bare git
directory of one (read at HEAD, or at --rev), or an installed standard library (a directory
with test/test_httplib.py and http/client.py, such as /usr/lib/python3.13 when the test
suite is installed; its commit is then "unknown"). Nothing of CPython is kept in this
repository: the test files are parsed with Python's `ast` at run time and the vectors
evaluated from their string and bytes constants, concatenations, %-formatting, str.format,
f-strings, joins and the module's own constants (and http.client's, read from
Lib/http/client.py). What is not understood is not guessed: a test statement on a response
that is not mapped is listed by --notes, a server test that is not mapped is listed with
its reason, and a FakeSocket text never read as a response is counted.

What is read.

  Lib/test/test_httplib.py (client role). Every test method of every TestCase class is
    walked, after its setUp, statement by statement: the text given to FakeSocket (or to a
    subclass, or to the test's HTTPConnection subclass that makes one), whether and how it
    is read as a response (HTTPResponse(sock, method=...).begin(), conn.getresponse() after
    conn.request(METHOD, ...), or the CONNECT reply read by a tunnelled request), and what
    the test then asserts:
      head        begin()/getresponse() succeeds, or raises (assertRaises and its context
                  manager form): BadStatusLine, LineTooLong, HTTPException, RemoteDisconnected
      status, reason, getheader(NAME) (all values joined by ", "), msg[NAME] (the first
                  value), presence and absence, startswith/endswith/in on a value, the
                  "header: NAME: VALUE" lines of debuglevel=1, get_proxy_response_headers()
      body        the data of read(), read(n), read1, readline, readlines, readinto (each
                  asserted chunk in order); a read that returns b'' (but not read(0)), an
                  unbounded read, isclosed() or b"".join of everything read says the body
                  was read to its end
      IncompleteRead (try/except, with .partial) or another exception raised by read()
      sock.file.read(): the bytes left after the response (where the response must end)
      conn.sock is None after the response: whether the connection is kept (reuse)
      a tunnel: CONNECT's reply read by set_tunnel() + request()/connect(); http.client
                  needs exactly 200, and an OSError from the request says it refused it
    Each text is run with `h1dump --role client --method METHOD` (GET when none; CONNECT for
    a tunnel). Only the first final response is compared (http.client reads one response
    per HTTPResponse, and skips 100 Continue responses before it as we report them apart).

  Lib/test/test_httpservers.py and Lib/test/test_wsgiref.py (server role). The raw
    requests a test hands to the request handler (send_typical_request(BYTES), an rfile
    BytesIO(BYTES) before handle_one_request(), wsgiref's run_amock(app, data), its default
    data included) and the requests BaseHTTPServerTestCase-style tests write through
    http.client's low-level API (putrequest/putheader/endheaders/request on self.con, with
    _http_vsn_str/_http_vsn changed): these bytes are what http.client writes (request line
    with _http_vsn_str; Host and Accept-Encoding: identity when _http_vsn is 11;
    Content-Length: 0 for a body-less method of _METHODS_EXPECTING_BODY), the Host value a
    stand-in (127.0.0.1:8000) for the test server's ephemeral port. One request per test;
    tests that send several (loops over a connection) are listed as not mapped.
    The status a test expects (res.status, a status line or log line in an asserted
    constant, wsgiref's error_body for its 500) is mapped through what http.server itself
    does: the statuses that BaseHTTPRequestHandler.parse_request() sends, and those
    handle_one_request() (and wsgiref's handle()) sends before calling it, are the
    parser's verdicts (read from Lib/http/server.py; 400, 414, 431, 505 in 3.13): we must refuse
    the request. Any other status (200, 204, 417 from an Expect handler, 501 for a method
    without do_METHOD, 999, a WSGI application's 500) comes after the request was read: we
    must deliver it. A test that asserts no status but that the handler ran
    (get_called) or the application's output counts as accepted. Compared as well when
    asserted: command, path, request_version, the header fields.

Agreement. Client role: every expectation of every test that read the text holds for our
first final response (see above); where http.client raises before the response and we only
meet the end of input inside the head, the head is ended with CRLF CRLF and must then be
refused. Server role: the first request delivered (and matching)
or refused, as the status says; when we neither deliver nor refuse before the end of input
(the input stops inside a head), the head is ended with CRLF CRLF and a refusal then, for a
reason other than the missing Host, counts as agreement (as in the other corpus scripts).
A status hint of ours other than CPython's status is shown, not counted.

Cases are the distinct inputs (file, role, method, bytes); several tests that read the same
bytes (test_chunked and test_readinto_chunked, the many run_amock() with the default data)
make one case whose expectations are all checked, and every test is listed with its line.
Figures are given as is and with a Host field supplied to HTTP/1.1 requests that have none
(the core refuses those, RFC 9112 §3.2; http.server does not check Host). Every input goes
through h1dump whole and with --split 1; a difference, or a failure of h1dump itself, is
listed first as a bug of ours. A disagreement whose input shows one of http.client's or
http.server's known leniencies gets a `CPython:` line saying so. Exit status 1 on such a
bug, or when a file could not be read.
"""

import ast
import http
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402

FILES = {  # relative to Lib/
    "httplib": "test/test_httplib.py",
    "httpservers": "test/test_httpservers.py",
    "wsgiref": "test/test_wsgiref.py",
    "client": "http/client.py",
    "server": "http/server.py",
    "simple_server": "wsgiref/simple_server.py",
    "handlers": "wsgiref/handlers.py",
}
HOST = b"Host: cpython.invalid\r\n"
HOST_FIELD = (b"host", b"cpython.invalid")
HOST_STAND_IN = "127.0.0.1:8000"
PROBE_RESPONSE = b"HTTP/1.1 204 No Content\r\n\r\n"
SKIPPED = []


class CPython(Source):
    """CPython's Lib/, from a checkout, a bare git directory or an installed standard
    library."""

    def __init__(self, path, rev):
        if os.path.exists(os.path.join(path, "Lib", "test", "test_httplib.py")):
            self.prefix, self.layout = "Lib/", "checkout"
            marker = "Lib"
        elif os.path.exists(os.path.join(path, "test", "test_httplib.py")):
            self.prefix, self.layout = "", "installed standard library"
            marker = "test"
        else:
            self.prefix, self.layout = "Lib/", "git directory"
            marker = os.path.join("Lib", "test", "test_httplib.py")
        super().__init__(path, rev, marker)

    def read(self, key):
        return self.read_bytes(self.prefix + FILES[key]).decode("utf-8")

    def commit(self):
        """The commit of a git directory or of a checkout that is the root of its git work
        tree; "unknown" otherwise (an installed library may sit inside another repository,
        such as pyenv's)."""
        if self.layout == "installed standard library":
            return "unknown"
        if self.is_checkout:
            try:
                top = subprocess.run(self.git + ["rev-parse", "--show-toplevel"],
                                     capture_output=True, text=True, check=True).stdout
            except (subprocess.CalledProcessError, FileNotFoundError):
                return "unknown"
            if os.path.realpath(top.strip()) != os.path.realpath(self.path):
                return "unknown"
        return super().commit()

    def version_hint(self):
        """PY_VERSION of an installed library (from its include/ directory), if found."""
        if self.layout != "installed standard library":
            return None
        lib = os.path.realpath(self.path)
        header = os.path.join(os.path.dirname(os.path.dirname(lib)), "include",
                              os.path.basename(lib), "patchlevel.h")
        try:
            with open(header) as f:
                m = re.search(r'#define PY_VERSION\s+"([^"]+)"', f.read())
            return m.group(1) if m else None
        except OSError:
            return None


# ------------------------------------------------------------------ the evaluator


class Unknown:
    def __repr__(self):
        return "<unknown>"


UNKNOWN = Unknown()


def known(*vals):
    return not any(isinstance(v, (Unknown, Sym, Obj)) for v in vals)


class Obj:
    """A symbolic object of a test: a socket, a connection, a response, a buffer."""

    def __init__(self, kind, **fields):
        self.kind = kind
        self.__dict__.update(fields)

    def __repr__(self):
        return "<%s>" % self.kind


class Sym:
    """A value derived from a response that a test compares: status, a header, a read."""

    def __init__(self, kind, **fields):
        self.kind = kind
        self.__dict__.update(fields)

    def __repr__(self):
        return "<sym %s>" % self.kind


class LocalFunc:
    def __init__(self, node, scope):
        self.node, self.scope = node, scope


class Method:
    """A method of a test class, bound to the test instance."""

    def __init__(self, node, owner):
        self.node, self.owner = node, owner


class Scope:
    def __init__(self, module, env=None, parent=None, self_obj=None, func=None):
        self.module, self.env, self.parent = module, env if env is not None else {}, parent
        self.self_obj = self_obj if self_obj is not None else (parent.self_obj if parent
                                                                else None)
        self.func = func if func is not None else (parent.func if parent else None)

    def lookup(self, name):
        s = self
        while s is not None:
            if name in s.env:
                return s.env[name]
            s = s.parent
        return self.module.lookup(name)

    def assign(self, name, value):
        s = self
        while s is not None:  # `nonlocal` and closures: the scope that has the name
            if name in s.env:
                s.env[name] = value
                return
            s = s.parent
        self.env[name] = value


def status_member(name):
    """An HTTPStatus member's value (the running interpreter's enum, which the tested
    modules import)."""
    try:
        return int(http.HTTPStatus[name])
    except KeyError:
        return UNKNOWN


def exc_name(node):
    if isinstance(node, ast.Tuple):
        return "|".join(exc_name(e) for e in node.elts)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return "?"


class Module:
    """A parsed Python file: module-level values, functions and classes."""

    def __init__(self, key, name, text, client_consts=None):
        self.key, self.name, self.text = key, name, text
        self.tree = ast.parse(text)
        self.lines = text.split("\n")
        self.assigns, self.values, self.funcs, self.classes = {}, {}, {}, {}
        self.client = client_consts or {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                self.assigns[node.targets[0].id] = node.value
            elif isinstance(node, ast.FunctionDef):
                self.funcs[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
        self._class_env = {}

    def lookup(self, name):
        if name in self.values:
            return self.values[name]
        if name in self.assigns:
            self.values[name] = UNKNOWN  # no recursion
            self.values[name] = Evaluator(Scope(self)).ev(self.assigns[name])
            return self.values[name]
        if name in self.funcs:
            return LocalFunc(self.funcs[name], Scope(self))
        if name in self.classes:
            return Obj("class", name=name)
        return BUILTINS.get(name, UNKNOWN)

    def source(self, node):
        return (ast.get_source_segment(self.text, node) or "").replace("\n", " ")

    # classes

    def bases(self, name):
        out = []
        for b in self.classes[name].bases:
            if isinstance(b, ast.Name):
                out.append(b.id)
            elif isinstance(b, ast.Attribute):
                out.append(b.attr)
        return out

    def mro(self, name):
        out = [name]
        for b in self.bases(name):
            if b in self.classes:
                for c in self.mro(b):
                    if c not in out:
                        out.append(c)
        return out

    def is_testcase(self, name):
        return any(b.endswith("TestCase") and b not in self.classes
                   for c in self.mro(name) for b in self.bases(c))

    def derives(self, name, base):
        return name in self.classes and any(base in self.bases(c) for c in self.mro(name))

    def class_env(self, name):
        """The names a class body binds (evaluated in order, its bases' first)."""
        if name not in self._class_env:
            env = {}
            self._class_env[name] = env
            for base in reversed(self.mro(name)[1:]):
                env.update(self.class_env(base))
            scope = Scope(self, env)
            for node in self.classes[name].body:
                if isinstance(node, ast.Assign):
                    Walker.bind(Evaluator(scope), node.targets, Evaluator(scope).ev(node.value))
                elif isinstance(node, ast.FunctionDef):
                    env[node.name] = Method(node, name)
        return self._class_env[name]

    def method(self, cls, name):
        for c in self.mro(cls):
            for node in self.classes[c].body:
                if isinstance(node, ast.FunctionDef) and node.name == name:
                    return node
        return None

    def class_attr(self, cls, name):
        return self.class_env(cls).get(name, UNKNOWN)


def _bytes_of(args):
    if not args:
        return b""
    v = args[0]
    if isinstance(v, Obj) and v.kind == "buffer":
        return Sym("buffer_view", buf=v)
    if isinstance(v, int):
        return bytes(v)
    if isinstance(v, (list, tuple, range, bytes, bytearray)) and known(*v):
        return bytes(v)
    if isinstance(v, str) and len(args) > 1:
        return v.encode(args[1])
    return UNKNOWN


BUILTINS = {
    "bytes": lambda args, kw: _bytes_of(args),
    "bytearray": lambda args, kw: Obj("buffer", pending=False, data=_bytes_of(args)),
    "memoryview": lambda args, kw: args[0] if args and isinstance(args[0], Obj) else UNKNOWN,
    "range": lambda args, kw: range(*args) if known(*args) else UNKNOWN,
    "len": lambda args, kw: len(args[0]) if known(*args) else UNKNOWN,
    "str": lambda args, kw: str(*args) if known(*args) and not (
        args and isinstance(args[0], bytes)) else UNKNOWN,
    "int": lambda args, kw: int(*args) if known(*args) else UNKNOWN,
    "list": lambda args, kw: list(*args) if known(*args) else UNKNOWN,
    "tuple": lambda args, kw: tuple(*args) if known(*args) else UNKNOWN,
    "map": lambda args, kw: [args[0](a) for a in args[1]] if len(args) == 2 and callable(
        args[0]) and known(args[1]) else UNKNOWN,
    "True": True, "False": False, "None": None,
}

STR_METHODS = {"join", "format", "encode", "decode", "split", "find", "strip", "lstrip",
               "rstrip", "lower", "upper", "startswith", "endswith", "replace",
               "splitlines", "index", "count"}


class Evaluator:
    """Expressions of a test: constants and what the tests build from them; symbolic
    objects for sockets, connections and responses (see Walker)."""

    def __init__(self, scope, walker=None):
        self.scope, self.walker = scope, walker

    def ev(self, node):
        try:
            return self._ev(node)
        except (TypeError, ValueError, IndexError, KeyError, AttributeError,
                UnicodeError, OverflowError, ZeroDivisionError, RecursionError):
            return UNKNOWN

    def _ev(self, node):
        m = getattr(self, "ev_" + type(node).__name__, None)
        return m(node) if m else UNKNOWN

    def ev_Constant(self, node):
        return node.value

    def ev_Name(self, node):
        if node.id == "chr":
            return chr
        return self.scope.lookup(node.id)

    def ev_Tuple(self, node):
        return tuple(self.ev(e) for e in node.elts)

    def ev_List(self, node):
        return [self.ev(e) for e in node.elts]

    def ev_Dict(self, node):
        keys = [self.ev(k) if k is not None else UNKNOWN for k in node.keys]
        vals = [self.ev(v) for v in node.values]
        if not all(isinstance(k, (str, bytes)) for k in keys):
            return UNKNOWN
        return dict(zip(keys, vals))

    def ev_JoinedStr(self, node):
        out = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                out += part.value
            else:
                v = self.ev(part.value)
                if not known(v) or part.format_spec is not None or part.conversion not in (
                        -1, None):
                    return UNKNOWN
                out += format(v)
        return out

    def ev_UnaryOp(self, node):
        v = self.ev(node.operand)
        if isinstance(node.op, ast.Not):
            return (not v) if known(v) else UNKNOWN
        if not known(v):
            return UNKNOWN
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return +v
        return UNKNOWN

    def ev_BinOp(self, node):
        a, b = self.ev(node.left), self.ev(node.right)
        if isinstance(node.op, ast.Add) and (
                (isinstance(a, Sym) and a.kind == "read") or (isinstance(b, Sym) and
                                                             b.kind == "read")):
            parts = (a.parts if isinstance(a, Sym) else [UNKNOWN]) + \
                (b.parts if isinstance(b, Sym) else [UNKNOWN])
            return Sym("read", resp=(a if isinstance(a, Sym) else b).resp, parts=parts)
        if not known(a, b):
            return UNKNOWN
        if isinstance(a, bytearray):
            a = bytes(a)
        if isinstance(b, bytearray):
            b = bytes(b)
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Mult:
            return a * b
        if op is ast.Mod:
            return a % b
        if op is ast.Sub:
            return a - b
        return UNKNOWN

    def ev_BoolOp(self, node):
        vals = [self.ev(v) for v in node.values]
        if not known(*vals):
            return UNKNOWN
        if isinstance(node.op, ast.And):
            r = True
            for v in vals:
                r = v
                if not v:
                    return v
            return r
        for v in vals:
            if v:
                return v
        return vals[-1]

    def ev_IfExp(self, node):
        t = self.ev(node.test)
        if not known(t):
            return UNKNOWN
        return self.ev(node.body if t else node.orelse)

    def ev_Compare(self, node):
        if len(node.ops) != 1:
            return UNKNOWN
        a, b = self.ev(node.left), self.ev(node.comparators[0])
        op = node.ops[0]
        if isinstance(op, (ast.Is, ast.IsNot)) and isinstance(a, Obj) and a.kind == "sock_attr":
            return Sym("sock_none", conn=a.conn, negate=isinstance(op, ast.IsNot))
        if isinstance(a, Sym) and a.kind == "readinto" and isinstance(op, ast.NotEq) and b == 0:
            return Sym("readinto_nonzero", resp=a.resp, buf=a.buf)
        if not known(a, b):
            return UNKNOWN
        return {ast.Eq: lambda: a == b, ast.NotEq: lambda: a != b, ast.Lt: lambda: a < b,
                ast.LtE: lambda: a <= b, ast.Gt: lambda: a > b, ast.GtE: lambda: a >= b,
                ast.In: lambda: a in b, ast.NotIn: lambda: a not in b,
                ast.Is: lambda: a is b, ast.IsNot: lambda: a is not b}[type(op)]()

    def comprehension(self, node, make):
        if len(node.generators) != 1 or node.generators[0].is_async:
            return UNKNOWN
        g = node.generators[0]
        it = self.ev(g.iter)
        if not known(it):
            return UNKNOWN
        out = []
        for item in it:
            inner = Scope(self.scope.module, {}, self.scope)
            sub = Evaluator(inner, self.walker)
            Walker.bind(sub, [g.target], item)
            if all(sub.ev(c) is True for c in g.ifs):
                out.append(make(sub))
        return out

    def ev_ListComp(self, node):
        return self.comprehension(node, lambda s: s.ev(node.elt))

    ev_GeneratorExp = ev_ListComp

    def ev_Subscript(self, node):
        v = self.ev(node.value)
        if isinstance(node.slice, ast.Slice):
            lo = self.ev(node.slice.lower) if node.slice.lower else None
            hi = self.ev(node.slice.upper) if node.slice.upper else None
            if isinstance(v, Obj) and v.kind == "buffer":
                return Sym("buffer_view", buf=v)
            if isinstance(v, Sym) and v.kind == "buffer_view":
                return v
            if not known(v, lo, hi) or node.slice.step is not None:
                return UNKNOWN
            return v[lo:hi]
        k = self.ev(node.slice)
        if isinstance(v, Sym) and v.kind == "msg" and isinstance(k, str):
            return Sym("header", resp=v.resp, name=k, mode="first")
        if isinstance(v, Sym) and v.kind == "debug_lines":
            return Sym("debug_line", resp=v.resp)
        if not known(v, k):
            return UNKNOWN
        return v[k]

    def ev_Attribute(self, node):
        # module and enum constants first
        if isinstance(node.value, ast.Name):
            base = node.value.id
            if base in ("HTTPStatus",):
                return status_member(node.attr)
            if base == "client" and node.attr in self.scope.module.client:
                return self.scope.module.client[node.attr]
            if base == "client" and node.attr in http.HTTPStatus.__members__:
                return status_member(node.attr)
        if isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name) \
                and node.value.value.id == "http" and node.value.attr == "HTTPStatus":
            return status_member(node.attr)
        v = self.ev(node.value)
        return self.attr(v, node.attr)

    def attr(self, v, name):
        if isinstance(v, Obj):
            if v.kind == "self":
                if name in v.attrs:
                    return v.attrs[name]
                env = self.scope.module.class_env(v.cls)
                if name in env:
                    return env[name]
                return UNKNOWN
            if v.kind == "class":
                return self.scope.module.class_attr(v.name, name)
            if v.kind == "conn":
                if name == "sock":
                    return Obj("sock_attr", conn=v)
                return Obj("bound", obj=v, name=name)
            if v.kind == "resp":
                if name in ("status", "reason", "msg", "headers"):
                    if v.expect is None:
                        return UNKNOWN
                    return Sym({"headers": "msg"}.get(name, name), resp=v.expect)
                return Obj("bound", obj=v, name=name)
            if v.kind == "exc":
                return Sym("partial", resp=v.resp) if name == "partial" else UNKNOWN
            if v.kind == "sock":
                if name == "file":
                    return Obj("sockfile", sock=v)
                return UNKNOWN
            if v.kind == "sock_attr":
                if name == "file":
                    return Obj("sockfile", sock=v.conn.attrs.get("sock"))
                return UNKNOWN
            if v.kind in ("sockfile", "buffer", "stdout", "stdout_text"):
                return Obj("bound", obj=v, name=name)
            return UNKNOWN
        if isinstance(v, Sym):
            return Obj("bound", obj=v, name=name)
        if isinstance(v, (str, bytes)) and name in STR_METHODS:
            return getattr(v, name)
        if isinstance(v, list) and name == "append":
            return v.append
        if isinstance(v, dict) and name in ("items", "keys", "values", "get", "copy"):
            return getattr(v, name)
        return UNKNOWN

    def ev_Lambda(self, node):
        return LocalFunc(node, self.scope)

    def ev_Call(self, node):
        f = node.func
        # `b"".join(name)` over a list a loop of the test fills with what it read
        if isinstance(f, ast.Attribute) and f.attr == "join" and isinstance(
                f.value, ast.Constant) and isinstance(f.value.value, bytes) and \
                len(node.args) == 1 and isinstance(node.args[0], ast.Name) and \
                self.walker is not None and self.walker.appended_in_func(
                    self.scope, node.args[0].id):
            return Sym("join", resp=self.walker.current)
        if isinstance(f, ast.Attribute) and f.attr == "captured_stdout":
            return Obj("stdout", resp=None)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "self" and f.attr.startswith("assert"):
            if self.walker is not None:
                self.walker.assertion(f.attr, node, self)
            return None
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "re" and f.attr == "compile":
            args = [self.ev(a) for a in node.args]
            return re.compile(*args) if known(*args) else UNKNOWN
        args = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                v = self.ev(a.value)
                args += list(v) if isinstance(v, (tuple, list)) else [UNKNOWN]
            else:
                args.append(self.ev(a))
        kw = {k.arg: self.ev(k.value) for k in node.keywords if k.arg}
        fv = self.ev(f)
        if self.walker is not None:
            r = self.walker.call(fv, args, kw, node, self)
            if r is not NotImplemented:
                return r
        if fv is chr:
            return chr(*args) if known(*args) else UNKNOWN
        if callable(fv) and fv in BUILTINS.values():
            return fv(args, kw)
        if callable(fv) and not isinstance(fv, (LocalFunc, Method)):
            if not known(*args) or not known(*kw.values()):
                return UNKNOWN
            return fv(*args, **kw)
        return UNKNOWN


# ------------------------------------------------------------------- the walker


class Expect:
    """What one test run expects of one response."""

    def __init__(self, test, test_line, sock, method, tunnel=None):
        self.test, self.test_line = test, test_line
        self.input, self.site = sock.text, sock.line
        self.method = method
        self.head = None            # "ok" or ("refused", exception)
        self.status = self.reason = None
        self.headers = []           # (op, name, value)
        self.chunks, self.complete, self.body_unknown = [], False, False
        self.whole = None           # b"".join(everything read)
        self.body_error = None      # ("incomplete", partial) or ("error", exception)
        self.rest = None
        self.reuse = None
        self.tunnel = tunnel
        self.notes = []

    def signature(self):
        return repr((self.head, self.status, self.reason, self.headers, self.chunks,
                     self.complete, self.body_unknown, self.whole, self.body_error,
                     self.rest, self.reuse, self.tunnel))

    def empty(self):
        return self.head is None and self.tunnel is None


class Walker:
    """Walks a test method (after its setUp) of test_httplib.py statement by statement and
    records, for each response the test reads, what it asserts."""

    def __init__(self, module, fake_sockets, fake_conns):
        self.module = module
        self.fake_sockets, self.fake_conns = fake_sockets, fake_conns
        self.expects = []
        self.current = None          # the response last read
        self.raising = []            # exceptions expected around the statement
        self.catching = []           # except clauses around the statement
        self.test = self.test_line = None
        self.depth = 0
        self.unread = []             # FakeSocket calls never read as a response

    # helpers

    @staticmethod
    def bind(evaluator, targets, value):
        for t in targets:
            if isinstance(t, ast.Name):
                evaluator.scope.assign(t.id, value)
            elif isinstance(t, (ast.Tuple, ast.List)):
                if isinstance(value, (tuple, list)) and len(value) == len(t.elts):
                    for sub, v in zip(t.elts, value):
                        Walker.bind(evaluator, [sub], v)
                else:
                    for sub in t.elts:
                        Walker.bind(evaluator, [sub], UNKNOWN)
            elif isinstance(t, ast.Attribute):
                obj = evaluator.ev(t.value)
                if isinstance(obj, Obj) and obj.kind in ("self", "conn"):
                    obj.attrs[t.attr] = value

    def appended_in_func(self, scope, name):
        s = scope
        while s is not None:
            if s.func is not None:
                for n in ast.walk(s.func):
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                            n.func.attr == "append" and isinstance(n.func.value, ast.Name) \
                            and n.func.value.id == name:
                        return True
            s = s.parent
        return False

    def note(self, node, what):
        if self.current is not None:
            self.current.notes.append("line %d: %s: %s" % (node.lineno, what,
                                                           self.module.source(node)[:120]))

    def new_expect(self, sock, method, tunnel=None):
        if not isinstance(sock, Obj) or sock.kind != "sock" or not isinstance(
                sock.text, bytes):
            return None
        e = Expect(self.test, self.test_line, sock, method, tunnel)
        sock.read = True
        sock.expects.append(e)
        self.expects.append(e)
        self.current = e
        return e

    def expect_raise(self):
        return self.raising[-1] if self.raising else None

    # calls

    def call(self, fv, args, kw, node, ev):
        if isinstance(fv, Obj) and fv.kind == "class":
            name = fv.name
            if name in self.fake_sockets:
                return self.make_sock(args, node)
            if name in self.fake_conns:
                return Obj("conn", attrs={"sock": self.make_sock(args, node)}, method="GET",
                           tunnel=False, tunnel_expect=None)
            return UNKNOWN
        if isinstance(fv, Obj) and fv.kind == "bound":
            return self.bound_call(fv.obj, fv.name, args, kw, node, ev)
        if isinstance(fv, (LocalFunc, Method)):
            return self.invoke(fv, args, kw)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "client" and f.attr == "HTTPResponse":
            method = kw.get("method") if isinstance(kw.get("method"), str) else "GET"
            sock = args[0] if args else UNKNOWN
            if isinstance(sock, Obj) and sock.kind == "sock" and isinstance(sock.text, bytes):
                return Obj("resp", sock=sock, method=method, expect=None)
            return UNKNOWN
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                f.value.id == "client" and f.attr == "HTTPConnection":
            return Obj("conn", attrs={}, method="GET", tunnel=False, tunnel_expect=None)
        return NotImplemented

    def make_sock(self, args, node):
        text = args[0] if args else UNKNOWN
        if isinstance(text, str):
            try:
                text = text.encode("ascii")  # as FakeSocket does
            except UnicodeEncodeError:
                text = UNKNOWN
        if isinstance(text, bytearray):
            text = bytes(text)
        sock = Obj("sock", text=text if isinstance(text, bytes) else None, line=node.lineno,
                   read=False, expects=[])
        self.unread.append(sock)
        return sock

    def invoke(self, fn, args, kw):
        """Walk a local function or a helper method of the test class; its return value."""
        if self.depth > 4:
            return UNKNOWN
        node = fn.node
        if isinstance(fn, Method):
            parent = Scope(self.module, {"self": self.self_obj}, None, self.self_obj)
            params = node.args.args[1:]
        else:
            parent = fn.scope
            params = node.args.args
        scope = Scope(self.module, {}, parent, func=node if not isinstance(
            node, ast.Lambda) else parent.func)
        defaults = node.args.defaults
        for i, p in enumerate(params):
            d = len(params) - len(defaults)
            if i < len(args):
                scope.env[p.arg] = args[i]
            elif p.arg in kw:
                scope.env[p.arg] = kw[p.arg]
            elif i >= d:
                scope.env[p.arg] = Evaluator(parent, self).ev(defaults[i - d])
            else:
                scope.env[p.arg] = UNKNOWN
        self.depth += 1
        try:
            if isinstance(node, ast.Lambda):
                return Evaluator(scope, self).ev(node.body)
            r = self.block(node.body, scope)
            return r[1] if r else None
        finally:
            self.depth -= 1

    def conn_sock(self, conn):
        sock = conn.attrs.get("sock")
        if isinstance(sock, Obj) and sock.kind == "sock":
            return sock
        factory = conn.attrs.get("_create_connection")
        if isinstance(factory, (LocalFunc, Method)):
            sock = self.invoke(factory, [UNKNOWN], {})
            if isinstance(sock, Obj) and sock.kind == "sock":
                conn.attrs["sock"] = sock
                return sock
        return None

    def tunnel(self, conn):
        """A tunnelled request or connect(): http.client reads CONNECT's reply."""
        sock = self.conn_sock(conn)
        if sock is None:
            return
        refused = self.expect_raise() or any(
            c in ("OSError", "Exception") for c in self.catching)
        e = self.new_expect(sock, "CONNECT", tunnel=not refused)
        conn.tunnel_expect = e

    def bound_call(self, obj, name, args, kw, node, ev):
        if obj.kind == "resp":
            return self.resp_call(obj, name, args, node)
        if obj.kind == "conn":
            if name in ("request", "putrequest"):
                if args and isinstance(args[0], str):
                    obj.method = args[0]
                if obj.tunnel and obj.tunnel_expect is None:
                    self.tunnel(obj)
                return None
            if name == "set_tunnel":
                obj.tunnel = True
                return None
            if name == "connect":
                if obj.tunnel and obj.tunnel_expect is None:
                    self.tunnel(obj)
                return None
            if name == "getresponse":
                sock = self.conn_sock(obj)
                if sock is None:
                    return UNKNOWN
                r = Obj("resp", sock=sock, method=obj.method, expect=None)
                self.begin(r, node)
                return r
            if name == "get_proxy_response_headers":
                return Sym("proxy", resp=obj.tunnel_expect)
            return UNKNOWN
        if obj.kind == "sockfile" and name == "read" and not args:
            return Sym("rest", sock=obj.sock)
        if obj.kind == "stdout" and name == "getvalue":
            return Obj("stdout_text", resp=self.current)
        if obj.kind == "stdout_text" and name == "splitlines":
            return Sym("debug_lines", resp=obj.resp)
        if obj.kind == "buffer":
            return UNKNOWN
        if isinstance(obj, Sym) and obj.kind == "proxy" and name == "items":
            return Sym("proxy_items", resp=obj.resp)
        if isinstance(obj, Sym) and obj.kind == "header" and name in ("startswith", "endswith"):
            return Sym("header_pred", resp=obj.resp, name=obj.name, op=name,
                       value=args[0] if args else UNKNOWN)
        return UNKNOWN

    def begin(self, r, node):
        e = self.new_expect(r.sock, r.method)
        r.expect = e
        if e is None:
            return
        raising = self.expect_raise()
        e.head = ("refused", raising) if raising else "ok"

    def resp_call(self, r, name, args, node):
        if name == "begin":
            self.begin(r, node)
            return None
        e = r.expect
        if e is None:
            return UNKNOWN
        self.current = e
        if name in ("read", "read1", "readline", "peek"):
            amt = args[0] if args else None
            if amt == -1:
                amt = None
            if self.expect_raise():
                e.body_error = ("error", self.expect_raise())
                return UNKNOWN
            if "IncompleteRead" in self.catching:
                return UNKNOWN  # the read that raises; the handler says what came
            if name == "peek":
                e.body_unknown = True
                return UNKNOWN
            return Sym("read", resp=e, parts=[amt if known(amt) else UNKNOWN])
        if name == "readinto":
            buf = args[0] if args else UNKNOWN
            if isinstance(buf, Sym) and buf.kind == "buffer_view":
                buf = buf.buf
            if "IncompleteRead" in self.catching:
                return UNKNOWN
            if isinstance(buf, Obj) and buf.kind == "buffer":
                buf.pending = e
            return Sym("readinto", resp=e, buf=buf)
        if name == "readlines":
            return Sym("readlines", resp=e)
        if name == "getheader":
            if args and isinstance(args[0], str):
                return Sym("header", resp=e, name=args[0], mode="get",
                           default=args[1] if len(args) > 1 else kw_default(node))
            return UNKNOWN
        if name == "isclosed":
            return Sym("isclosed", resp=e)
        return UNKNOWN

    # assertions

    def assertion(self, name, node, ev):
        args = [ev.ev(a) for a in node.args]
        if name in ("assertRaises", "assertRaisesRegex"):
            if not node.args:
                return
            exc = exc_name(node.args[0])
            call_at = 2 if name == "assertRaisesRegex" else 1
            if len(node.args) <= call_at:
                return  # the context-manager form: handled by `with`
            target = args[call_at]
            self.raising.append(exc)
            try:
                if isinstance(target, Obj) and target.kind == "bound":
                    self.call(target, [ev.ev(a) for a in node.args[call_at + 1:]], {}, node, ev)
                elif isinstance(target, LocalFunc):
                    self.invoke(target, [], {})
            finally:
                self.raising.pop()
            return
        if name in ("assertEqual", "assertEquals") and len(args) >= 2:
            a, b = args[0], args[1]
            if isinstance(b, (Sym, Obj)) and not isinstance(a, (Sym, Obj)):
                a, b = b, a
            self.equal(a, b, node)
            return
        if name in ("assertIsNone", "assertIsNotNone") and args:
            v = args[0]
            if isinstance(v, Sym) and v.kind == "header":
                v.resp.headers.append(("absent" if name == "assertIsNone" else "present",
                                       v.name, None))
            elif isinstance(v, Sym):
                self.note(node, "assertion not mapped")
            return
        if name in ("assertTrue", "assertFalse") and args:
            v = args[0]
            if isinstance(v, Sym) and v.kind == "isclosed":
                if name == "assertTrue":
                    v.resp.complete = True
            elif isinstance(v, Sym) and v.kind == "header_pred":
                if name == "assertTrue":
                    v.resp.headers.append((v.op, v.name, v.value))
            elif isinstance(v, Sym) and v.kind == "sock_none":
                closed = (name == "assertTrue") != v.negate
                self.reuse(v.conn, not closed, node)
            elif isinstance(v, Sym):
                self.note(node, "assertion not mapped")
            return
        if name in ("assertIn", "assertNotIn") and len(args) >= 2:
            a, b = args[0], args[1]
            if name == "assertIn" and isinstance(b, Sym) and b.kind == "header" and \
                    isinstance(a, str):
                b.resp.headers.append(("contains", b.name, a))
            elif name == "assertIn" and isinstance(b, Sym) and b.kind == "msg" and \
                    isinstance(a, str):
                b.resp.headers.append(("present", a, None))
            elif name == "assertIn" and isinstance(b, Sym) and b.kind == "proxy_items" and \
                    isinstance(a, tuple) and len(a) == 2 and b.resp is not None:
                b.resp.headers.append(("has", a[0], a[1]))
            elif name == "assertIn" and isinstance(b, Sym) and b.kind == "debug_lines":
                self.debug_line(b.resp, a)
            elif isinstance(b, Sym) or isinstance(a, Sym):
                self.note(node, "assertion not mapped")
            return
        if any(isinstance(a, Sym) for a in args):
            self.note(node, "assertion not mapped")

    def debug_line(self, e, text):
        """A line of http.client's debuglevel output: `header: NAME: VALUE`."""
        if e is None or not isinstance(text, str):
            return
        m = re.fullmatch(r"header: ([^:]*): (.*)", text)
        if m:
            e.headers.append(("has", m.group(1), m.group(2)))

    def reuse(self, conn, reuse, node):
        sock = conn.attrs.get("sock")
        if isinstance(sock, Obj) and sock.expects:
            sock.expects[-1].reuse = reuse

    def equal(self, a, b, node):
        if not isinstance(a, (Sym, Obj)):
            return
        if isinstance(a, Obj):
            return  # the test's own objects (connection counters, closed flags)
        e = getattr(a, "resp", None)
        k = a.kind
        if k == "status" and isinstance(b, int):
            e.status = b
        elif k == "reason" and isinstance(b, str):
            e.reason = b
        elif k == "header":
            default = getattr(a, "default", None)
            if default is not None and (b == default or (
                    isinstance(default, (list, tuple)) and b == ", ".join(default))):
                e.headers.append(("absent", a.name, None))  # getheader gave the default
            else:
                e.headers.append((a.mode, a.name, b))
        elif k == "read" and isinstance(b, (bytes, bytearray)):
            e.chunks.append(bytes(b))
            amts = a.parts
            if any(p is None for p in amts) or (b == b"" and all(
                    isinstance(p, int) and p > 0 for p in amts)):
                e.complete = True
        elif k == "readlines" and isinstance(b, list) and all(isinstance(x, bytes) for x in b):
            e.chunks.append(b"".join(b))
        elif k == "readinto" and isinstance(b, int):
            if b == 0:
                e.chunks.append(b"")
                e.complete = True
                if isinstance(a.buf, Obj):
                    a.buf.pending = False
        elif k == "buffer_view" and isinstance(b, (bytes, bytearray)):
            buf = a.buf
            if isinstance(buf, Obj) and buf.pending:
                buf.pending.chunks.append(bytes(b))
                buf.pending = False
        elif k == "partial" and isinstance(b, (bytes, bytearray)):
            e.body_error = ("incomplete", bytes(b))
        elif k == "rest" and isinstance(b, (bytes, bytearray)):
            sock = a.sock
            if isinstance(sock, Obj) and sock.expects:
                sock.expects[-1].rest = bytes(b)
        elif k == "join" and isinstance(b, (bytes, bytearray)) and isinstance(e, Expect):
            e.whole = bytes(b)
        elif k == "sock_none" and isinstance(b, bool):
            closed = b != a.negate
            self.reuse(a.conn, not closed, node)
        elif k == "debug_line":
            self.debug_line(e, b)
        else:
            self.note(node, "assertion not mapped")

    # statements

    def block(self, stmts, scope):
        for s in stmts:
            r = self.stmt(s, scope)
            if r is not None:
                return r
        return None

    def stmt(self, s, scope):
        ev = Evaluator(scope, self)
        if isinstance(s, ast.Return):
            return ("return", ev.ev(s.value) if s.value is not None else None)
        if isinstance(s, ast.Assign):
            self.bind(ev, s.targets, ev.ev(s.value))
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.bind(ev, [s.target], ev.ev(s.value))
        elif isinstance(s, ast.AugAssign):
            ev.ev(s.value)
            if isinstance(s.target, ast.Name):
                scope.assign(s.target.id, UNKNOWN)
        elif isinstance(s, ast.Expr):
            v = ev.ev(s.value)
            if isinstance(v, Sym) and v.kind in ("read", "readlines"):
                v.resp.body_unknown = True  # data read and not looked at
        elif isinstance(s, ast.FunctionDef):
            scope.env[s.name] = LocalFunc(s, scope)
        elif isinstance(s, ast.Nonlocal):
            pass
        elif isinstance(s, ast.If):
            t = ev.ev(s.test)
            if isinstance(t, Sym) and t.kind in ("read", "readinto_nonzero") and \
                    self.fails(s.body):
                e = t.resp
                e.chunks.append(b"")
                e.complete = True
                if t.kind == "readinto_nonzero" and isinstance(t.buf, Obj):
                    t.buf.pending = False
            elif known(t) and not isinstance(t, Unknown):
                return self.block(s.body if t else s.orelse, scope)
            else:
                self.mark_loop(s, scope)
        elif isinstance(s, ast.For):
            it = ev.ev(s.iter)
            if known(it) or (isinstance(it, (tuple, list))):
                for item in it:
                    self.bind(ev, [s.target], item)
                    r = self.block(s.body, scope)
                    if r is not None:
                        return r
            else:
                self.mark_loop(s, scope)
        elif isinstance(s, ast.While):
            self.mark_loop(s, scope)
        elif isinstance(s, ast.With):
            return self.with_(s, scope)
        elif isinstance(s, ast.Try):
            return self.try_(s, scope)
        return None

    @staticmethod
    def fails(body):
        return len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Call) and isinstance(body[0].value.func, ast.Attribute) and \
            body[0].value.func.attr == "fail"

    def mark_loop(self, s, scope):
        """A loop or condition not walked: reads in it make the data read unknown (an
        assertion on b"".join(...) after it still gives the whole body)."""
        for n in ast.walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                    n.func.attr in ("read", "read1", "readline", "readinto", "peek"):
                if self.current is not None:
                    self.current.body_unknown = True
                return

    def with_(self, s, scope):
        ev = Evaluator(scope, self)
        pushed = 0
        for item in s.items:
            c = item.context_expr
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and \
                    isinstance(c.func.value, ast.Name) and c.func.value.id == "self" and \
                    c.func.attr in ("assertRaises", "assertRaisesRegex") and c.args:
                self.raising.append(exc_name(c.args[0]))
                pushed += 1
                if item.optional_vars is not None:
                    self.bind(ev, [item.optional_vars], UNKNOWN)
                continue
            v = ev.ev(c)
            if item.optional_vars is not None:
                self.bind(ev, [item.optional_vars], v)
        try:
            return self.block(s.body, scope)
        finally:
            for _ in range(pushed):
                self.raising.pop()

    def try_(self, s, scope):
        names = [exc_name(h.type) if h.type is not None else "Exception" for h in s.handlers]
        flat = [n for name in names for n in name.split("|")]
        self.catching.extend(flat)
        before = self.current
        try:
            r = self.block(s.body, scope)
        finally:
            del self.catching[len(self.catching) - len(flat):]
        if r is not None:
            return r
        e = self.current if self.current is not None else before
        for h, name in zip(s.handlers, names):
            if h.name:
                scope.env[h.name] = Obj("exc", resp=e) if "IncompleteRead" in name \
                    and isinstance(e, Expect) else UNKNOWN
            if "IncompleteRead" in name and isinstance(e, Expect) and e.body_error is None:
                e.body_error = ("incomplete", None)
            r = self.block(h.body, scope)
            if r is not None:
                return r
        return self.block(s.finalbody, scope)

    # a test

    def run_test(self, cls, name):
        self.self_obj = Obj("self", attrs={}, cls=cls)
        self.current = None
        self.test = "%s.%s" % (cls, name)
        method = self.module.method(cls, name)
        self.test_line = method.lineno
        for step in ("setUp", name):
            node = self.module.method(cls, step)
            if node is None:
                continue
            scope = Scope(self.module, {"self": self.self_obj}, None, self.self_obj, node)
            self.block(node.body, scope)


def kw_default(node):
    for k in node.keywords:
        if k.arg == "default" and isinstance(k.value, ast.Constant):
            return k.value.value
    return None


def client_constants(text):
    """http.client's module constants the tests use (_MAXHEADERS, _MAXLINE, ...)."""
    tree = ast.parse(text)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def httplib_cases(module):
    """The client-role cases of test_httplib.py."""
    fake_sockets = {n for n in module.classes if n == "FakeSocket" or
                    module.derives(n, "FakeSocket")}
    fake_conns = set()
    for n, node in module.classes.items():
        if "HTTPConnection" in module.bases(n) and any(
                isinstance(x, ast.Name) and x.id in fake_sockets for x in ast.walk(node)):
            fake_conns.add(n)
    if "FakeSocket" not in fake_sockets:
        raise ValueError("no class FakeSocket")
    walker = Walker(module, fake_sockets, fake_conns)
    for cls in module.classes:
        if not module.is_testcase(cls):
            continue
        tests = []
        for c in module.mro(cls):
            for node in module.classes[c].body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and \
                        node.name not in tests:
                    tests.append(node.name)
        for t in tests:
            walker.run_test(cls, t)
    never = sorted({s.line for s in walker.unread if not s.read and s.text})
    return [e for e in walker.expects if not e.empty()], never


# ------------------------------------------------------------- server-role tables


def send_error_statuses(func):
    out = []
    for n in ast.walk(func):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                n.func.attr == "send_error" and n.args:
            a = n.args[0]
            if isinstance(a, ast.Attribute):
                out.append(status_member(a.attr))
            elif isinstance(a, ast.Constant) and isinstance(a.value, int):
                out.append(a.value)
    return out


def before_parse(func):
    """send_error() statuses of a handle method before it calls parse_request()."""
    out = []
    for stmt in func.body if not isinstance(func.body[0], ast.Try) else func.body[0].body:
        if any(isinstance(n, ast.Attribute) and n.attr == "parse_request"
               for n in ast.walk(stmt)):
            break
        out += send_error_statuses(stmt)
    return out


def find_def(tree, cls, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and f.name == name:
                    return f
    raise ValueError("no %s.%s" % (cls, name))


def parser_statuses(server_text, simple_server_text):
    """The statuses http.server and wsgiref send for a request they could not read."""
    tree = ast.parse(server_text)
    statuses = set(send_error_statuses(find_def(tree, "BaseHTTPRequestHandler",
                                                "parse_request")))
    statuses |= set(before_parse(find_def(tree, "BaseHTTPRequestHandler",
                                          "handle_one_request")))
    statuses |= set(before_parse(find_def(ast.parse(simple_server_text), "WSGIRequestHandler",
                                          "handle")))
    statuses.discard(UNKNOWN)
    if not statuses:
        raise ValueError("no status found in parse_request()")
    return statuses


def wsgi_error(handlers_text):
    """wsgiref's BaseHandler.error_status and error_body."""
    tree = ast.parse(handlers_text)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "BaseHandler":
            vals = {}
            for s in node.body:
                if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                    try:
                        vals[s.targets[0].id] = ast.literal_eval(s.value)
                    except ValueError:
                        pass
            return int(vals["error_status"].split()[0]), vals["error_body"]
    raise ValueError("no BaseHandler")


class ClientWriter:
    """The bytes http.client's HTTPConnection writes for putrequest/putheader/endheaders
    and request(), as the server tests drive it (see the docstring)."""

    def __init__(self, consts, client_text):
        self.expecting_body = consts.get("_METHODS_EXPECTING_BODY", set())
        for piece in ("'Accept-Encoding', 'identity'", "self._http_vsn == 11",
                      "request = '%s %s %s' % (method, url, self._http_vsn_str)"):
            if piece not in client_text:
                raise ValueError("http/client.py changed: %r not found" % piece)
        self.vsn_str, self.vsn = consts.get("_http_vsn_str", "HTTP/1.1"), 11
        self.lines, self.sent = None, []

    def putrequest(self, method, url, skip_host=False, skip_accept_encoding=False):
        url = url or "/"
        self.lines = [("%s %s %s" % (method, url, self.vsn_str)).encode("ascii")]
        if self.vsn == 11:
            if not skip_host:
                self.putheader("Host", HOST_STAND_IN)
            if not skip_accept_encoding:
                self.putheader("Accept-Encoding", "identity")

    def putheader(self, name, *values):
        vals = [v.encode("latin-1") if isinstance(v, str) else str(v).encode("ascii")
                for v in values]
        self.lines.append(name.encode("ascii") + b": " + b"\r\n\t".join(vals))

    def endheaders(self):
        self.sent.append(b"\r\n".join(self.lines + [b"", b""]))
        self.lines = None

    def request(self, method, url, body=None, headers=None):
        headers = headers or {}
        names = {k.lower() for k in headers}
        self.putrequest(method, url, skip_host="host" in names,
                        skip_accept_encoding="accept-encoding" in names)
        if "content-length" not in names and "transfer-encoding" not in names:
            if body is None and method.upper() in self.expecting_body:
                self.putheader("Content-Length", "0")
            elif isinstance(body, (str, bytes)):
                self.putheader("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.putheader(k, v)
        self.endheaders()
        if isinstance(body, str):
            self.sent[-1] += body.encode("latin-1")
        elif isinstance(body, bytes):
            self.sent[-1] += body


STATUS_LINE = re.compile(rb"^HTTP/\S* (\d{3})(?:\s|$)")
LOG_LINE = re.compile(r'" (\d{3})(?:\s|$)')


class ServerHarvest:
    """The raw requests and expected statuses of test_httpservers.py and test_wsgiref.py
    (see the docstring): one test at a time, by scanning its statements."""

    def __init__(self, module, consts, client_text, statuses, wsgi_err):
        self.module, self.consts, self.client_text = module, consts, client_text
        self.statuses, self.wsgi_err = statuses, wsgi_err
        self.cases, self.unmapped = [], []

    def ev(self, node, scope):
        return Evaluator(scope).ev(node)

    def run(self):
        m = self.module
        for cls in m.classes:
            if not m.is_testcase(cls):
                continue
            for node in m.classes[cls].body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                    self.test(cls, node)

    def calls(self, fn):
        """(node, callee name, receiver source) of every call in fn, in source order."""
        out = []
        for n in ast.walk(fn):
            if isinstance(n, ast.Call):
                f = n.func
                if isinstance(f, ast.Attribute):
                    out.append((n, f.attr, self.module.source(f.value)))
                elif isinstance(f, ast.Name):
                    out.append((n, f.id, ""))
        return sorted(out, key=lambda x: (x[0].lineno, x[0].col_offset))

    def scope_for(self, cls, fn):
        """A scope with the test's simple local assignments (constants) bound."""
        scope = Scope(self.module, {"self": Obj("self", attrs={}, cls=cls)}, None, None, fn)
        for n in ast.walk(fn):
            if isinstance(n, ast.Assign) and len(n.targets) == 1 and \
                    isinstance(n.targets[0], ast.Name):
                v = Evaluator(scope).ev(n.value)
                if known(v) and isinstance(v, (bytes, str, int, tuple)):
                    scope.env[n.targets[0].id] = v
        return scope

    def inputs(self, cls, fn, scope):
        """The requests the test sends: [(bytes, line, how)], or a reason it is not mapped."""
        found = []
        calls = self.calls(fn)
        rfile_names = set()
        for n in ast.walk(fn):
            if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Attribute) and \
                    n.targets[0].attr == "rfile" and isinstance(n.value, ast.Name):
                rfile_names.add(n.value.id)
        handles = any(name == "handle_one_request" for _, name, _ in calls)
        for n, name, recv in calls:
            if name == "send_typical_request" and recv == "self" and n.args:
                found.append((self.ev(n.args[0], scope), n.lineno, "send_typical_request"))
            elif name == "run_amock":
                found.append((self.amock_data(n, scope), n.lineno, "run_amock"))
        if handles:
            for n in ast.walk(fn):
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and \
                        n.targets[0].id in rfile_names and isinstance(n.value, ast.Call) and \
                        isinstance(n.value.func, ast.Name) and n.value.func.id == "BytesIO" \
                        and n.value.args:
                    found.append((self.ev(n.value.args[0], scope), n.lineno,
                                  "rfile + handle_one_request"))
        con = self.con_requests(fn, scope)
        if isinstance(con, str):
            return con
        found += con
        return found

    def amock_data(self, n, scope):
        for k in n.keywords:
            if k.arg == "data":
                return self.ev(k.value, scope)
        if len(n.args) >= 2:
            return self.ev(n.args[1], scope)
        fn = self.module.funcs.get("run_amock")
        if fn is None:
            return UNKNOWN
        params = [a.arg for a in fn.args.args]
        defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
        return self.ev(defaults["data"], Scope(self.module)) if "data" in defaults else UNKNOWN

    def con_requests(self, fn, scope):
        """Requests written through self.con (http.client's low-level API)."""
        uses = [n for n in ast.walk(fn) if isinstance(n, ast.Attribute) and n.attr == "con"
                and isinstance(n.value, ast.Name) and n.value.id == "self"]
        if not uses:
            return []
        for n in ast.walk(fn):
            if isinstance(n, (ast.For, ast.While)) and any(
                    isinstance(x, ast.Attribute) and x.attr == "con" for x in ast.walk(n)):
                return "requests sent in a loop"
        writer = ClientWriter(self.consts, self.client_text)
        out = []
        for stmt in self.flat(fn.body):
            for n in ast.walk(stmt):
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Attribute) and \
                        self.module.source(n.targets[0].value) == "self.con":
                    v = self.ev(n.value, scope)
                    if n.targets[0].attr == "_http_vsn_str" and isinstance(v, str):
                        writer.vsn_str = v
                    elif n.targets[0].attr == "_http_vsn" and isinstance(v, int):
                        writer.vsn = v
                if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and
                        self.module.source(n.func.value) == "self.con"):
                    continue
                args = [self.ev(a, scope) for a in n.args]
                kw = {k.arg: self.ev(k.value, scope) for k in n.keywords}
                if not known(*args) or not known(*kw.values()):
                    return "arguments not understood at line %d" % n.lineno
                name = n.func.attr
                if name in ("putrequest", "putheader", "endheaders", "request"):
                    if name != "putrequest" and name != "request" and writer.lines is None:
                        return "putheader/endheaders without putrequest at line %d" % n.lineno
                    getattr(writer, name)(*args, **kw)
                    if name in ("endheaders", "request"):
                        out.append((writer.sent[-1], n.lineno, "self.con.%s" % name))
        return out

    def flat(self, stmts):
        """Statements in order, `with` bodies included."""
        for s in stmts:
            if isinstance(s, ast.With):
                yield from self.flat(s.body)
            else:
                yield s

    def helpers(self, cls, fn, seen=None):
        """fn and the helper methods of the class it calls (recursively)."""
        seen = seen if seen is not None else set()
        out = [fn]
        for n, name, recv in self.calls(fn):
            if recv == "self" and name not in seen and not name.startswith("assert") and \
                    name not in ("send_typical_request",):
                h = self.module.method(cls, name)
                if h is not None:
                    seen.add(name)
                    out += self.helpers(cls, h, seen)
        return out

    def expectations(self, cls, fn, scope):
        exp = {"status": [], "dispatched": None, "fields": {}, "headers": None}
        for f in self.helpers(cls, fn):
            hscope = scope if f is fn else Scope(self.module, {"self": Obj(
                "self", attrs={}, cls=cls)}, None, None, f)
            for n, name, recv in self.calls(f):
                if not name.startswith("assert"):
                    continue
                srcs = [self.module.source(a) for a in n.args]
                self.statuses_in(n, hscope, exp)
                for a in n.args:  # `match = PATTERN.search(line); assertIsNotNone(match)`
                    if isinstance(a, ast.Name):
                        for x in ast.walk(f):
                            if isinstance(x, ast.Assign) and len(x.targets) == 1 and \
                                    isinstance(x.targets[0], ast.Name) and \
                                    x.targets[0].id == a.id:
                                self.statuses_in(x.value, hscope, exp)
                if name in ("assertTrue", "assertFalse") and srcs and \
                        srcs[0].endswith(".get_called"):
                    exp["dispatched"] = name == "assertTrue"
                if name == "assertEqual" and len(n.args) == 2:
                    for i in (0, 1):
                        m = re.fullmatch(r"self\.handler\.(requestline|command|path|"
                                         r"request_version)", srcs[i])
                        if m:
                            v = self.ev(n.args[1 - i], hscope)
                            if isinstance(v, str):
                                exp["fields"][m.group(1)] = v
                        m = re.fullmatch(r"(?:res|response)\.status", srcs[i])
                        if m:
                            v = self.ev(n.args[1 - i], hscope)
                            if isinstance(v, int):
                                exp["status"].append((n.lineno, v))
                if name == "assertSequenceEqual" and srcs and \
                        srcs[0] == "self.handler.headers.items()":
                    v = self.ev(n.args[1], hscope)
                    if isinstance(v, tuple):
                        exp["headers"] = [tuple(x) for x in v]
        return exp

    def statuses_in(self, call, scope, exp):
        """Statuses named by the constants an assertion compares with (a status line, a
        log line, wsgiref's error body, a compiled status-line pattern)."""
        for n in ast.walk(call):
            v = None
            if isinstance(n, (ast.Constant, ast.BinOp, ast.List)):
                v = self.ev(n, scope)
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and \
                    n.value.id == "self":
                v = Evaluator(scope).attr(scope.lookup("self"), n.attr)
                if isinstance(v, re.Pattern):
                    v = v.pattern
            if isinstance(v, list) and v and isinstance(v[0], bytes):
                v = v[0]
            if isinstance(v, str):
                m = LOG_LINE.search(v)
                if m and isinstance(n, ast.Constant):
                    exp["status"].append((n.lineno, int(m.group(1))))
                    continue
                try:
                    v = v.encode("latin-1")
                except UnicodeEncodeError:
                    continue
            if isinstance(v, bytes):
                m = STATUS_LINE.match(v)
                if m:
                    exp["status"].append((n.lineno, int(m.group(1))))
                elif v == self.wsgi_err[1]:
                    exp["status"].append((n.lineno, self.wsgi_err[0]))
                elif self.module.key == "wsgiref" and isinstance(n, ast.Constant) and v \
                        and not v.startswith(b"HTTP/"):
                    exp["dispatched"] = exp["dispatched"] or "application output"

    def test(self, cls, fn):
        where = "%s:%d %s.%s" % (self.module.name, fn.lineno, cls, fn.name)
        scope = self.scope_for(cls, fn)
        found = self.inputs(cls, fn, scope)
        if isinstance(found, str):
            self.unmapped.append((where, found))
            return
        if not found:
            return
        if len(found) > 1:
            self.unmapped.append((where, "%d requests" % len(found)))
            return
        data, line, how = found[0]
        if isinstance(data, str):
            data = data.encode("latin-1")
        if not isinstance(data, bytes):
            self.unmapped.append((where, "request bytes not understood"))
            return
        exp = self.expectations(cls, fn, scope)
        finals = [s for _, s in sorted(set(exp["status"])) if not 100 <= s < 200]
        status = finals[-1] if finals else None
        if status is not None:
            verdict = "refused" if status in self.statuses else "accepted"
        elif exp["dispatched"]:
            verdict = "accepted"
        else:
            self.unmapped.append((where, "no status asserted (and no sign the handler ran)"))
            return
        self.cases.append({
            "file": self.module.name, "line": line, "test": "%s.%s" % (cls, fn.name),
            "test_line": fn.lineno, "how": how, "input": data, "verdict": verdict,
            "status": status, "dispatched": exp["dispatched"], "fields": exp["fields"],
            "headers": exp["headers"]})


# ------------------------------------------------------------------------ judging


def run(h1dump, role, method, data, split, timeout=120):
    """h1dump's output and None; or "" and the first lines of what h1dump said when it
    failed or did not finish (a bug of ours either way)."""
    try:
        return run_h1dump(h1dump, role, method, data, split, timeout), None
    except RuntimeError as failure:
        return "", [x.strip() for x in str(failure).splitlines() if x.strip()][:3]
    except subprocess.TimeoutExpired:
        return "", ["no answer within %d s (a hang)" % timeout]


def header_values(msg, name, hosted):
    vals = []
    for n, v in msg["headers"]:
        if hosted and (n, v) == HOST_FIELD:
            continue
        if n == name.lower().encode("latin-1"):
            vals.append(v.decode("latin-1"))
    return vals


def check_headers(ops, msg):
    diffs = []
    for op, name, value in ops:
        vals = [v.strip() for v in header_values(msg, name, False)]
        if op == "get":
            got = ", ".join(vals) if vals else None
            want = value
            if got != want and not (got is None and want is None):
                diffs.append("getheader(%r): CPython %r, ours %r" % (name, want, got))
        elif op == "first":
            got = vals[0] if vals else None
            if got != value:
                diffs.append("msg[%r]: CPython %r, ours %r" % (name, value, got))
        elif op == "present" and not vals:
            diffs.append("field %r: CPython has it, ours not" % name)
        elif op == "absent" and vals:
            diffs.append("field %r: CPython has none, ours %r" % (name, vals))
        elif op == "has" and value.strip() not in vals:
            diffs.append("field %r: CPython %r, ours %r" % (name, value, vals))
        elif op in ("startswith", "endswith"):
            if not vals or not getattr(", ".join(vals), op)(value):
                diffs.append("field %r %s %r: ours %r" % (name, op, value, vals))
        elif op == "contains":
            if not vals or value not in ", ".join(vals):
                diffs.append("field %r contains %r: ours %r" % (name, value, vals))
    return diffs


def describe(ev, first):
    msgs = ev["msgs"]
    parts = []
    for m in msgs[:3]:
        if m["kind"] == "request":
            parts.append("request %s %s HTTP/%s" % (m["method"], m["target"].decode(
                "latin-1")[:60], m["version"]))
        else:
            parts.append("%s %d %r HTTP/%s" % (m["kind"], m["status"], m["reason"],
                                                 m["version"]))
        if m["body"]:
            parts.append("body %r" % m["body"][:60])
    if len(msgs) > 3:
        parts.append("... %d messages" % len(msgs))
    if not msgs:
        parts.append("no message")
    if ev["switch_at"] is not None:
        parts.append("switched at %d" % ev["switch_at"])
    parts.append("first message %s" % ("ended" if first["ended"] else "not ended"))
    if ev["failure"]:
        parts.append("then %s: %s" % ("end of input" if ev["eof"] else "error", ev["failure"]))
    return "ours: " + ", ".join(parts)


def check_client(h1dump, e, data, first, ev, resp, late):
    """Differences between what one test expects (Expect) and our output."""
    diffs = []
    ended = first["ended"]
    if e.tunnel is not None:
        if resp is None:
            return ["CPython reads CONNECT's reply (status line and fields); ours: none (%s)"
                    % (first["failure"] or "no response")]
        switched = ev["switch_at"] is not None
        if e.tunnel and not (resp["status"] == 200 and switched):
            diffs.append("CPython: tunnel established (200); ours: status %d, %s" % (
                resp["status"], "switched" if switched else "not switched"))
        if not e.tunnel and (resp["status"] == 200 or switched):
            diffs.append("CPython refuses the tunnel (status not 200); ours: status %d%s" % (
                resp["status"], ", switched" if switched else ""))
        return diffs + check_headers(e.headers, resp)
    if isinstance(e.head, tuple):
        if resp is not None:
            diffs.append("CPython raises %s before the response; ours delivers %d %r" % (
                e.head[1], resp["status"], resp["reason"]))
        elif late == "accepted":
            diffs.append("CPython raises %s; ours refuses only because the input ends "
                         "inside the head, and accepts it once the head is ended" % e.head[1])
        return diffs
    if resp is None:
        return ["CPython reads the head; ours does not deliver it (%s)" % (
            first["failure"] or "no response")]
    if e.status is not None and e.status != resp["status"]:
        diffs.append("status: CPython %d, ours %d" % (e.status, resp["status"]))
    if e.reason is not None and e.reason != resp["reason"].decode("latin-1").strip():
        diffs.append("reason: CPython %r, ours %r" % (e.reason, resp["reason"]))
    diffs += check_headers(e.headers, resp)
    body = resp["body"]
    if e.body_error:
        kind, partial = e.body_error
        raised = "IncompleteRead" if kind == "incomplete" else partial
        if ended:
            diffs.append("CPython: read() raises %s%s; ours: the response ends, body %r" % (
                raised, " after %r" % partial if kind == "incomplete" and partial is not None
                else "", body[:80]))
        elif not first["failure"]:
            diffs.append("CPython: the body fails; ours neither ends nor refuses it")
        elif kind == "incomplete" and partial is not None and body != partial:
            diffs.append("data before the failure: CPython %r, ours %r" % (partial, body))
        return diffs
    if e.whole is not None:
        if not ended or body != e.whole:
            diffs.append("body read to its end: CPython %r, ours %r%s" % (
                e.whole, body, "" if ended else " (not ended: %s)" % first["failure"]))
    elif e.chunks and not e.body_unknown:
        got = b"".join(e.chunks)
        if e.complete:
            if not ended or body != got:
                diffs.append("body read to its end: CPython %r, ours %r%s" % (
                    got, body, "" if ended else " (not ended: %s)" % first["failure"]))
        elif not body.startswith(got):
            diffs.append("body read so far: CPython %r, ours %r" % (got, body))
    elif e.complete and not ended:
        diffs.append("CPython reads the response to its end; ours: %s" % first["failure"])
    if e.rest is not None:
        if not data.endswith(e.rest):
            diffs.append("bytes left after the response (%r) are not the input's end" % e.rest)
        else:
            cut = data[:len(data) - len(e.rest)]
            out, _ = run(h1dump, "client", e.method, cut, 0)
            cev = read_events(out, cut)
            if not (cev["msgs"] and read_events(out, cut, first_only=True)["ended"]
                    and not cev["failure"]):
                diffs.append("CPython leaves %r unread after the response; ours, without "
                             "those bytes: %s" % (e.rest, describe(cev, read_events(
                                 out, cut, first_only=True))))
    if e.reuse is not None:
        if not ended:
            diffs.append("connection reuse not tested: the response does not end")
        else:
            probe = data + PROBE_RESPONSE
            out, _ = run(h1dump, "client", e.method, probe, 0)
            finals = [m for m in read_events(out, probe)["msgs"] if m["kind"] == "response"]
            kept = len(finals) >= 2 and finals[1]["status"] == 204
            if kept != e.reuse:
                diffs.append("connection: CPython %s, ours %s" % (
                    "reuses it" if e.reuse else "closes it",
                    "reuses it (a 204 after it is read)" if kept else
                    "closes it (a 204 after it is not read)"))
    return diffs


def judge_client(h1dump, case):
    data = case["input"]
    whole, crash = run(h1dump, "client", case["method"], data, 0)
    bytewise, crash1 = run(h1dump, "client", case["method"], data, 1)
    ev = read_events(whole, data)
    first = read_events(whole, data, first_only=True)
    finals = [m for m in first["msgs"] if m["kind"] == "response"]
    resp = finals[0] if finals else None
    late = None
    if resp is None and first["eof"] and "head" in first["eof"]:
        out, _ = run(h1dump, "client", case["method"], h1dump_io.end_head(data), 0)
        probe = read_events(out, data, first_only=True)
        late = probe["error"] or ("accepted" if [
            m for m in probe["msgs"] if m["kind"] == "response"] else "no response")
    diffs = []
    for e in case["expects"]:
        for d in check_client(h1dump, e, data, first, ev, resp, late) if not (crash or crash1) \
                else ["h1dump failed"]:
            diffs.append("%s (line %d): %s" % (e.test, e.test_line, d))
    return {"agree": not diffs, "late": late, "ours": describe(ev, first) if not crash else
            "h1dump FAILED: %s" % " / ".join(crash), "diffs": diffs, "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None,
            "status_hint": None, "note": None}


def judge_server(h1dump, case, data, hosted):
    whole, crash = run(h1dump, "server", None, data, 0)
    bytewise, crash1 = run(h1dump, "server", None, data, 1)
    ev = read_events(whole, data)
    first = read_events(whole, data, first_only=True)
    reqs = [m for m in first["msgs"] if m["kind"] == "request"]
    diffs, late, note = [], None, None
    hint = None
    m = re.search(r"\((\d{3})\)$", first["failure"] or "")
    if m:
        hint = int(m.group(1))
    if not reqs and first["eof"] and "head" in first["eof"]:
        out, _ = run(h1dump, "server", None, h1dump_io.end_head(data), 0)
        probe = read_events(out, data, first_only=True)
        late = probe["error"] or ("accepted" if [
            x for x in probe["msgs"] if x["kind"] == "request"] else "no request")
    if crash or crash1:
        agree = False
    elif case["verdict"] == "accepted":
        agree = bool(reqs) and first["ended"]
        if reqs:
            r = reqs[0]
            f = case["fields"]
            want = {"command": f.get("command"), "path": f.get("path"),
                    "request_version": f.get("request_version")}
            if "requestline" in f:
                parts = f["requestline"].split()
                if len(parts) == 3:
                    want = {"command": parts[0], "path": parts[1], "request_version": parts[2]}
            got = {"command": r["method"], "path": r["target"].decode("latin-1"),
                   "request_version": "HTTP/" + r["version"]}
            for k, v in want.items():
                if v is not None and v != got[k]:
                    diffs.append("%s: CPython %r, ours %r" % (k, v, got[k]))
            if case["headers"] is not None:
                ours = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in r["headers"]
                        if not (hosted and (n, v) == HOST_FIELD)]
                theirs = [(n.lower(), v) for n, v in case["headers"]]
                if ours != theirs:
                    diffs.append("fields: CPython %r, ours %r" % (theirs, ours))
            agree = agree and not diffs
    else:
        agree = not reqs and bool(first["failure"])
        if late is not None:
            agree = late not in ("accepted", "no request") and "missing Host" not in late
        elif agree and case["status"] and hint and hint != case["status"] and not first["eof"]:
            note = "status: CPython %d, ours %d" % (case["status"], hint)
    return {"agree": bool(agree), "late": late, "ours": describe(ev, first) if not crash else
            "h1dump FAILED: %s" % " / ".join(crash), "diffs": diffs, "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None,
            "status_hint": hint, "note": note}


# What http.client and http.server read on purpose beyond the RFC grammar, shown with a
# disagreement whose input matches the pattern and whose our-side text (what we did) contains
# the given words.
CPYTHON_NOTES = [
    (rb"(?:^|[^\r])\n", "bare LF",
     "bare LF line ends: http.client and http.server read lines with readline() and strip "
     "CRLF or LF alike (RFC 9112 §2.2: a recipient MAY accept a bare LF; the core refuses, "
     "deliberately)"),
    (rb"^HTTP/[^\r\n]*\Z", "middle of a response head",
     "a status line ended by the end of input: http.client takes what readline() returns at "
     "EOF as the line and the missing header section as empty (RFC 9112 §8: the message is "
     "incomplete)"),
    (rb"^HTTP/[^\r\n]*\r\n(?:[^\r\n]+\r\n)+\Z", "middle of a response head",
     "a header section ended by the end of input: http.client's parse_headers() stops at EOF "
     "as at the empty line (RFC 9112 §8: the message is incomplete)"),
    (rb"\r\n:", "invalid header field name",
     "a field line with an empty name: http.client's email-based header parser keeps it as a "
     "defect and goes on (RFC 9110 §5.1: field-name = token, one tchar at least)"),
    (rb"\nContent-Length: *-", "invalid Content-Length",
     "an invalid Content-Length: http.client ignores it and reads until the close (RFC 9112 "
     "§6.3(5): an unrecoverable error; a user agent MUST close and discard the response)"),
    (rb"\nContent-Length: *\d+\r\n\r\n", "peer closed connection",
     "a body shorter than its Content-Length: HTTPResponse.read(amt) returns b'' at EOF "
     "without IncompleteRead, which only read() raises (RFC 9112 §8: incomplete; §6.3: the "
     "recipient MUST consider the message incomplete and close)"),
    (rb"\r\n0\r\n\Z", "trailer section",
     "a chunked body that ends with the last chunk but not the trailer section's CRLF: "
     "http.client stops reading trailers at EOF (RFC 9112 §7.1 grammar needs the CRLF; §8 "
     "calls a chunked body incomplete only when the last chunk is missing)"),
    (rb"(?i)^HTTP/1\.0 [^\r\n]*\r\n(?:[^\r\n]*\r\n)*connection: keep-alive", "closes it",
     "http.client honours keep-alive in an HTTP/1.0 response (RFC 9112 §9.3: MAY); the core "
     "ends the connection after every HTTP/1.0 response (deliberate)"),
    (rb"^[!-~]+ [!-~]+ HTTP/0\.9\r?\n", "505",
     "http.server answers an HTTP/0.9 request with a body alone; the core refuses every "
     "major version but 1 (505, RFC 9110 §15.6.6; deliberate)"),
    (rb"^[!-~]+ [!-~]+ ?\r?\n", "",
     "http.server reads a request line of two words as HTTP/0.9 (GET only) and then reads "
     "no header section; RFC 9112 §3 requires the version"),
    (rb"^[!-~]+ [^ \r\n]*[\x80-\xff]", "",
     "http.server passes bytes >= 0x80 of the target on (as Latin-1); RFC 9112 §3.2: the "
     "request-target is visible ASCII (400)"),
    (rb"^[^\r\n]+\Z", "middle of a request head",
     "a request line ended by the end of input: http.server takes what readline() returns at "
     "EOF as the line"),
    (rb"(?s)^(?!.*\n[Hh][Oo][Ss][Tt]:)[!-~]+ [!-~]+ HTTP/1\.1\r?\n", "missing Host",
     "http.server does not check Host; RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 "
     "request without one"),
]


def cpython_notes(data, ours):
    out = []
    for pattern, our_words, text in CPYTHON_NOTES:
        if re.search(pattern, data) and our_words in ours and text not in out:
            out.append(text)
    return out


def show_input(b, limit=300):
    """An input as a Python bytes expression; a long one with its long runs of one byte
    written as multiplications."""
    if len(b) <= limit:
        return repr(b)
    pieces, i, lit = [], 0, b""
    while i < len(b):
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        if j - i >= 16:
            if lit:
                pieces.append(repr(lit))
                lit = b""
            pieces.append("%r * %d" % (b[i:i + 1], j - i))
        else:
            lit += b[i:j]
        i = j
    if lit:
        pieces.append(repr(lit))
    text = " + ".join(pieces)
    return text if len(text) <= 4 * limit else repr(b[:limit]) + " ... (%d bytes)" % len(b)


# ---------------------------------------------------------------------------- main


def build_client_cases(expects, name):
    cases = {}
    for e in expects:
        key = (e.method, e.input)
        c = cases.setdefault(key, {"file": name, "role": "client", "method": e.method,
                                   "input": e.input, "expects": [], "sites": set(),
                                   "tests": []})
        c["sites"].add(e.site)
        sig = (e.test, e.signature())
        if sig not in {(x.test, x.signature()) for x in c["expects"]}:
            c["expects"].append(e)
        if (e.test, e.test_line) not in c["tests"]:
            c["tests"].append((e.test, e.test_line))
    out = []
    for c in cases.values():
        c["line"] = min(c["sites"])
        out.append(c)
    return sorted(out, key=lambda c: (c["line"], c["method"], c["input"]))


def build_server_cases(harvested):
    cases = {}
    for h in harvested:
        key = (h["file"], h["input"])
        c = cases.get(key)
        if c is None:
            c = cases[key] = dict(h, role="server", method=None, sites={h["line"]},
                                  tests=[(h["test"], h["test_line"])], statuses=[h["status"]],
                                  verdicts={h["verdict"]})
        else:
            c["sites"].add(h["line"])
            c["tests"].append((h["test"], h["test_line"]))
            c["statuses"].append(h["status"])
            c["verdicts"].add(h["verdict"])
            for k in ("fields",):
                c[k] = dict(c[k], **h[k])
            if h["headers"] is not None:
                c["headers"] = h["headers"]
    out = []
    for c in cases.values():
        if len(c["verdicts"]) > 1:
            c["verdict"] = "conflicting"
        c["line"] = min(c["sites"])
        out.append(c)
    return sorted(out, key=lambda c: (c["file"], c["line"]))


def cpython_says(c):
    if c["role"] == "server":
        sts = sorted({s for s in c["statuses"] if s is not None})
        return "%s%s" % ("reads the request" if c["verdict"] == "accepted" else
                         "refuses the request", " (status %s)" % ", ".join(map(str, sts))
                         if sts else " (the handler ran)")
    parts = []
    for e in c["expects"]:
        if e.tunnel is not None:
            what = "CONNECT reply %s%s" % ("accepted: tunnel" if e.tunnel else
                                           "read, tunnel refused (OSError)", "".join(
                                               ", %s %s %r" % h for h in e.headers))
        elif isinstance(e.head, tuple):
            what = "begin() raises %s" % e.head[1]
        else:
            bits = ["head read"]
            if e.status is not None:
                bits.append("status %d" % e.status)
            if e.reason is not None:
                bits.append("reason %r" % e.reason)
            for op, n, v in e.headers:
                bits.append("%s %s%s" % (op, n, "" if v is None else " %r" % v))
            if e.body_error:
                bits.append("read() raises %s%s" % (
                    "IncompleteRead" if e.body_error[0] == "incomplete" else e.body_error[1],
                    " after %r" % e.body_error[1][:60] if e.body_error[0] == "incomplete"
                    and e.body_error[1] is not None else ""))
            elif e.whole is not None:
                bits.append("body %r (to its end)" % e.whole[:60])
            elif e.chunks and not e.body_unknown:
                bits.append("body %r%s" % (b"".join(e.chunks)[:60],
                                           " (to its end)" if e.complete else " (so far)"))
            elif e.complete:
                bits.append("read to its end")
            if e.rest is not None:
                bits.append("%r left unread" % e.rest)
            if e.reuse is not None:
                bits.append("connection %s" % ("reused" if e.reuse else "closed"))
            what = ", ".join(bits)
        parts.append("%s: %s" % (e.test.split(".")[-1], what))
    return "; ".join(parts)


def main():
    ap = h1dump_io.corpus_arguments(__doc__, (
        "cpython", "CPython checkout, bare git directory, or installed standard library"))
    ap.add_argument("--notes", action="store_true",
                    help="list the assertions that were not mapped, case by case")
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = CPython(args.cpython, args.rev)
    texts = {}
    for key in FILES:
        try:
            texts[key] = src.read(key)
        except (subprocess.CalledProcessError, OSError, UnicodeDecodeError) as err:
            SKIPPED.append("%s: %s" % (FILES[key], type(err).__name__))
    client_consts = client_constants(texts["client"]) if "client" in texts else {}

    cases, unmapped, never = [], [], []
    if "httplib" in texts:
        try:
            module = Module("httplib", "test_httplib.py", texts["httplib"], client_consts)
            expects, never = httplib_cases(module)
            cases += build_client_cases(expects, "test_httplib.py")
        except (ValueError, SyntaxError, KeyError) as err:
            SKIPPED.append("test_httplib.py: %s" % err)
    try:
        statuses = parser_statuses(texts["server"], texts["simple_server"])
        wsgi_err = wsgi_error(texts["handlers"])
    except (KeyError, ValueError, SyntaxError) as err:
        statuses = None
        SKIPPED.append("server tables: %s" % err)
    harvested = []
    if statuses is not None:
        for key, name in (("httpservers", "test_httpservers.py"),
                          ("wsgiref", "test_wsgiref.py")):
            if key not in texts:
                continue
            try:
                h = ServerHarvest(Module(key, name, texts[key], client_consts), client_consts,
                                  texts["client"], statuses, wsgi_err)
                h.run()
                harvested += h.cases
                unmapped += h.unmapped
            except (ValueError, SyntaxError, KeyError) as err:
                SKIPPED.append("%s: %s" % (name, err))
    cases += build_server_cases(harvested)

    results = []
    for c in cases:
        if c["role"] == "client":
            plain = judge_client(h1dump, c)
            hosted, points = plain, []
        else:
            plain = judge_server(h1dump, c, c["input"], False)
            fed, points = h1dump_io.add_host(c["input"], HOST)
            hosted = judge_server(h1dump, c, fed, True) if points else plain
        results.append({"case": c, "plain": plain, "hosted": hosted, "host_added": bool(points)})

    commit = src.commit()
    hint = src.version_hint()
    print("CPython: %s (%s, %s%s)" % (commit, args.cpython, src.layout,
                                       ", PY_VERSION %s" % hint if hint else
                                       "" if src.layout == "installed standard library"
                                       else " at %s" % args.rev))
    if statuses is not None:
        print("http.server's parser statuses (refusals): %s" % ", ".join(
            map(str, sorted(statuses))))
    for s in SKIPPED:
        print("SKIPPED (not read): %s" % s)
    print()
    broken = []
    for r in results:
        for which in ("plain", "hosted") if r["host_added"] else ("plain",):
            j = r[which]
            if j["crash"] or not j["split_consistent"]:
                broken.append((r["case"], which, j))
    if broken:
        print("BUGS OF OURS: h1dump failed, hung, or gave other output byte by byte than "
              "whole, in %d run(s):" % len(broken))
        for c, which, j in broken:
            print("  %s:%s (%s)" % (c["file"], ", ".join(map(str, sorted(c["sites"]))),
                                    "as is" if which == "plain" else "Host supplied"))
            print("    input: %s" % show_input(c["input"]))
            if j["crash"]:
                print("    h1dump failed: %s" % " | ".join(j["crash"]))
                continue
            for label, out in (("whole", j["whole"]), ("split 1", j["bytewise"])):
                for k, line in enumerate(out.splitlines() or ["(nothing)"]):
                    print("    %-8s %s" % (label + ":" if k == 0 else "", line))
        print()

    print("disagreements (as is; [host] = agrees once a Host field is supplied)%s:" % (
        " and agreements" if args.verbose else ""))
    for r in results:
        c, p, h = r["case"], r["plain"], r["hosted"]
        quiet = p["agree"] and h["agree"] and not p["note"] and not p["late"]
        if quiet and not args.verbose and not args.notes:
            continue
        lines = ", ".join(str(x) for x in sorted(c["sites"]))
        print("  %s %s:%s [%s%s]" % (h1dump_io.mark(p, h), c["file"], lines, c["role"],
                                     ", --method %s" % c["method"] if c["method"] and
                                     c["method"] != "GET" else ""))
        print("      tests: %s" % ", ".join("%s (%d)" % t for t in c["tests"]))
        if quiet and not args.notes:
            continue
        print("      input: %s" % show_input(c["input"]))
        print("      cpython: %s" % cpython_says(c))
        if not quiet:
            h1dump_io.print_ours(p, h, r["host_added"])
            if p["note"]:
                print("      note: %s" % p["note"])
            if not (p["agree"] and h["agree"]):
                for text in cpython_notes(c["input"], " ".join(
                        [p["ours"], p["late"] or ""] + p["diffs"])):
                    print("      CPython: %s" % text)
        if args.notes and c["role"] == "client":
            for e in c["expects"]:
                for n in e.notes:
                    print("      not mapped (%s): %s" % (e.test, n))
    print()
    if unmapped:
        print("server-role tests not mapped (%d):" % len(unmapped))
        for where, why in unmapped:
            print("  %s: %s" % (where, why))
        print()
    if never:
        print("test_httplib.py: FakeSocket texts never read as a response (sockets the "
              "tests write requests to): %d, at lines %s" % (
                  len(never), ", ".join(map(str, never))))
        print()

    print("%-22s %6s %7s %14s %16s" % ("file", "cases", "tests", "as is", "Host supplied"))

    def row(label, rows):
        t = sum(len(r["case"]["tests"]) for r in rows)
        print("%-22s %6d %7d %s" % (label, len(rows), t, h1dump_io.agreement(rows)))

    for name in ("test_httplib.py", "test_httpservers.py", "test_wsgiref.py"):
        row(name, [r for r in results if r["case"]["file"] == name])
    row("all", results)
    notes = sum(1 for r in results if r["plain"]["note"])
    print("(tests: test methods reading the cases' inputs; a status hint of ours other than "
          "CPython's status, not counted: %d)" % notes)
    h1dump_io.print_consistency(results)
    if args.json:
        out = []
        for r in results:
            c = r["case"]
            item = {"file": c["file"], "lines": sorted(c["sites"]), "role": c["role"],
                    "method": c["method"], "tests": c["tests"],
                    "input": c["input"].decode("latin-1"), "cpython": cpython_says(c),
                    "host_added": r["host_added"]}
            for k in ("plain", "hosted"):
                j = dict(r[k])
                j.pop("whole", None)
                item[k] = j
            out.append(item)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=repr)
    return 1 if broken or SKIPPED else 0


if __name__ == "__main__":
    sys.exit(main())
