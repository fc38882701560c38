#!/usr/bin/env python3
"""Run Apache Tomcat's HTTP/1.1 request-parsing tests through h1dump and count where the
core agrees.

    cargo build --example h1dump
    python3 benches/conformance/tomcat_corpus.py TOMCAT [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

TOMCAT is a Tomcat checkout (a directory with test/org/apache/coyote/http11/) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the Java files below are read at run time and their test methods replayed by
a small interpreter of the Java they use (string concatenation, `CR`/`LF`/`CRLF`,
`(char) N`, the ternary, `for` loops over ints and char arrays with `continue`, calls of
the test class's own helpers with their arguments bound, `new`-ing the test's client
classes and running their constructors and `doRequest()`, StringBuilder, lists):

  coyote/http11/TestHttp11InputBuffer.java      the SimpleHttpClient tests: the request
            written (`request[N] = ...`, `setRequest(...)`) and the `isResponseNNN()` that
            is asserted; for the Bug51557 client (whose servlet echoes the values of the
            field under test, then of `X-Bug51557`), the `assertEquals(..., getResponseBody())`
            too, compared with the same values of ours.
  coyote/http11/TestHttp11InputBufferCRLF.java  the Parameterized requests: valid (a
            response whose body is the servlet's "OK") or not (400, or the connection reset
            before the request was all written). Tomcat sends each request whole, split at
            every LF and one char at a time (addRequestWithSplits); those are one case here
            ("parameters() request N", N counting requests, not Tomcat's parameter sets),
            as every case is fed whole and byte by byte anyway.
  coyote/http11/TestHttp11Processor.java        the same shape as the first file.
  tomcat/util/http/parser/TestHttpParserHost.java  each Host value of the parameter list,
            valid (no exception) or not (IllegalArgumentException, which Http11Processor
            answers with 400), sent as `GET / HTTP/1.1\\r\\nHost: VALUE\\r\\n\\r\\n`.

The String constants the requests use from other classes (SimpleHttpClient's, and the
Globals one they are built from) are read from test/org/apache/catalina/startup/
SimpleHttpClient.java and java/org/apache/catalina/Globals.java.

A test method is a case for each request it sends that has a status asserted with
`Assert.assertTrue(...isResponseNNN())` (on a path the interpreter can follow). Methods the
interpreter cannot follow (requests built from sockets, pipelined pieces, response-side
tests), and requests with no asserted status, are listed as not run, with the reason; a
method the interpreter loses after its asserted request (a loop over the response's
headers, say) keeps that request, and is listed as followed in part.
A status that the application (the servlet) decides, not the connector, is not counted
(listed). Where the test sets a connector property first, the case is marked with it.

How a verdict maps to ours (each input whole and with --split 1, then the end of input):

  2xx       we deliver the first request and it ends with no error before it; the asserted
            body values of the Bug51557 tests match.
  4xx, 5xx  (400, 417, 501, 505) we deliver no request: an error before it (or the end of
            input inside the head, judged once the head is ended with CRLF CRLF). A refusal
            with another status is listed, not counted as a disagreement.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; the added field is left out of the comparison).
Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any
case where either happens is listed first, as a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events  # noqa: E402

D11 = "test/org/apache/coyote/http11/"
FILES = [D11 + "TestHttp11InputBuffer.java", D11 + "TestHttp11InputBufferCRLF.java",
         D11 + "TestHttp11Processor.java",
         "test/org/apache/tomcat/util/http/parser/TestHttpParserHost.java"]
HOST = b"Host: tomcat.invalid\r\n"
HOST_FIELD = (b"host", b"tomcat.invalid")
PORT = 8080  # getPort(), tomcat.getConnector().getLocalPort()
# statuses the connector decides (anything else asserted is the servlet's answer)
CONNECTOR_STATUS = {200, 400, 417, 501, 505}


class Corpus(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, D11)


class Skip(Exception):
    pass


# ------------------------------------------------------------------------- Java lexer

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<chr>'(?:[^'\\\n]|\\.|\\u[0-9a-fA-F]{4})')
  | (?P<num>0[xX][0-9a-fA-F]+|\d+[lL]?)
  | (?P<id>[A-Za-z_$][A-Za-z_$0-9]*)
  | (?P<p>==|!=|<=|>=|&&|\|\||\+\+|--|\+=|->|::|[-+*/%<>=!?:;,.(){}\[\]@&|^~])
""", re.S | re.X)

ESC = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "0": "\0", "\\": "\\",
       "'": "'", '"': '"', "s": " "}


def unescape(s):
    s = re.sub(r"\\u+([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            if m:
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
                continue
            out.append(ESC[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokenize(src):
    toks, pos, line = [], 0, 1
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            raise ValueError("cannot tokenize at line %d: %r" % (line, src[pos:pos + 20]))
        kind, text = m.lastgroup, m.group(0)
        if kind == "str":
            toks.append(("str", unescape(text[1:-1]), line))
        elif kind == "chr":
            toks.append(("chr", unescape(text[1:-1]), line))
        elif kind == "num":
            toks.append(("num", int(text.rstrip("lL"), 0), line))
        elif kind in ("id", "p"):
            toks.append((kind, text, line))
        line += text.count("\n")
        pos = m.end()
    return toks


OPEN = {"(": ")", "[": "]", "{": "}"}


def close_of(toks, i):
    """The index of the bracket closing toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        v = toks[j][1] if toks[j][0] == "p" else None
        if v in OPEN:
            depth += 1
        elif v in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced at line %d" % toks[i][2])


def split_top(toks, sep):
    """toks split at the top-level punctuation `sep`."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t[0] == "p" and t[1] in OPEN:
            depth += 1
        elif t[0] == "p" and t[1] in (")", "]", "}"):
            depth -= 1
        if depth == 0 and t[0] == "p" and t[1] == sep:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    parts.append(cur)
    return parts


class JClass:
    def __init__(self, name, outer):
        self.name, self.outer = name, outer
        self.methods = {}     # name -> [(params, body, line)]
        self.fields = []      # token lists of field declarations
        self.classes = {}
        self.extends = None


def parse_class(toks, i, name, outer):
    """The class whose body opens at toks[i] ('{')."""
    cls = JClass(name, outer)
    end = close_of(toks, i)
    j, stmt = i + 1, []
    while j < end:
        t = toks[j]
        if t[0] == "p" and t[1] == "@":
            j += 2  # annotation name
            while j < end and toks[j][1] == ".":
                j += 2
            if j < end and toks[j][1] == "(":
                j = close_of(toks, j) + 1
            continue
        if t[0] == "id" and t[1] in ("class", "interface", "enum") and \
                (not stmt or all(s[0] == "id" for s in stmt)):
            cname, ext = toks[j + 1][1], None
            k = j + 2
            while toks[k][1] != "{":
                if toks[k][1] == "extends":
                    ext = toks[k + 1][1]
                k += 1
            sub = parse_class(toks, k, cname, cls)
            sub.extends = ext
            cls.classes[cname] = sub
            j = close_of(toks, k) + 1
            stmt = []
            continue
        if t[0] == "p" and t[1] == "(" and stmt and stmt[-1][0] == "id" and \
                not any(s[1] == "=" for s in stmt):
            mname, line = stmt[-1][1], stmt[-1][2]
            pe = close_of(toks, j)
            params = [p[-1][1] for p in split_top(toks[j + 1:pe], ",") if p]
            k = pe + 1
            while toks[k][1] not in ("{", ";"):
                k += 1
            if toks[k][1] == "{":
                be = close_of(toks, k)
                cls.methods.setdefault(mname, []).append((params, toks[k + 1:be], line))
                j = be + 1
            else:
                j = k + 1
            stmt = []
            continue
        if t[0] == "p" and t[1] == "{" and not stmt:  # initializer block
            j = close_of(toks, j) + 1
            continue
        if t[0] == "p" and t[1] in OPEN:
            e = close_of(toks, j)
            stmt.extend(toks[j:e + 1])
            j = e + 1
            continue
        if t[0] == "p" and t[1] == ";":
            if any(s[1] == "=" for s in stmt):
                cls.fields.append(stmt)
            stmt = []
            j += 1
            continue
        stmt.append(t)
        j += 1
    return cls


def parse_file(src):
    toks = tokenize(src)
    for i, t in enumerate(toks):
        if t[:2] == ("id", "class"):
            k = i + 2
            while toks[k][1] != "{":
                k += 1
            return parse_class(toks, k, toks[i + 1][1], None)
    raise ValueError("no class")


def test_methods(src):
    """(name, line) of the @Test methods, in file order."""
    out = []
    toks = tokenize(src)
    for i in range(len(toks) - 4):
        if toks[i][1] == "@" and toks[i + 1][1] == "Test":
            j = i + 2
            if toks[j][1] == "(":
                j = close_of(toks, j) + 1
            while toks[j + 1][1] != "(":
                j += 1
            out.append((toks[j][1], toks[j][2]))
    return out


# ------------------------------------------------------------------------ interpreter

class Unknown:
    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return "<unknown: %s>" % self.why


class Obj:
    def __init__(self, cls):
        self.cls = cls
        self.fields = {}
        self.request = None


class SB:
    def __init__(self, s=""):
        self.s = s


class Continue(Exception):
    pass


class Return(Exception):
    pass


# classes whose String constants the tests use (`SimpleHttpClient.X`), read with the corpus
CONST_FILES = [("Globals", "java/org/apache/catalina/Globals.java"),
               ("SimpleHttpClient", "test/org/apache/catalina/startup/SimpleHttpClient.java")]
CLASS_CONSTS = {}
BUILTIN_CONSTS = {"CR": "\r", "LF": "\n", "CRLF": "\r\n", "true": True, "false": False,
                  "null": None}


class Interp:
    """Runs one test method and collects the requests it sends."""

    def __init__(self, top, test_name):
        self.top = top
        self.test = test_name
        self.cases = []
        self.props = []
        self.depth = 0
        self.consts = {}
        for c in (top,):
            for f in c.fields:
                self.field_init(c, f, self.consts)

    def field_init(self, cls, f, env):
        eq = [i for i, t in enumerate(f) if t[1] == "="][0]
        name = f[eq - 1][1]
        try:
            env[name] = self.eval(f[eq + 1:], [env])
        except Skip:
            env[name] = Unknown("field %s" % name)

    # ---- expressions
    def lookup(self, name, scopes):
        for s in scopes:
            if name in s:
                return s[name]
        if name in self.consts:
            return self.consts[name]
        if name in BUILTIN_CONSTS:
            return BUILTIN_CONSTS[name]
        raise Skip("unknown name %s" % name)

    def eval(self, toks, scopes):
        if not toks:
            raise Skip("empty expression")
        if toks[0][1] == "new" and toks[0][0] == "id":
            return self.new(toks, scopes)
        parts = split_top(toks, "?")
        if len(parts) > 1:
            cond = self.eval(parts[0], scopes)
            rest = toks[len(parts[0]) + 1:]
            ab = split_top(rest, ":")
            if len(ab) < 2:
                raise Skip("ternary")
            return self.eval(ab[0], scopes) if cond else \
                self.eval(rest[len(ab[0]) + 1:], scopes)
        for op in ("||", "&&"):
            parts = split_top(toks, op)
            if len(parts) > 1:
                vals = [self.eval(p, scopes) for p in parts]
                return any(vals) if op == "||" else all(vals)
        for op in ("==", "!=", "<=", ">=", "<", ">"):
            parts = split_top(toks, op)
            if len(parts) == 2:
                a, b = (self.num(self.eval(p, scopes)) for p in parts)
                if op in ("==", "!="):
                    return (a == b) == (op == "==")
                if not all(isinstance(x, int) for x in (a, b)):
                    raise Skip("comparison of %r and %r" % (a, b))
                return {"<=": a <= b, ">=": a >= b, "<": a < b, ">": a > b}[op]
        parts = self.split_plus(toks)
        if len(parts) > 1:
            acc = self.eval(parts[0][1], scopes)
            for op, p in parts[1:]:
                v = self.eval(p, scopes)
                if op == "-":
                    acc = self.num(acc) - self.num(v)
                elif any(isinstance(x, Str) or (isinstance(x, str) and len(x) != 1) or
                         x is None or isinstance(x, bool) for x in (acc, v)):
                    acc = Str(self.text(acc) + self.text(v))
                else:
                    acc = self.num(acc) + self.num(v)
            return acc
        parts = split_top(toks, "*")
        if len(parts) == 2:
            return self.num(self.eval(parts[0], scopes)) * self.num(self.eval(parts[1], scopes))
        return self.primary(toks, scopes)

    def split_plus(self, toks):
        """Top-level binary + and -, as [(op, tokens)]."""
        out, cur, depth, prev = [], [], 0, None
        for t in toks:
            if t[0] == "p" and t[1] in OPEN:
                depth += 1
            elif t[0] == "p" and t[1] in (")", "]", "}"):
                depth -= 1
            if depth == 0 and t[0] == "p" and t[1] in "+-" and len(t[1]) == 1 and cur and \
                    not (prev and prev[0] == "p" and prev[1] not in (")", "]")):
                out.append(cur)
                cur = [t]
            else:
                cur.append(t)
            prev = t
        out.append(cur)
        res = [("+", out[0])]
        for c in out[1:]:
            res.append((c[0][1], c[1:]))
        return res

    def num(self, v):
        if isinstance(v, Unknown):
            raise Skip(v.why)
        if isinstance(v, str) and len(v) == 1:
            return ord(v)
        return v

    def text(self, v):
        if isinstance(v, Unknown):
            raise Skip(v.why)
        if isinstance(v, (tuple, list, Obj)):
            raise Skip("not a string: %r" % (v,))
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, SB):
            return v.s
        if v is None:
            return "null"
        return str(v)

    def primary(self, toks, scopes):
        t0 = toks[0]
        if len(toks) == 1:
            if t0[0] == "str":
                return Str(t0[1])
            if t0[0] == "chr":
                return t0[1]
            if t0[0] == "num":
                return t0[1]
            if t0[0] == "id":
                return self.lookup(t0[1], scopes)
        if t0[1] == "!" and t0[0] == "p":
            return not self.eval(toks[1:], scopes)
        if t0[1] == "-" and t0[0] == "p":
            return -self.num(self.eval(toks[1:], scopes))
        if t0[1] == "(" and t0[0] == "p":
            e = close_of(toks, 0)
            inner = toks[1:e]
            if len(inner) == 1 and inner[0][0] == "id" and inner[0][1] in ("char", "int", "byte"):
                v = self.num(self.eval(toks[e + 1:], scopes))
                return chr(v & 0xffff) if inner[0][1] == "char" else v
            if e == len(toks) - 1:
                return self.eval(inner, scopes)
        if t0[1] == "new":
            return self.new(toks, scopes)
        words = [t[1] for t in toks]
        if words[-1] == ")" and "(" in words:
            return self.call(toks, scopes)
        if len(toks) == 3 and words[1] == ".":
            a, b = words[0], words[2]
            if a == "SimpleHttpClient" and b in ("CR", "LF", "CRLF"):
                return BUILTIN_CONSTS[b]
            if b in CLASS_CONSTS.get(a, {}):
                return CLASS_CONSTS[a][b]
            if a == "Method":
                return Str(b)
            if a in ("Boolean",) and b in ("TRUE", "FALSE"):
                return b == "TRUE"
            if b == "class":
                return ("class", a)
            if a[:1].isupper():
                return ("sym", a + "." + b)
            if a == "this":
                return self.lookup(b, scopes)
        if len(toks) == 4 and words[1] == "[" and words[3] == "]":
            arr = self.lookup(words[0], scopes)
            return arr[self.num(self.eval(toks[2:3], scopes))]
        raise Skip("expression not understood: %s" % " ".join(str(w) for w in words[:12]))

    def new(self, toks, scopes):
        words = [t[1] for t in toks]
        name = words[1]
        if "[" in words[:4] and words[-1] == "}":
            b = words.index("{")
            return [self.eval(p, scopes) for p in split_top(toks[b + 1:-1], ",") if p]
        if len(words) >= 4 and words[2] == "[" and words[-1] == "]":
            return [None] * self.num(self.eval(toks[3:-1], scopes))
        if words[2] == "(" or (words[2] == "<" and "(" in words):
            p = words.index("(")
            e = close_of(toks, p)
            args = [self.eval(a, scopes) for a in split_top(toks[p + 1:e], ",") if a]
            if name == "StringBuilder":
                return SB(args[0] if args and isinstance(args[0], str) else "")
            if name in ("ArrayList", "LinkedList"):
                return []
            cls = self.find_class(name)
            if cls is None:
                return ("object", name)
            obj = Obj(cls)
            self.construct(obj, cls, args)
            return obj
        raise Skip("new not understood")

    def find_class(self, name):
        c = self.top
        if name in c.classes:
            return c.classes[name]
        return None

    def construct(self, obj, cls, args):
        for f in cls.fields:
            self.field_init(cls, f, obj.fields)
        for params, body, _ in cls.methods.get(cls.name, []):
            if len(params) == len(args):
                self.run_body(body, [dict(zip(params, args))], obj)
                return
        if args and cls.methods.get(cls.name):
            raise Skip("no constructor of %s for %d arguments" % (cls.name, len(args)))

    def call(self, toks, scopes):
        words = [t[1] for t in toks]
        p = words.index("(")
        e = close_of(toks, p)
        if e != len(toks) - 1:
            # a chained call: evaluate the head, then the rest on it
            if toks[e + 1][1] == "." and toks[e + 2][0] == "id":
                head = self.call(toks[:e + 1], scopes)
                return self.method_on(head, toks[e + 2][1], toks[e + 3:], scopes)
            raise Skip("call not understood")
        argt = [a for a in split_top(toks[p + 1:e], ",") if a]
        target = toks[:p]
        tw = [t[1] for t in target]
        name = tw[-1]
        recv = None
        if len(tw) >= 3 and tw[-2] == ".":
            recv_toks = target[:-2]
            rw = [t[1] for t in recv_toks]
            if rw in (["Assert"], ["org", ".", "junit", ".", "Assert"]):
                return self.assertion(name, argt, scopes)
            if rw == ["this"]:
                recv = self.self_obj(scopes)
            elif rw[-1] == ")":
                recv = self.eval(recv_toks, scopes)
            else:
                try:
                    recv = self.eval(recv_toks, scopes)
                except Skip:
                    recv = ("object", " ".join(str(w) for w in rw))
            return self.method_on(recv, name, [("p", "(", 0)] + toks[p + 1:e] +
                                  [("p", ")", 0)], scopes)
        if len(tw) != 1:
            raise Skip("call not understood")
        return self.plain_call(name, argt, scopes)

    def self_obj(self, scopes):
        return self.current_self

    current_self = None

    def args(self, argt, scopes):
        return [self.eval(a, scopes) for a in argt]

    def plain_call(self, name, argt, scopes):
        if name == "getPort":
            return PORT
        if name in ("tearDown", "setUp", "getTomcatInstance", "getProgrammaticRootContext",
                    "connect", "disconnect", "setPort", "setRequestPause",
                    "setUseContentLength", "readResponse"):
            if name == "getTomcatInstance":
                return ("object", "tomcat")
            return None
        me = self.current_self
        if name in ("setRequest", "processRequest") and me is not None:
            return self.method_on(me, name, [("p", "(", 0)] + sum(
                [a + [("p", ",", 0)] for a in argt], [])[:-1] + [("p", ")", 0)], scopes)
        cls = me.cls if me is not None and name in me.cls.methods else self.top
        if name == "addRequestWithSplits" and cls is self.top:
            a = self.args(argt, scopes)
            valid = a[1] if len(a) == 3 else True
            a[-1].append([[a[0]], valid])
            return None
        if name in cls.methods:
            a = self.args(argt, scopes)
            for params, body, _ in cls.methods[name]:
                if len(params) == len(a):
                    return self.run_body(body, [dict(zip(params, a))], me)
            raise Skip("%s with %d arguments" % (name, len(a)))
        return ("object", "%s()" % name)

    def method_on(self, recv, name, argpart, scopes):
        e = close_of(argpart, 0)
        argt = [a for a in split_top(argpart[1:e], ",") if a]
        rest = argpart[e + 1:]
        result = self._method_on(recv, name, argt, scopes)
        if rest:
            if rest[0][1] == "." and rest[1][0] == "id":
                return self.method_on(result, rest[1][1], rest[2:], scopes)
            raise Skip("call not understood")
        return result

    def _method_on(self, recv, name, argt, scopes):
        if isinstance(recv, SB):
            if name == "append":
                recv.s += self.text(self.eval(argt[0], scopes))
                return recv
            if name == "toString":
                return Str(recv.s)
        if isinstance(recv, list):
            if name == "add":
                recv.append(self.eval(argt[0], scopes))
                return True
            if name == "toArray":
                return list(recv)
        if isinstance(recv, str):
            if name == "toCharArray":
                return list(recv)
        if isinstance(recv, tuple) and recv[0] == "object" and name == "setProperty":
            a = self.args(argt, scopes)
            self.props.append("%s=%s" % (self.text(a[0]), self.text(a[1])))
            return True
        if recv == ("object", "tomcat") or (isinstance(recv, tuple) and "Connector" in str(recv)):
            if name == "getConnector":
                return ("object", "Connector")
            return ("object", "tomcat.%s" % name)
        if isinstance(recv, tuple) and recv[0] == "sym" and name == "valueOf":
            return self.eval(argt[0], scopes)
        if isinstance(recv, Obj):
            return self.obj_method(recv, name, argt, scopes)
        if isinstance(recv, tuple) and recv[0] == "object" and recv[1] in ("Integer", "Boolean"):
            return self.eval(argt[0], scopes)
        return ("object", "%s.%s()" % (recv, name))

    def obj_method(self, obj, name, argt, scopes):
        if name == "setRequest":
            v = self.eval(argt[0], scopes)
            if not isinstance(v, list):
                raise Skip("setRequest of a non-array")
            obj.request = list(v)
            return None
        if name in ("processRequest",):
            self.emit(obj)
            return None
        if name.startswith("isResponse") or name in ("getResponseBody", "getResponseLine",
                                                       "isResponseBodyOK"):
            return ("probe", obj, name)
        if name in obj.cls.methods:
            a = self.args(argt, scopes)
            for params, body, _ in obj.cls.methods[name]:
                if len(params) == len(a):
                    return self.run_body(body, [dict(zip(params, a))], obj)
        return None

    def emit(self, obj):
        req = obj.request
        if req is None:
            raise Skip("processRequest with no request")
        parts = []
        for r in req:
            if isinstance(r, Unknown):
                raise Skip(r.why)
            if r is None:
                raise Skip("request array with an unset element")
            parts.append(self.text(r))
        data = "".join(parts)
        self.cases.append({"input": data.encode("latin-1", "replace"), "obj": obj,
                           "status": None, "body": None, "props": list(self.props),
                           "pieces": len(parts)})

    def assertion(self, name, argt, scopes):
        vals = []
        for a in argt:
            try:
                vals.append(self.eval(a, scopes))
            except Skip:
                vals.append(Unknown("arg"))
        probes = [v for v in vals if isinstance(v, tuple) and v and v[0] == "probe"]
        if not probes:
            return None
        _, obj, what = probes[-1]
        case = next((c for c in reversed(self.cases) if c["obj"] is obj), None)
        if case is None:
            return None
        m = re.fullmatch(r"isResponse(\d{3})", what)
        if name == "assertTrue" and m:
            st = int(m.group(1))
            if case["status"] not in (None, st):
                case["status"] = "conflict"
            else:
                case["status"] = st
        elif name == "assertEquals" and what == "getResponseBody" and len(vals) >= 2:
            want = vals[-2]
            if isinstance(want, str):
                case["body"] = want
        return None

    # ---- statements
    def run_body(self, toks, scopes, me):
        self.depth += 1
        if self.depth > 20:
            raise Skip("recursion")
        saved = self.current_self
        self.current_self = me
        if me is not None:
            scopes = scopes + [me.fields]
        try:
            self.block(toks, scopes)
        except Return:
            pass
        finally:
            self.current_self = saved
            self.depth -= 1
        return None

    def block(self, toks, scopes):
        scopes = [{}] + scopes
        i = 0
        while i < len(toks):
            i = self.statement(toks, i, scopes)

    def next_stmt_end(self, toks, i):
        """The index after the statement starting at toks[i]."""
        t = toks[i]
        if t[1] == "{" and t[0] == "p":
            return close_of(toks, i) + 1
        if t[0] == "id" and t[1] in ("if", "for", "while"):
            e = close_of(toks, i + 1)
            j = self.next_stmt_end(toks, e + 1)
            if t[1] == "if" and j < len(toks) and toks[j][1] == "else":
                j = self.next_stmt_end(toks, j + 1)
            return j
        if t[0] == "id" and t[1] == "try":
            j = i + 1
            if toks[j][1] == "(":
                j = close_of(toks, j) + 1
            j = close_of(toks, j) + 1
            while j < len(toks) and toks[j][1] in ("catch", "finally"):
                if toks[j][1] == "catch":
                    j = close_of(toks, j + 1) + 1
                else:
                    j += 1
                j = close_of(toks, j) + 1
            return j
        depth = 0
        for j in range(i, len(toks)):
            v = toks[j][1] if toks[j][0] == "p" else None
            if v in OPEN:
                depth += 1
            elif v in (")", "]", "}"):
                depth -= 1
            elif v == ";" and depth == 0:
                return j + 1
        return len(toks)

    def statement(self, toks, i, scopes):
        t = toks[i]
        end = self.next_stmt_end(toks, i)
        if t[0] == "p" and t[1] == "{":
            self.block(toks[i + 1:end - 1], scopes)
            return end
        if t[0] == "p" and t[1] == ";":
            return end
        if t[0] == "id" and t[1] == "if":
            ce = close_of(toks, i + 1)
            cond = self.eval(toks[i + 2:ce], scopes)
            if isinstance(cond, Unknown):
                raise Skip("condition")
            then_end = self.next_stmt_end(toks, ce + 1)
            if cond:
                self.statement(toks[:then_end], ce + 1, scopes)
            elif then_end < end:
                self.statement(toks[:end], then_end + 1, scopes)
            return end
        if t[0] == "id" and t[1] == "try":
            j = i + 1
            if toks[j][1] == "(":
                j = close_of(toks, j) + 1
            self.block(toks[j + 1:close_of(toks, j)], scopes)
            return end
        if t[0] == "id" and t[1] == "for":
            self.for_loop(toks, i, end, scopes)
            return end
        if t[0] == "id" and t[1] == "while":
            raise Skip("while loop")
        if t[0] == "id" and t[1] == "continue":
            raise Continue()
        if t[0] == "id" and t[1] in ("return", "throw"):
            raise Return()
        self.simple(toks[i:end - 1], scopes)
        return end

    def for_loop(self, toks, i, end, scopes):
        ce = close_of(toks, i + 1)
        head = toks[i + 2:ce]
        body = toks[ce + 1:end]
        parts = split_top(head, ";")
        if len(parts) == 1:
            colon = split_top(head, ":")
            if len(colon) != 2:
                raise Skip("for not understood")
            var = colon[0][-1][1]
            seq = self.eval(colon[1], scopes)
            if not isinstance(seq, (list, str)):
                raise Skip("for over %r" % (seq,))
            for v in seq:
                try:
                    self.block(body, [{var: v}] + scopes)
                except Continue:
                    pass
            return
        init, cond, upd = parts
        var = init[[k for k, x in enumerate(init) if x[1] == "="][0] - 1][1]
        loop = {var: self.eval(init[[k for k, x in enumerate(init) if x[1] == "="][0] + 1:],
                               scopes)}
        if [x[1] for x in upd] not in ([var, "++"], ["++", var]):
            raise Skip("for update not understood")
        n = 0
        while self.eval(cond, [loop] + scopes):
            n += 1
            if n > 100000:
                raise Skip("loop too long")
            try:
                self.block(body, [loop] + scopes)
            except Continue:
                pass
            loop[var] = self.num(loop[var]) + 1

    def assign(self, name, value, scopes):
        for s in scopes:
            if name in s:
                s[name] = value
                return
        if self.current_self is not None:  # an undeclared name: a field of the object
            self.current_self.fields[name] = value
        else:
            scopes[0][name] = value

    def simple(self, toks, scopes):
        words = [t[1] for t in toks]
        if not toks:
            return
        eq, depth = [], 0
        for k, t in enumerate(toks):
            if t[0] == "p" and t[1] in OPEN:
                depth += 1
            elif t[0] == "p" and t[1] in (")", "]", "}"):
                depth -= 1
            elif t[0] == "p" and t[1] == "=" and depth == 0:
                eq.append(k)
        if eq:
            k = eq[0]
            lhs = toks[:k]
            try:
                val = self.eval(toks[k + 1:], scopes)
            except Skip as e:
                val = Unknown(str(e))
            lw = [t[1] for t in lhs]
            if lw[0] == "this" and len(lw) == 3 and self.current_self is not None:
                self.current_self.fields[lw[2]] = val
            elif len(lw) >= 4 and lw[-1] == "]" and lw[-3] == "[" and lw[-4] != "]" and \
                    len(lw) == 4:
                arr = self.lookup(lw[0], scopes)
                if not isinstance(arr, list):
                    raise Skip("array %s" % lw[0])
                arr[self.num(self.eval(lhs[2:3], scopes))] = val
            else:
                name = [w for w in lw if w not in ("[", "]")][-1]
                if len(lhs) == 1:
                    self.assign(name, val, scopes)
                else:
                    scopes[0][name] = val  # a declaration
            return
        if words[-1] == ")" and "(" in words:
            self.call(toks, scopes)
            return
        if len(toks) >= 2 and all(t[0] == "id" or t[1] in ("<", ">", "[", "]", ",", ".")
                                  for t in toks):
            scopes[0][toks[-1][1]] = None  # declaration without a value
            return
        if words[-1] in ("++", "--"):
            v = self.lookup(words[0], scopes)
            self.assign(words[0], self.num(v) + (1 if words[-1] == "++" else -1), scopes)
            return


class Str(str):
    """A string value (as opposed to a char, a one-character str)."""
    _s = True


# a char is a plain str of length 1; a Java String is a Str
for _k in ("CR", "LF", "CRLF"):
    BUILTIN_CONSTS[_k] = Str(BUILTIN_CONSTS[_k])


# ---------------------------------------------------------------------------- corpus


def http11_cases(corpus, path, out, skipped):
    src = corpus.read_bytes(path).decode("latin-1")
    top = parse_file(src)
    for name, line in test_methods(src):
        it = Interp(top, name)
        try:
            for params, body, _ in top.methods.get(name, []):
                if not params:
                    it.run_body(body, [{}], None)
                    break
            else:
                raise Skip("no method")
        except Skip as e:
            why = str(e)
        except (IndexError, KeyError, ValueError, TypeError, AttributeError) as e:
            why = "not understood (%s)" % e
        else:
            why = None
        if why is not None:
            kept = [c for c in it.cases if c["status"] is not None]
            if not kept:
                skipped.append((path, line, name, why))
                continue
            # what the test does after the requests it asserts on (reading the response,
            # more requests) is not followed; the requests before are kept
            skipped.append((path, line, name, "the rest after %d request(s): %s"
                            % (len(kept), why)))
            it.cases = kept
        n = 0
        for c in it.cases:
            if c["status"] is None:
                continue
            n += 1
            obj = c["obj"]
            field = None
            if c["body"] is not None and "headerName" in obj.fields:
                field = obj.fields["headerName"]
            out.append({"file": path, "line": line, "name": name, "n": n,
                        "input": c["input"], "status": c["status"], "body": c["body"],
                        "echo": field, "props": c["props"], "pieces": c["pieces"]})
        nothing = [c for c in it.cases if c["status"] is None]
        if n == 0:
            skipped.append((path, line, name, "no request with an asserted status" if not
                            it.cases else "%d request(s), none with an asserted status"
                            % len(it.cases)))
        elif nothing:
            skipped.append((path, line, name, "%d more request(s) with no asserted status"
                            % len(nothing)))


def parameter_list(corpus, path, method, variable, skipped):
    """The list a Parameterized test's `method` builds in `variable`, run by the
    interpreter, and the method's line; None (listed as not run) if it cannot follow it."""
    top = parse_file(corpus.read_bytes(path).decode("latin-1"))
    it = Interp(top, method)
    params, body, line = top.methods[method][0]
    orig = it.simple

    def simple(toks, scopes):
        orig(toks, scopes)
        for sc in scopes:
            if isinstance(sc.get(variable), list):
                it.kept = sc[variable]
    it.simple = simple
    try:
        it.run_body(body, [{}], None)
    except Skip as e:
        skipped.append((path, line, method, str(e)))
        return None, line
    return getattr(it, "kept", []), line


def crlf_cases(corpus, path, out, skipped):
    sets, line = parameter_list(corpus, path, "parameters", "parameterSets", skipped)
    for k, ps in enumerate(sets or [], 1):
        req, valid = ps[0], ps[1]
        if not isinstance(req, list) or any(isinstance(r, Unknown) or r is None for r in req):
            skipped.append((path, line, "parameter set %d" % k, "request not understood"))
            continue
        data = "".join(str(r) for r in req).encode("latin-1", "replace")
        out.append({"file": path, "line": line, "name": "parameters() request %d" % k, "n": 1,
                    "input": data, "status": 200 if valid else 400, "body": None,
                    "echo": None, "props": [], "pieces": len(req),
                    "note": "valid: body 'OK'" if valid else
                    "invalid: 400 or the connection reset"})


def host_cases(corpus, path, out, skipped):
    rows, line = parameter_list(corpus, path, "inputs", "result", skipped)
    for k, ps in enumerate(rows or []):
        if not isinstance(ps, list) or len(ps) != 4 or not isinstance(ps[1], str):
            skipped.append((path, line, "inputs[%d]" % k, "parameters not understood"))
            continue
        host = ps[1]
        ok = ps[3] is None
        data = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode("latin-1", "replace")
        out.append({"file": path, "line": line, "name": "inputs[%d] host %r" % (k, host),
                    "n": 1, "input": data, "status": 200 if ok else 400, "body": None,
                    "echo": None, "props": [], "pieces": 1,
                    "note": "HttpParser.Host: %s" % ("valid" if ok else
                                                     "IllegalArgumentException -> 400")})


def class_constants(corpus):
    """The `static final String NAME = ...;` of CONST_FILES (request pieces some tests
    use, e.g. SimpleHttpClient.HTTP_HEADER_CONTENT_TYPE_FORM_URL_ENCODING)."""
    for cname, path in CONST_FILES:
        top = parse_file(corpus.read_bytes(path).decode("latin-1"))
        env = {}
        it = Interp(top, cname)
        for f in top.fields:
            it.field_init(top, f, env)
        CLASS_CONSTS[cname] = {k: v for k, v in env.items() if isinstance(v, Str)}


def cases(corpus):
    out, skipped = [], []
    class_constants(corpus)
    http11_cases(corpus, FILES[0], out, skipped)
    crlf_cases(corpus, FILES[1], out, skipped)
    http11_cases(corpus, FILES[2], out, skipped)
    host_cases(corpus, FILES[3], out, skipped)
    counted, app = [], []
    for c in out:
        if c["status"] == "conflict":
            skipped.append((c["file"], c["line"], c["name"], "two statuses asserted"))
        elif c["status"] in CONNECTOR_STATUS:
            counted.append(c)
        else:
            app.append(c)
    return counted, app, skipped


# ------------------------------------------------------------------------ our side


def echo_body(c, msg):
    """What the Bug51557 servlet would print from our fields: the values of the field
    under test, then those of X-Bug51557 (getHeaders, case-insensitive)."""
    out = ""
    for name in (c["echo"], "X-Bug51557"):
        for n, v in msg["headers"]:
            if n.decode("latin-1").lower() == str(name).lower():
                out += v.decode("latin-1")
    return out


def judge(h1dump, c, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    first = read_events(whole, fed, first_only=True)
    msgs, diffs, late, hint = ours["msgs"], [], None, h1dump_io.status_hint(ours)
    if ours["crash"]:
        agree = False
    elif 200 <= c["status"] < 300:
        agree = bool(msgs) and first["ended"]
        if msgs and c["body"] is not None and c["echo"] is not None:
            got = echo_body(c, msgs[0])
            if got != c["body"]:
                diffs.append("echoed values %r vs %r" % (c["body"], got))
                agree = False
    else:
        agree = not first["ended"] and not msgs and bool(ours["error"])
        if not msgs and not ours["error"] and ours["eof"]:
            probe = read_events(h1dump_io.run_or_crash(
                h1dump, "server", h1dump_io.end_head(fed), 0)[0], fed)
            late = probe["error"] or "accepted"
            agree = late != "accepted" and "missing Host" not in late
            m = re.search(r"\((\d+)\)$", probe["failure"] or "")
            if m:
                hint = int(m.group(1))
    return h1dump_io.verdict(agree, late, ours, diffs, runs, {"hint": hint})


def tomcat_says(c):
    s = "%d" % c["status"]
    if c["body"] is not None:
        s += "; %s %r" % ("echoed values" if c["echo"] is not None else
                          "body (not compared)", c["body"])
    if c.get("note"):
        s += " (%s)" % c["note"]
    if c["props"]:
        s += " [connector: %s]" % ", ".join(c["props"])
    return s


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("tomcat", "Tomcat checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.tomcat, args.rev)
    all_cases, app, skipped = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"], "n": c["n"],
                        "input": c["input"].decode("latin-1"), "status": c["status"],
                        "tomcat": tomcat_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})

    print("tomcat: %s (%s)" % (corpus.commit(), args.tomcat))
    partial = [s for s in skipped if s[3].startswith("the rest after")]
    notrun = [s for s in skipped if s not in partial]
    h1dump_io.print_methods("test methods (or parameter sets) not run (%d):", notrun)
    print()
    h1dump_io.print_methods(
        "test methods followed only up to their asserted request(s) (counted, %d):", partial)
    print()
    if app:
        print("requests whose asserted status is the servlet's, not the connector's "
              "(not counted, %d):" % len(app))
        for c in app:
            print("  %s:%d %s: %d" % (os.path.basename(c["file"]), c["line"], c["name"],
                                      c["status"]))
        print()

    label = h1dump_io.method_label

    broken = h1dump_io.report_broken(results, "hosted", label)
    show = h1dump_io.show_case(label, "tomcat")
    h1dump_io.print_disagreements(results, show, args.verbose)

    codes = [r for r in results if r["status"] >= 300 and r["hosted"]["agree"]
             and r["hosted"]["hint"] is not None and r["hosted"]["hint"] != r["status"]]
    if codes:
        print("refused by both, with another status (with Host supplied; not counted):")
        for r in codes:
            print("  %s: tomcat %d, ours %d" % (label(r), r["status"], r["hosted"]["hint"]))
        print()
    print("cases: %d from %d test methods and parameter lists (%d not run, %d followed in "
          "part, %d servlet statuses); Host supplied in %d" % (
              len(results), len({(r["file"], r["name"].split("[")[0].split(" request")[0])
                                 for r in results}),
              len(notrun), len(partial), len(app), sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(34)
    for path in FILES:
        row(os.path.basename(path), [r for r in results if r["file"] == path])
    row("all", results)
    h1dump_io.print_verdict_counts(results, lambda r: r["status"] < 300,
                                   ((True, "accepts"), (False, "refuses")), "tomcat", 8)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {
            "results": results, "skipped": skipped,
            "servlet_status": [dict(c) for c in app]})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
