#!/usr/bin/env python3
"""Run hyper's HTTP/1 test vectors through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/hyper_corpus.py HYPER [--rev REV] [--h1dump PATH] [--verbose]
                    [--json OUT]

HYPER is a checkout of https://github.com/hyperium/hyper (1.x, master; a directory with
src/proto/h1) or a bare git directory of one (read at HEAD, or at --rev). Nothing of hyper is
kept in this repository: its Rust sources are read at run time and the literals of the tests
evaluated here by a small reader of Rust (tokens; string, byte-string and raw-string literals
with every escape, `\\`-newline continuations included; `concat!`, `format!` with `{}`,
`{name}` and `{:x}`, `vec![x; n]`, `[x; n]`, `.repeat()`, `String::from`, `BytesMut::from`,
consts and statics, blocks with `let`, and, to build the generated inputs, the statements
`let`, `for` over a range, `extend`, `extend_from_slice`, `push_str` and calls of local
functions). A name is resolved to its last `let` before its use. A test that cannot be
evaluated is listed as not read, never guessed.

What is read, and how hyper's expectation maps to ours (each input goes through
`h1dump` whole and with `--split 1`, then the end of input):

  src/proto/h1/role.rs (the unit tests of the head parser and encoder)
    single-parse tests  `Server::parse` (our server role) or `Client::parse` (client role,
                 `--method` from `req_method`) of one `BytesMut::from(...)`. `.unwrap()`,
                 `.expect(..)`: our first message is delivered and nothing refused before
                 it ends, with what the test asserts of it (method, target, version,
                 status, the number of fields, a field's first value); `.unwrap_err()`,
                 `.expect_err(..)`: we refuse it.
    test_decoder_request, test_decoder_response
                 every call of their `parse`, `parse_with_method`, `parse_err` and
                 `parse_ignores` helpers: accepted / refused / (1xx) delivered as an
                 informational response with no final one. `DecodedLength` is checked by
                 a probe: the input again with a body after it (`5\\r\\nhello\\r\\n0\\r\\n\\r\\n`
                 for CHUNKED, N bytes for a length, `hello` then the end of input for
                 CLOSE_DELIMITED) must end the message with that body; ZERO: the message
                 ends at the end of the head. `keep_alive` by another probe: the next
                 message after it is delivered or not. `wants_upgrade`: we switch.
    parse_too_large_headers  the generated requests and responses with N fields, default
                 limit (100) counted; `Some(max)` is a non-default option. The Host field
                 supplied to these requests replaces their first field, so that the count
                 under test stays the same.
    encoder tests whose whole output is asserted (`assert_eq!(vec, ...)`): that output
                 as a request (client encoder) or response (server encoder) head: it must
                 be accepted (its body, not in the bytes, may be missing at the end).
  src/proto/h1/decode.rs (the body decoder), each vector wrapped in a message:
    chunked and length vectors as the body of `POST / HTTP/1.1` with a Host and
    `Transfer-Encoding: chunked` or `Content-Length: N` (server role); `Decoder::eof()`
    vectors as the body of `HTTP/1.1 200 OK` with no framing (client role, until close).
    test_read_chunk_size  `read(s)` == N: the chunk-size line `s`, then N bytes of data, CRLF
                 and the last chunk (or, for N = 0, the CRLF ending the trailer section)
                 must be accepted with N bytes of data; `read_err(s, kind)`: refused, or
                 for UnexpectedEof, not refused before the end of input, which must find
                 the message unfinished.
    the decoder tests: the data the test asserts of the first frame, then an error
                 (InvalidInput / InvalidData: refused; UnexpectedEof: the end of input in
                 the middle of the body) or the end of the message where the test reads
                 it. decode_trailers(): a last chunk and that trailer section.
  tests/client.rs (the `test!` macro: a server replies with raw bytes)
    `reply` in the client role, `--method` the request's method: with `response`, our first
                 final response has its status, each listed field's first value, the body
                 and each listed trailer's first value (what follows that response is not
                 looked at: hyper's test does not read it); with `error`, an incomplete
                 message is the end of input before that response ends, a parse error a
                 refusal. `expected` (the bytes hyper's client writes, `{addr}` made
                 127.0.0.1:8080) in the server role: one complete request, nothing
                 refused. Errors raised before any byte is sent are not run.
    module `conn`: the replies of a few tests (status, reason, fields, body, the bytes
                 after a 101 or a 2xx to CONNECT).
  tests/server.rs (raw requests written to hyper's server): the bytes each test writes
    (all writes concatenated, or the first alone where later ones are the new protocol's),
    against what it asserts: the body (and trailers) the service reads, the status of a
    refusal (a status hint of ours other than hyper's is shown, not counted), the number
    of requests answered on the connection, the bytes handed over after an upgrade or
    CONNECT, an incomplete request. Tests about hyper's own response writing, timeouts,
    HTTP/2 or the service are listed as not run.

Options. A case that depends on a non-default option of hyper's (its ParserConfig
`allow_*` flags, `h09_responses`, `allow_obsolete_multiline_headers_in_responses`,
`h1_max_headers`, a decoder limit, `max_buf_size`) is run and listed, but left out of the
figures: they measure hyper's defaults.

The figures are given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; hyper's server checks no Host). When hyper
refuses an input that ends inside a head or a trailer section, which the core judges once
it is complete, it is ended (the missing part of CRLF CRLF) and the case agrees if we then
refuse it for a reason other than the missing Host. Whole
and byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any case
where either happens is listed first, as a bug of ours (exit status 1, as when a file
could not be read).
"""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402

FILES = {
    "role": "src/proto/h1/role.rs",
    "decode": "src/proto/h1/decode.rs",
    "client": "tests/client.rs",
    "server": "tests/server.rs",
}
HOST = b"Host: hyper.invalid\r\n"
HOST_FIELD = (b"host", b"hyper.invalid")
ADDR = b"127.0.0.1:8080"
POST_CHUNKED = b"POST / HTTP/1.1\r\nHost: hyper.invalid\r\nTransfer-Encoding: chunked\r\n\r\n"
POST_LENGTH = b"POST / HTTP/1.1\r\nHost: hyper.invalid\r\nContent-Length: %d\r\n\r\n"
RESPONSE_UNTIL_CLOSE = b"HTTP/1.1 200 OK\r\n\r\n"
PROBE_REQUEST = b"GET /hyper-probe HTTP/1.1\r\nHost: hyper.invalid\r\n\r\n"
PROBE_RESPONSE = b"HTTP/1.1 204 No Content\r\n\r\n"
PROBE_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"
STATUS = {"CONTINUE": 100, "SWITCHING_PROTOCOLS": 101, "OK": 200, "NO_CONTENT": 204,
          "NOT_MODIFIED": 304, "BAD_REQUEST": 400, "URI_TOO_LONG": 414,
          "REQUEST_HEADER_FIELDS_TOO_LARGE": 431}
VERSION = {"HTTP_09": "0.9", "HTTP_10": "1.0", "HTTP_11": "1.1", "HTTP_2": "2"}


class HyperSource(Source):
    """hyper's tree, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, os.path.join("src", "proto", "h1"))


# ------------------------------------------------------------------------ Rust tokens


class NotUnderstood(Exception):
    """Rust source this reader does not evaluate."""


class Tok:
    __slots__ = ("kind", "val", "line")

    def __init__(self, kind, val, line):
        self.kind, self.val, self.line = kind, val, line

    def __repr__(self):
        return "%s:%r@%d" % (self.kind, self.val, self.line)

    def is_p(self, *vals):
        return self.kind == "p" and self.val in vals

    def is_id(self, *vals):
        return self.kind == "id" and self.val in vals


PUNCTS = ["..=", "...", "::", "..", "=>", "->", "==", "!=", "<=", ">=", "&&", "||", "+=",
          "-=", "*=", "/="]
SIMPLE = {"n": 10, "r": 13, "t": 9, "\\": 92, "0": 0, "'": 39, '"': 34}
RAW = re.compile(r'[bc]?r(#*)"')
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?")


def unescape(body, line):
    """The bytes of a (byte) string literal's body."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = body[i + 1]
        if e == "\n":  # continuation: the newline and the whitespace after it vanish
            i += 2
            while i < len(body) and body[i] in " \t\n\r":
                i += 1
        elif e in SIMPLE:
            out.append(SIMPLE[e])
            i += 2
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e == "u":
            j = body.index("}", i)
            out += chr(int(body[i + 3:j].replace("_", ""), 16)).encode("utf-8")
            i = j + 1
        else:
            raise NotUnderstood("line %d: escape \\%s" % (line, e))
    return bytes(out)


def tokenize(text):
    toks = []
    i, line, n = 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, j = 0, i
            while True:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                    if depth == 0:
                        break
                elif j >= n:
                    raise NotUnderstood("line %d: unterminated comment" % line)
                else:
                    j += 1
            line += text.count("\n", i, j)
            i = j
        elif RAW.match(text, i):
            m = RAW.match(text, i)
            end = text.index('"' + m.group(1), m.end())
            body = text[m.end():end]
            toks.append(Tok("str", body.encode("utf-8"), line))
            line += body.count("\n")
            i = end + 1 + len(m.group(1))
        elif c == '"' or (c in "bc" and text.startswith('"', i + 1)):
            j = i + 1 if c == '"' else i + 2
            k = j
            while text[k] != '"':
                k += 2 if text[k] == "\\" else 1
            body = text[j:k]
            toks.append(Tok("str", unescape(body, line), line))
            line += body.count("\n")
            i = k + 1
        elif c == "'" or (c == "b" and text.startswith("'", i + 1)):
            j = i + 1 if c == "'" else i + 2
            if text[j] == "\\":
                e = text[j + 1]
                k = {"x": j + 4, "u": text.find("}", j) + 1}.get(e, j + 2)
            else:
                k = j + 1
            if k < n and text[k] == "'":
                v = unescape(text[j:k], line)
                toks.append(Tok("char", v[0] if len(v) == 1 else ord(v.decode("utf-8")), line))
                i = k + 1
            elif c == "'":  # a lifetime
                m = IDENT.match(text, j)
                toks.append(Tok("life", m.group(0), line))
                i = m.end()
            else:
                raise NotUnderstood("line %d: character literal" % line)
        elif IDENT.match(text, i):
            m = IDENT.match(text, i)
            toks.append(Tok("id", m.group(0), line))
            i = m.end()
        elif c.isdigit():
            m = NUMBER.match(text, i)
            s = m.group(0).replace("_", "")
            if s[:2] in ("0x", "0o", "0b"):
                v = int(s, 0)
            else:
                v = float(s) if "." in s or "e" in s.lower() else int(s)
            toks.append(Tok("num", v, line))
            i = m.end()
            m = IDENT.match(text, i)  # a suffix: u64, usize, ...
            if m:
                i = m.end()
        else:
            for p in PUNCTS:
                if text.startswith(p, i):
                    toks.append(Tok("p", p, line))
                    i += len(p)
                    break
            else:
                toks.append(Tok("p", c, line))
                i += 1
    return toks


def closing(toks, i):
    """The index of the bracket that closes the one at toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == "p" and t.val in pairs:
            depth += 1
        elif t.kind == "p" and t.val in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j
    raise NotUnderstood("line %d: unbalanced %s" % (toks[i].line, toks[i].val))


def canon(toks, lo, hi, literals=False):
    """Tokens as compact text (a space only between two words); string literals as `$`
    (or repr'd, with `literals`)."""
    out = []
    prev_word = False
    for t in toks[lo:hi]:
        if t.kind == "str":
            s = repr(t.val) if literals else "$"
        elif t.kind == "char":
            s = "'%s'" % chr(t.val)
        elif t.kind == "life":
            s = "'" + t.val
        else:
            s = str(t.val)
        word = t.kind in ("id", "num")
        if word and prev_word:
            out.append(" ")
        out.append(s)
        prev_word = word
    return "".join(out)


def split_top(toks, lo, hi, sep=","):
    """Ranges of toks[lo:hi] split at `sep` outside brackets (an empty last part dropped)."""
    parts, start, i = [], lo, lo
    while i < hi:
        t = toks[i]
        if t.kind == "p" and t.val in ("(", "[", "{"):
            i = closing(toks, i) + 1
            continue
        if t.kind == "p" and t.val == sep:
            parts.append((start, i))
            start = i + 1
        i += 1
    if start < hi:
        parts.append((start, hi))
    return parts


BLOCK_WORDS = {"for", "while", "loop", "if", "fn", "match", "unsafe", "mod", "impl", "struct",
               "enum", "trait", "async"}


def skip_attributes(toks, lo, hi):
    while lo < hi and toks[lo].is_p("#") and lo + 1 < hi and toks[lo + 1].is_p("["):
        lo = closing(toks, lo + 1) + 1
    return lo


def statements(toks, lo, hi):
    """The statements of a block body: (lo, hi, ends_with_semicolon), attributes skipped."""
    out = []
    start, i = lo, lo
    while i < hi:
        t = toks[i]
        if t.kind == "p" and t.val in ("(", "[", "{"):
            j = closing(toks, i)
            if t.val == "{":
                s = skip_attributes(toks, start, j)
                first = toks[s]
                blocky = first.is_id(*BLOCK_WORDS) or (s == i) or (
                    first.kind == "id" and toks[s + 1].is_p("!") and s + 2 == i)
                nxt = toks[j + 1] if j + 1 < hi else None
                if blocky and not (nxt and (nxt.is_id("else") or nxt.is_p(".", "?", ";"))):
                    out.append((s, j + 1, False))
                    start = j + 1
            i = j + 1
            continue
        if t.is_p(";"):
            s = skip_attributes(toks, start, i)
            if s < i:
                out.append((s, i, True))
            start = i + 1
        i += 1
    s = skip_attributes(toks, start, hi)
    if s < hi:
        out.append((s, hi, False))
    return out


class Fn:
    """A function definition: its name, attributes, parameters and body (token range)."""

    def __init__(self, name, start, lo, hi, params, attrs, line, module):
        self.name, self.start, self.lo, self.hi = name, start, lo, hi
        self.params, self.attrs, self.line, self.module = params, attrs, line, module
        self.parent = None
        self.lets = None

    @property
    def is_test(self):
        return any(a == "test" or a.startswith("tokio::test") for a in self.attrs)


class RustFile:
    """One Rust source file: tokens, functions, consts and statics."""

    def __init__(self, name, text):
        self.name = name
        self.toks = tokenize(text)
        self.fns = self._functions()
        self.consts = {}
        toks = self.toks
        for i, t in enumerate(toks[:-2]):
            if t.is_id("const", "static") and toks[i + 1].kind == "id" and toks[i + 2].is_p(":"):
                j = i + 3
                while not toks[j].is_p("=", ";"):
                    j += 1
                if toks[j].is_p("="):
                    end = j + 1
                    while not toks[end].is_p(";"):
                        end = closing(toks, end) + 1 if toks[end].is_p("(", "[", "{") else end + 1
                    self.consts[toks[i + 1].val] = (j + 1, end)
        self._cache = {}

    def _functions(self):
        toks = self.toks
        modules = []  # (name, lo, hi)
        for i, t in enumerate(toks[:-2]):
            if t.is_id("mod") and toks[i + 1].kind == "id" and toks[i + 2].is_p("{"):
                modules.append((toks[i + 1].val, i + 2, closing(toks, i + 2)))
        fns = []
        for i, t in enumerate(toks[:-1]):
            if not (t.is_id("fn") and toks[i + 1].kind == "id"):
                continue
            j = i + 2
            while not toks[j].is_p("("):
                j += 1
            pclose = closing(toks, j)
            params = []
            for a, b in split_top(toks, j + 1, pclose):
                a = a + 1 if toks[a].is_id("mut") else a
                if b - a >= 2 and toks[a].kind == "id" and toks[a + 1].is_p(":"):
                    params.append(toks[a].val)
            k = pclose + 1
            while not toks[k].is_p("{", ";"):
                k += 1
            if toks[k].is_p(";"):
                continue
            attrs = []
            b = i - 1
            while b >= 0 and toks[b].is_id("pub", "async", "unsafe", "const", "extern"):
                b -= 1
            while b >= 1 and toks[b].is_p("]"):
                a = b
                depth = 0
                while True:
                    if toks[a].is_p("]"):
                        depth += 1
                    elif toks[a].is_p("["):
                        depth -= 1
                        if depth == 0:
                            break
                    a -= 1
                attrs.append(canon(toks, a + 1, b, literals=True))
                b = a - 2
            module = "::".join(m for m, lo, hi in modules if lo < i < hi)
            fns.append(Fn(toks[i + 1].val, i, k + 1, closing(toks, k), params, attrs,
                          t.line, module))
        for f in fns:
            outer = [g for g in fns if g is not f and g.lo <= f.start < g.hi]
            f.parent = max(outer, key=lambda g: g.lo) if outer else None
        return fns

    def fn(self, name, parent=None):
        found = [f for f in self.fns if f.name == name and (parent is None or f.parent is parent)]
        if len(found) != 1:
            raise NotUnderstood("%s: %d functions named %s" % (self.name, len(found), name))
        return found[0]

    def const(self, name):
        if name not in self._cache:
            if name not in self.consts:
                raise NotUnderstood("%s: no const %s" % (self.name, name))
            lo, hi = self.consts[name]
            self._cache[name] = evaluate(self, lo, hi, Scope(self))
        return self._cache[name]

    def lets(self, fn):
        """Every `let NAME [: T] = EXPR;` (and `const`) of a function's body: (index of
        NAME, NAME, lo, hi)."""
        if fn.lets is None:
            toks, out = self.toks, []
            for i in range(fn.lo, fn.hi - 2):
                if not toks[i].is_id("let", "const"):
                    continue
                j = i + 1 + (1 if toks[i + 1].is_id("mut") else 0)
                if toks[j].kind != "id" or not toks[j + 1].is_p("=", ":"):
                    continue
                k = j + 1
                while not toks[k].is_p("="):
                    if toks[k].is_p(";"):
                        break
                    k = closing(toks, k) + 1 if toks[k].is_p("(", "[", "{") else k + 1
                if not toks[k].is_p("="):
                    continue
                end = k + 1
                while not toks[end].is_p(";"):
                    end = closing(toks, end) + 1 if toks[end].is_p("(", "[", "{") else end + 1
                out.append((j, toks[j].val, k + 1, end))
            fn.lets = out
        return fn.lets


class Unknown:
    def __init__(self, why):
        self.why = why


class Path(str):
    """A path that is not a value here (`Method::GET`): compared as text."""


class Scope:
    """Names: variables of a run (`vars`), or the lets of a function resolved by position
    (`fn`), then the file's consts; `fns` are the local functions that can be called."""

    def __init__(self, file, parent=None, vars=None, fn=None):
        self.file, self.parent, self.vars, self.fn = file, parent, vars, fn
        self.fns = {}
        if fn is not None:
            self.fns = {g.name: g for g in file.fns if g.parent is fn}
        self._cache = {}

    def local_fn(self, name):
        s = self
        while s is not None:
            if name in s.fns:
                return s.fns[name]
            s = s.parent
        return None

    def lookup(self, name, pos):
        s = self
        while s is not None:
            if s.vars is not None and name in s.vars:
                v = s.vars[name]
                if isinstance(v, Unknown):
                    raise NotUnderstood(v.why)
                return v
            if s.fn is not None:
                best = None
                for at, n, lo, hi in s.file.lets(s.fn):
                    if n == name and at < pos:
                        best = (at, lo, hi)
                if best:
                    if best not in s._cache:
                        s._cache[best] = evaluate(s.file, best[1], best[2], s)
                    return s._cache[best]
            s = s.parent
        if name in self.file.consts:
            return self.file.const(name)
        raise NotUnderstood("line %d: name %s not known" % (self.file.toks[pos].line, name))

    def assign(self, name, value):
        s = self
        while s is not None:
            if s.vars is not None and name in s.vars:
                s.vars[name] = value
                return
            s = s.parent
        raise NotUnderstood("assignment to unknown %s" % name)


def as_bytes(v):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, bool):
        return b"true" if v else b"false"
    if isinstance(v, int):
        return str(v).encode()
    raise NotUnderstood("not a string: %r" % (v,))


def rust_format(fmt, args, named, ev, pos):
    """format!() of a literal with {}, {N}, {name}, {:x} and {{ }}."""
    out = bytearray()
    i, auto = 0, 0
    while i < len(fmt):
        c = fmt[i:i + 1]
        if fmt.startswith(b"{{", i) or fmt.startswith(b"}}", i):
            out += c
            i += 2
        elif c == b"{":
            j = fmt.index(b"}", i)
            spec = fmt[i + 1:j].decode()
            name, _, conv = spec.partition(":")
            if name == "":
                v = args[auto]
                auto += 1
            elif name.isdigit():
                v = args[int(name)]
            elif name in named:
                v = named[name]
            else:
                v = ev.scope.lookup(name, pos)
            if conv == "x":
                out += b"%x" % v
            elif conv == "":
                out += as_bytes(v)
            else:
                raise NotUnderstood("format spec {%s}" % spec)
            i = j + 1
        else:
            out += c
            i += 1
    return bytes(out)


def evaluate(file, lo, hi, scope):
    """The value of the expression toks[lo:hi] (a trailing comma of an argument dropped)."""
    if hi > lo and file.toks[hi - 1].is_p(","):
        hi -= 1
    ev = Ev(file, lo, hi, scope)
    v = ev.expr()
    if ev.i != hi:
        raise NotUnderstood("line %d: not understood: %s" % (
            file.toks[ev.i].line, canon(file.toks, ev.i, hi)))
    return v


BINARY = {"*": 3, "/": 3, "%": 3, "+": 2, "-": 2, "==": 1, "!=": 1}
SAME = {"as_bytes", "as_ref", "to_vec", "to_string", "to_owned", "into", "as_slice", "as_str",
        "clone", "into_bytes", "iter"}
CONSTRUCTORS = {"String::from", "BytesMut::from", "Bytes::from", "Bytes::from_static",
                "Bytes::copy_from_slice", "Vec::from", "bytes::Bytes::from"}
EMPTY = {"String::new", "Vec::new", "BytesMut::new", "Vec::with_capacity",
         "BytesMut::with_capacity", "String::with_capacity"}


class Ev:
    """A recursive-descent evaluator of a Rust expression's tokens."""

    def __init__(self, file, lo, hi, scope):
        self.file, self.toks, self.i, self.hi, self.scope = file, file.toks, lo, hi, scope

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < self.hi else Tok("end", None, 0)

    def take(self, val=None):
        t = self.peek()
        if val is not None and not (t.kind == "p" and t.val == val):
            raise NotUnderstood("line %d: expected %s, found %r" % (t.line, val, t.val))
        self.i += 1
        return t

    def expr(self, prec=1):
        left = self.unary()
        while True:
            t = self.peek()
            p = BINARY.get(t.val) if t.kind == "p" else None
            if p is None or p < prec:
                return left
            self.take()
            right = self.expr(p + 1)
            op = t.val
            if op == "==":
                left = left == right
            elif op == "!=":
                left = left != right
            elif op == "+" and isinstance(left, (bytes, bytearray)):
                left = bytes(left) + as_bytes(right)
            elif not (isinstance(left, int) and isinstance(right, int)):
                raise NotUnderstood("line %d: %s on %r" % (t.line, op, left))
            else:
                left = {"*": left * right, "/": left // right if right else 0,
                        "%": left % right if right else 0, "+": left + right,
                        "-": left - right}[op]

    def unary(self):
        t = self.peek()
        if t.is_p("&"):
            self.take()
            if self.peek().is_id("mut"):
                self.take()
            return self.unary()
        if t.is_p("*"):
            self.take()
            return self.unary()
        if t.is_p("-"):
            self.take()
            return -self.unary()
        if t.is_p("!"):
            self.take()
            return not self.unary()
        return self.postfix(self.primary())

    def args(self, close):
        """Comma-separated expressions up to `close`; `name = expr` ones go to `named`."""
        args, named = [], {}
        while not self.peek().is_p(close):
            if self.peek().kind == "id" and self.peek(1).is_p("=") and not self.peek(1).is_p("=="):
                name = self.take().val
                self.take("=")
                named[name] = self.expr()
            else:
                args.append(self.expr())
            if not self.peek().is_p(close):
                self.take(",")
        self.take(close)
        return args, named

    def primary(self):
        t = self.take()
        if t.kind == "str":
            return t.val
        if t.kind in ("char", "num"):
            return t.val
        if t.is_p("("):
            if self.peek().is_p(")"):
                self.take()
                return ()
            v = self.expr()
            if self.peek().is_p(","):
                self.take()
                rest, _ = self.args(")")
                return tuple([v] + rest)
            self.take(")")
            return v
        if t.is_p("["):
            if self.peek().is_p("]"):
                self.take()
                return []
            v = self.expr()
            if self.peek().is_p(";"):
                self.take()
                n = self.expr()
                self.take("]")
                return (bytes([v]) if isinstance(v, int) else as_bytes(v)) * n
            items = [v]
            while self.peek().is_p(","):
                self.take()
                if self.peek().is_p("]"):
                    break
                items.append(self.expr())
            self.take("]")
            return items
        if t.is_p("{"):
            end = closing(self.toks, self.i - 1)
            v = run_block(self.file, self.i, end, Scope(self.file, self.scope, {}))
            self.i = end + 1
            return v
        if t.kind != "id":
            raise NotUnderstood("line %d: unexpected %r" % (t.line, t.val))
        if t.val in ("true", "false"):
            return t.val == "true"
        if t.val == "None":
            return None
        if t.val == "Some" and self.peek().is_p("("):
            self.take("(")
            v = self.expr()
            self.take(")")
            return v
        path = [t.val]
        while self.peek().is_p("::"):
            self.take()
            if self.peek().is_p("<"):
                depth = 0
                while True:
                    x = self.take()
                    depth += 1 if x.is_p("<") else -1 if x.is_p(">") else 0
                    if depth == 0:
                        break
                continue
            path.append(self.take().val)
        name = "::".join(path)
        if self.peek().is_p("!") and self.peek(1).is_p("(", "["):
            self.take()
            close = {"(": ")", "[": "]"}[self.take().val]
            return self.macro(name, close, t)
        if self.peek().is_p("("):
            self.take()
            args, _ = self.args(")")
            if name in CONSTRUCTORS and len(args) == 1:
                v = args[0]
                return bytearray(v) if isinstance(v, (bytes, bytearray)) else v
            if name in EMPTY:
                return bytearray()
            f = self.scope.local_fn(name)
            if f is not None:
                return call_fn(self.file, f, args, self.scope)
            raise NotUnderstood("line %d: call of %s" % (t.line, name))
        if len(path) == 1:
            return self.scope.lookup(name, self.i - 1)
        if path[0] in ("super", "crate", "self", "Self") and path[-1] in self.file.consts:
            return self.file.const(path[-1])
        return Path(name)

    def macro(self, name, close, t):
        if name == "vec":
            if self.peek().is_p(close):
                self.take()
                return bytearray()
            v = self.expr()
            if self.peek().is_p(";"):
                self.take()
                n = self.expr()
                self.take(close)
                return bytearray((bytes([v]) if isinstance(v, int) else as_bytes(v)) * n)
            items = [v]
            while self.peek().is_p(","):
                self.take()
                if self.peek().is_p(close):
                    break
                items.append(self.expr())
            self.take(close)
            return items
        start = self.i
        args, named = self.args(close)
        if name == "concat":
            return b"".join(as_bytes(a) for a in args)
        if name == "format":
            return rust_format(as_bytes(args[0]), args[1:], named, self, start)
        raise NotUnderstood("line %d: macro %s!" % (t.line, name))

    def postfix(self, v):
        while True:
            t = self.peek()
            if t.is_p(".") and self.peek(1).is_id("await"):
                self.i += 2
            elif t.is_p(".") and self.peek(1).kind == "id":
                self.take()
                m = self.take().val
                if self.peek().is_p("::"):  # turbofish
                    raise NotUnderstood("line %d: turbofish" % t.line)
                if not self.peek().is_p("("):
                    raise NotUnderstood("line %d: field %s" % (t.line, m))
                self.take()
                args, _ = self.args(")")
                if m in SAME:
                    pass
                elif m == "repeat":
                    v = as_bytes(v) * args[0]
                elif m == "len":
                    v = len(v)
                else:
                    raise NotUnderstood("line %d: method %s" % (t.line, m))
            elif t.is_p("["):
                self.take()
                if self.peek().is_p(".."):
                    self.take()
                    if not self.peek().is_p("]"):
                        v = v[:self.expr()]
                    self.take("]")
                else:
                    a = self.expr()
                    if self.peek().is_p(".."):
                        self.take()
                        b = None if self.peek().is_p("]") else self.expr()
                        v = v[a:b]
                    else:
                        v = v[a]
                    self.take("]")
            elif t.is_id("as"):
                self.take()
                self.take()
                while self.peek().is_p("::"):
                    self.take()
                    self.take()
            elif t.is_p("?"):
                self.take()
            else:
                return v


def call_fn(file, f, args, scope):
    if len(args) != len(f.params):
        raise NotUnderstood("call of %s with %d arguments" % (f.name, len(args)))
    inner = Scope(file, scope, dict(zip(f.params, args)))
    inner.fns = {g.name: g for g in file.fns if g.parent is f}
    return run_block(file, f.lo, f.hi, inner)


def closures(toks, lo, hi):
    """The bodies (lo, hi) of the closures and async blocks in toks[lo:hi], outermost ones."""
    out = []
    i = lo
    while i < hi:
        t = toks[i]
        body = None
        if t.is_p("||") and i + 1 < hi and toks[i + 1].is_p("{"):
            body = i + 1
        elif t.is_p("|"):
            j = i + 1
            while j < hi and not toks[j].is_p("|"):
                j += 1
            if j + 1 < hi and toks[j + 1].is_p("{"):
                body = j + 1
        elif t.is_id("async"):
            j = i + 1 + (1 if i + 1 < hi and toks[i + 1].is_id("move") else 0)
            if j < hi and toks[j].is_p("{"):
                body = j
        if body is not None:
            end = closing(toks, body)
            out.append((body + 1, end))
            i = end + 1
        else:
            i += 1
    return out


def run_block(file, lo, hi, scope, trace=None, want_value=True):
    """Run a block's statements (let and const, for over a range, extend /
    extend_from_slice / push_str / push, local fn definitions; the bodies of closures and
    async blocks in any other statement, in order; anything else is skipped) and give the
    value of its final expression (None when it has none). With `trace` (receivers, list),
    the bytes of each RECEIVER.write_all(...) are appended to the list. Without
    `want_value` (the body of a closure or of a test), the final expression is not
    evaluated."""
    toks = file.toks
    value = None
    for a, b, semi in statements(toks, lo, hi):
        t = toks[a]
        value = None
        if t.is_id("let", "const"):
            j = a + 1 + (1 if toks[a + 1].is_id("mut") else 0)
            if toks[j].kind != "id":
                continue
            k = j + 1
            while k < b and not toks[k].is_p("="):
                k = closing(toks, k) + 1 if toks[k].is_p("(", "[", "{") else k + 1
            if k >= b:
                scope.vars[toks[j].val] = Unknown("line %d: %s has no value" % (
                    t.line, toks[j].val))
                continue
            try:
                scope.vars[toks[j].val] = evaluate(file, k + 1, b, scope)
            except (NotUnderstood, IndexError, KeyError, TypeError, ValueError) as err:
                scope.vars[toks[j].val] = Unknown(str(err))
                for c_lo, c_hi in closures(toks, k + 1, b):
                    run_block(file, c_lo, c_hi, Scope(file, scope, {}), trace, False)
        elif t.is_id("for"):
            var = toks[a + 1].val
            if not toks[a + 2].is_id("in"):
                continue
            body = next(i for i in range(a, b) if toks[i].is_p("{"))
            rng = next(i for i in range(a + 3, body) if toks[i].is_p("..", "..="))
            start = evaluate(file, a + 3, rng, scope)
            end = evaluate(file, rng + 1, body, scope) + (1 if toks[rng].val == "..=" else 0)
            for n in range(start, end):
                inner = Scope(file, scope, {} if var == "_" else {var: n})
                run_block(file, body + 1, closing(toks, body), inner, trace, False)
        elif t.is_id("fn"):
            continue
        elif t.kind == "id" and b - a > 4 and toks[a + 1].is_p(".") and toks[a + 2].is_id(
                "extend", "extend_from_slice", "push_str", "push") and toks[a + 3].is_p("("):
            target = scope.lookup(t.val, a)
            if not isinstance(target, bytearray):
                raise NotUnderstood("line %d: %s is not a growable buffer" % (t.line, t.val))
            v = evaluate(file, a + 4, closing(toks, a + 3), scope)
            target += bytes([v]) if isinstance(v, int) else as_bytes(v)
        elif trace is not None and t.kind == "id" and t.val in trace[0] and \
                toks[a + 1].is_p(".") and toks[a + 2].is_id("write_all") and toks[a + 3].is_p("("):
            v = evaluate(file, a + 4, closing(toks, a + 3), scope)
            trace[1].append((as_bytes(v), toks[a + 4].line))
        elif not semi and b == hi and want_value and not t.is_id(*BLOCK_WORDS):
            value = evaluate(file, a, b, scope)
        else:
            for c_lo, c_hi in closures(toks, a, b):
                run_block(file, c_lo, c_hi, Scope(file, scope, {}), trace, False)
    return value


# ------------------------------------------------------------------ expectations


def case(file, line, test, label, role, data, expect, hyper, method=None, option=None,
         hosted=None):
    return {"file": FILES[file], "line": line, "test": test, "label": label, "role": role,
            "method": None if method == "GET" else method,  # h1dump's default
            "input": bytes(data), "expect": expect, "hyper": hyper,
            "option": option, "hosted_input": hosted}


def expect_text(e):
    """hyper's expectation in words, for a report."""
    k = e["kind"]
    if k == "reject":
        s = "refuses"
        if e.get("status"):
            s += " (%d)" % e["status"]
        return s
    if k == "eof":
        s = "incomplete message (unexpected end of input)"
        if e.get("body") is not None:
            s += " after data %r" % e["body"]
        elif e.get("body_len") is not None:
            s += " after %d bytes of data" % e["body_len"]
        return s
    if k == "informational":
        return "a 1xx, skipped: no final response yet"
    if k == "no_error":
        return "no error"
    parts = ["accepts"]
    if e.get("count"):
        parts.append("%d message(s)" % e["count"])
    for key in ("method", "target", "version", "status", "reason"):
        if e.get(key) is not None:
            parts.append("%s %r" % (key, e[key]))
    if e.get("field_count") is not None:
        parts.append("%d field(s)" % e["field_count"])
    for n, v in e.get("fields", []):
        parts.append("%s: %r" % (n.decode(), v))
    for n, v in e.get("fields_all", []):
        parts.append("%s: %r" % (n.decode(), v))
    if e.get("body") is not None:
        parts.append("body %r" % e["body"][:60])
    if e.get("body_len") is not None:
        parts.append("%d bytes of data" % e["body_len"])
    if e.get("trailer_count") is not None:
        parts.append("%d trailer field(s)" % e["trailer_count"])
    for n, v in e.get("trailers", []):
        parts.append("trailer %s: %r" % (n.decode(), v))
    for n, v in e.get("trailers_all", []):
        parts.append("trailer %s: %r" % (n.decode(), v))
    if e.get("framing"):
        parts.append("DecodedLength %s" % {"zero": "ZERO", "chunked": "CHUNKED",
                                           "close": "CLOSE_DELIMITED"}.get(
            e["framing"], "new(%d)" % e["framing"][1] if isinstance(e["framing"], tuple) else ""))
    if e.get("keep_alive") is not None:
        parts.append("keep_alive %s" % e["keep_alive"])
    if e.get("switch"):
        parts.append("upgrade/tunnel" + (" with %r after the head" % e["trailing"]
                                         if e.get("trailing") is not None else ""))
    if e.get("incomplete_ok"):
        parts.append("(body not in the bytes)")
    return ", ".join(parts)


def status_of(path, line):
    name = str(path).split("::")[-1]
    if name not in STATUS:
        raise NotUnderstood("line %d: status %s" % (line, path))
    return STATUS[name]


def assert_args(file, a, b):
    """For an `assert_eq!(x, y)` / `assert!(x ...)` statement: the macro name and its
    argument ranges; None for another statement."""
    toks = file.toks
    if toks[a].is_id("assert_eq", "assert", "assert_ne") and toks[a + 1].is_p("!") and \
            toks[a + 2].is_p("("):
        return toks[a].val, split_top(toks, a + 3, closing(toks, a + 2))
    return None


# ------------------------------------------------------------------------ role.rs


def parse_context(file, fn, call_lo, call_hi):
    """The ParseContext given to a parse call: {field: canon text}, and the options the
    test sets on its ParserConfig."""
    toks = file.toks
    args = split_top(toks, call_lo, call_hi)
    if len(args) != 2:
        raise NotUnderstood("line %d: parse call" % toks[call_lo].line)
    lo, hi = args[1]
    if hi - lo == 1 and toks[lo].kind == "id":  # a `let ctx = ParseContext {...}`
        lets = [x for x in file.lets(fn) if x[1] == toks[lo].val and x[0] < lo]
        if not lets:
            raise NotUnderstood("line %d: context %s" % (toks[lo].line, toks[lo].val))
        lo, hi = lets[-1][2], lets[-1][3]
    if not (toks[lo].is_id("ParseContext") and toks[lo + 1].is_p("{")):
        raise NotUnderstood("line %d: not a ParseContext" % toks[lo].line)
    fields = {}
    for a, b in split_top(toks, lo + 2, closing(toks, lo + 1)):
        a = skip_attributes(toks, a, b)
        if b - a == 1:
            fields[toks[a].val] = toks[a].val  # shorthand: a variable of the same name
        else:
            fields[toks[a].val] = canon(toks, a + 2, b)
    options = []
    if fields.get("h1_parser_config") not in (None, "Default::default()"):
        var = fields["h1_parser_config"]
        for i in range(fn.lo, fn.hi - 4):
            if toks[i].is_id(var) and toks[i + 1].is_p(".") and toks[i + 3].is_p("("):
                arg = canon(toks, i + 4, closing(toks, i + 3))
                if arg != "false":
                    options.append("ParserConfig::%s(%s)" % (toks[i + 2].val, arg))
    if fields.get("h09_responses") not in (None, "false"):
        options.append("h09_responses(true)")
    if fields.get("h1_max_headers") not in (None, "None", "max_headers"):
        options.append("h1_max_headers(%s)" % fields["h1_max_headers"])
    return fields, options


def method_of(text):
    m = re.fullmatch(r"&mut Some\((?:crate::|http::)?Method::([A-Z]+)\)", text or "")
    return m.group(1) if m else None


HEAD_ASSERTS = [  # (pattern over the canon of the asserted expression, key)
    (r"\.head\.subject\.0", "method"),
    (r"\.head\.subject\.1", "target"),
    (r"\.head\.subject", "status"),
    (r"\.head\.version", "version"),
    (r"\.head\.headers\.len\(\)", "field_count"),
    (r"\.head\.headers\[\$\]", "field"),
]


def head_asserts(file, fn, var, lo, hi, e, notes):
    """What `assert_eq!(VAR.head..., value)` statements in toks[lo:hi] say, into `e`."""
    toks = file.toks
    scope = Scope(file, fn=fn)
    for a, b, _ in statements(toks, lo, hi):
        got = assert_args(file, a, b)
        if not got or got[0] != "assert_eq" or len(got[1]) < 2:
            continue
        (xa, xb), (ya, yb) = got[1][:2]
        text = canon(toks, xa, xb)
        if not text.startswith(var + "."):
            if text not in ("raw.len()", "method", "raw"):
                notes.append("not compared: %s" % canon(toks, a, b, literals=True))
            continue
        rest = text[len(var):]
        for pattern, key in HEAD_ASSERTS:
            if re.fullmatch(pattern, rest):
                v = evaluate(file, ya, yb, scope)
                if key == "method":
                    e["method"] = str(v).split("::")[-1]
                elif key == "target":
                    e["target"] = as_bytes(v)
                elif key == "status":
                    e["status"] = status_of(v, toks[ya].line)
                elif key == "version":
                    e["version"] = VERSION[str(v).split("::")[-1]]
                elif key == "field_count":
                    e["field_count"] = v
                else:
                    name = next(t.val for t in toks[xa:xb] if t.kind == "str")
                    e.setdefault("fields", []).append((name.lower(), as_bytes(v)))
                break
        else:
            notes.append("not compared: %s" % canon(toks, a, b, literals=True))


def single_parse(file, fn):
    """A test of one `Server::parse` / `Client::parse` of a `BytesMut::from(...)`."""
    toks = file.toks
    text = canon(toks, fn.lo, fn.hi)
    if text.count("BytesMut::from(") != 1:
        raise NotUnderstood("%s: not one BytesMut::from()" % fn.name)
    calls = [i for i in range(fn.lo, fn.hi - 3) if toks[i].is_id("Server", "Client")
             and toks[i + 1].is_p("::") and toks[i + 2].is_id("parse") and toks[i + 3].is_p("(")]
    if len(calls) != 1:
        raise NotUnderstood("%s: %d parse calls" % (fn.name, len(calls)))
    i = calls[0]
    src = next(j for j in range(fn.lo, fn.hi) if toks[j].is_id("BytesMut")
               and toks[j + 2].is_id("from"))
    data = evaluate(file, src, closing(toks, src + 3) + 1, Scope(file, fn=fn))
    close = closing(toks, i + 3)
    fields, options = parse_context(file, fn, i + 4, close)
    role = "server" if toks[i].val == "Server" else "client"
    method = method_of(fields.get("req_method")) if role == "client" else None
    # how the result is taken: to the end of the statement
    end = close + 1
    while not toks[end].is_p(";"):
        end += 1
    tail = canon(toks, close + 1, end)
    if tail in (".unwrap().unwrap()", ".expect($).expect($)"):
        kind = "accept"
    elif tail in (".unwrap_err()", ".expect_err($)"):
        kind = "reject"
    elif tail == ".expect($).is_none()":
        kind = "informational"
    else:
        raise NotUnderstood("line %d: result taken as %s" % (toks[close].line, tail))
    e = {"kind": kind}
    notes = []
    if fields.get("preserve_header_case") == "true":
        notes.append("preserve_header_case: the original case of names is not compared "
                     "(we report names lowercase)")
    # the variable the message is bound to
    s = i
    while not toks[s].is_id("let") and s > fn.lo and not toks[s - 1].is_p(";", "{", "}"):
        s -= 1
    if toks[s].is_id("let"):
        var = toks[s + 2].val if toks[s + 1].is_id("mut") else toks[s + 1].val
        if kind == "accept":
            head_asserts(file, fn, var, end + 1, fn.hi, e, notes)
    label = fn.name
    return [case("role", toks[src].line, fn.name, label, role, data, e,
                 expect_text(e), method=method, option=", ".join(options) or None)
            | {"notes": notes}]


DECODED = {"ZERO": "zero", "CHUNKED": "chunked", "CLOSE_DELIMITED": "close"}


def decoded_length(file, lo, hi):
    text = canon(file.toks, lo, hi)
    m = re.fullmatch(r"DecodedLength::(ZERO|CHUNKED|CLOSE_DELIMITED)", text)
    if m:
        return DECODED[m.group(1)]
    m = re.fullmatch(r"DecodedLength::new\((\d+)\)", text)
    if m:
        return ("length", int(m.group(1)))
    raise NotUnderstood("line %d: %s" % (file.toks[lo].line, text))


def decoder_table(file, fn):
    """test_decoder_request / test_decoder_response: every call of their parse helpers."""
    toks = file.toks
    role = "server" if fn.name == "test_decoder_request" else "client"
    helpers = {g.name for g in file.fns if g.parent is fn}
    kinds = {"parse": "accept", "parse_with_method": "accept", "parse_err": "reject",
             "parse_ignores": "informational"}
    if not helpers <= set(kinds) or "parse" not in helpers:
        raise NotUnderstood("%s: helpers %s" % (fn.name, sorted(helpers)))
    # the request method each response helper passes
    default_method = "GET" if role == "client" else None
    if role == "client":
        for g in file.fns:
            if g.parent is fn and g.name in ("parse", "parse_err", "parse_ignores"):
                t = canon(toks, g.lo, g.hi)
                if not ("Method::GET" in t):
                    raise NotUnderstood("%s: %s without Method::GET" % (fn.name, g.name))
    cases = []
    by_var = {}

    def add_call(i, var=None):
        name = toks[i].val
        args = split_top(toks, i + 2, closing(toks, i + 1))
        data = evaluate(file, args[0][0], args[0][1], Scope(file, fn=fn))
        method = default_method
        if name == "parse_with_method":
            method = canon(toks, args[1][0], args[1][1]).split("::")[-1]
        e = {"kind": kinds[name]}
        label = name + ("(%s)" % method if name == "parse_with_method" else "")
        if name == "parse_err" and len(args) > 1:
            label += ": " + evaluate(file, args[1][0], args[1][1], Scope(file)).decode()
        c = case("role", toks[i].line, fn.name, label, role, data, e,
                 None, method=method)
        c["notes"] = []
        cases.append(c)
        if var:
            by_var[var] = c
        return c

    def is_call(i):
        return toks[i].kind == "id" and toks[i].val in kinds and toks[i + 1].is_p("(") and \
            not toks[i - 1].is_id("fn")

    def attach(c, what, lo, hi, negate=False):
        e = c["expect"]
        if what == "decode":
            e["framing"] = decoded_length(file, lo, hi)
            if e["framing"] in ("chunked",) or isinstance(e["framing"], tuple):
                e["incomplete_ok"] = True  # the head alone: its body is the probe's
        elif what == "keep_alive":
            e["keep_alive"] = not negate
        elif what == "wants_upgrade":
            e["switch"] = not negate
        elif what == "cl_removed":
            c["notes"].append("hyper removes Content-Length from the fields (not compared)")

    def walk(lo, hi):
        for a, b, _ in statements(toks, lo, hi):
            if toks[a].is_id("fn"):
                continue
            if toks[a].is_p("{"):
                walk(a + 1, b - 1)
                continue
            if toks[a].is_id("let") and toks[a + 2].is_p("=") and is_call(a + 3):
                add_call(a + 3, toks[a + 1].val)
                continue
            if is_call(a):
                add_call(a)
                continue
            got = assert_args(file, a, b)
            if not got:
                if any(is_call(i) for i in range(a, b)):
                    raise NotUnderstood("line %d: %s" % (toks[a].line, canon(toks, a, b)))
                continue
            macro, args = got
            xa, xb = args[0]
            neg = toks[xa].is_p("!")
            xa += 1 if neg else 0
            if is_call(xa):
                c = add_call(xa)
                rest = canon(toks, closing(toks, xa + 1) + 1, xb)
            elif toks[xa].kind == "id" and toks[xa].val in by_var:
                c = by_var[toks[xa].val]
                rest = canon(toks, xa + 1, xb)
            else:
                raise NotUnderstood("line %d: %s" % (toks[a].line, canon(toks, a, b)))
            if macro == "assert_eq" and rest == ".decode":
                attach(c, "decode", args[1][0], args[1][1])
            elif macro == "assert" and rest in (".keep_alive", ".wants_upgrade"):
                attach(c, rest[1:], 0, 0, neg)
            elif macro == "assert" and neg and \
                    rest == ".head.headers.contains_key(header::CONTENT_LENGTH)":
                attach(c, "cl_removed", 0, 0)
            else:
                raise NotUnderstood("line %d: %s" % (toks[a].line, canon(toks, a, b)))

    walk(fn.lo, fn.hi)
    for c in cases:
        e = c["expect"]
        c["hyper"] = expect_text(e)
        if c["label"].startswith("parse") and e["kind"] == "accept":
            bits = [k for k in ("framing", "keep_alive", "switch") if k in e]
            c["label"] += " -> " + (", ".join("%s=%s" % (k, e[k]) for k in bits) or "Ok")
    return cases


def too_large_headers(file, fn):
    """parse_too_large_headers: the generated heads, with their limit."""
    toks = file.toks
    gens = {g.name: g for g in file.fns if g.parent is fn}
    if not {"gen_req_with_headers", "gen_resp_with_headers", "parse"} <= set(gens):
        raise NotUnderstood("%s: helpers %s" % (fn.name, sorted(gens)))
    body = canon(toks, gens["parse"].lo, gens["parse"].hi)
    for piece in ("gen_req_with_headers(gen_size)", "gen_resp_with_headers(gen_size)",
                  "Server::parse", "Client::parse", "h1_max_headers:max_headers"):
        if piece not in body:
            raise NotUnderstood("%s: parse() lacks %s" % (fn.name, piece))
    scope = Scope(file, fn=fn)
    cases = []
    for a, b, _ in statements(toks, fn.lo, fn.hi):
        if not (toks[a].is_id("parse") and toks[a + 1].is_p("(")):
            continue
        args = split_top(toks, a + 2, closing(toks, a + 1))
        limit = canon(toks, *args[0])
        n = evaluate(file, args[1][0], args[1][1], scope)
        ok = evaluate(file, args[2][0], args[2][1], scope)
        option = None if limit == "None" else "h1_max_headers(%s)" % limit[5:-1]
        for role, gen in (("server", "gen_req_with_headers"), ("client", "gen_resp_with_headers")):
            data = call_fn(file, gens[gen], [n], scope)
            e = {"kind": "accept" if ok else "reject"}
            if ok:
                e["field_count"] = n
            hosted = None
            if role == "server":
                first = b"key0: val0\r\n"
                hosted = data.replace(first, HOST, 1) if n else data.replace(
                    b"\r\n", b"\r\n" + HOST, 1)
            cases.append(case("role", toks[a].line, fn.name, "%s: %d fields, max %s" % (
                role, n, "100 (default)" if option is None else limit[5:-1]), role, data, e,
                expect_text(e), option=option, hosted=hosted) | {
                    "notes": [], "host_replaces_field": role == "server" and n > 0})
    return cases


def encoded_output(file, fn):
    """An encoder test whose whole output is asserted: that output, read back."""
    toks = file.toks
    text = canon(toks, fn.lo, fn.hi)
    role = "server" if "Client::encode(" in text else "client"
    for a, b, _ in statements(toks, fn.lo, fn.hi):
        got = assert_args(file, a, b)
        if got and got[0] == "assert_eq" and canon(toks, *got[1][0]) in ("vec", "&*vec", "&vec"):
            data = evaluate(file, got[1][1][0], got[1][1][1], Scope(file, fn=fn))
            known = re.search(r"body:Some\(BodyLength::Known\((\d+)\)\)", text)
            e = {"kind": "accept", "incomplete_ok": bool(known and known.group(1) != "0")}
            return [case("role", toks[got[1][1][0]].line, fn.name, fn.name + " (output read back)",
                         role, data, e, expect_text(e)) | {"notes": [
                             "hyper's %s writes these bytes" % (
                                 "client" if role == "server" else "server")]}]
    raise NotUnderstood("%s: no whole output asserted" % fn.name)


ROLE_SKIP = {
    "test_client_obs_fold_line": "a unit test of the unfolding helper on a bare value",
    "test_server_encode_connect_method": "no bytes: asserts the encoder's state",
    "test_server_response_encode_title_case": "asserts a prefix of the output only",
    "test_server_response_encode_orig_case": "asserts a prefix of the output only",
    "test_server_response_encode_orig_and_title_case": "asserts a prefix of the output only",
    "test_is_complete_fast": "the fast check of a head's end on partial input, not a verdict",
    "test_write_headers_orig_case_empty_value": "field-line writer, not a message",
    "test_write_headers_orig_case_multiple_entries": "field-line writer, not a message",
}
ROLE_HANDLERS = {
    "test_decoder_request": decoder_table,
    "test_decoder_response": decoder_table,
    "parse_too_large_headers": too_large_headers,
}


def role_cases(file, skipped):
    cases = []
    for fn in file.fns:
        if not fn.is_test:
            continue
        if fn.name in ROLE_SKIP:
            skipped.append((file.name, fn.line, fn.name, ROLE_SKIP[fn.name]))
            continue
        text = canon(file.toks, fn.lo, fn.hi)
        if fn.name in ROLE_HANDLERS:
            handler = ROLE_HANDLERS[fn.name]
        elif "::encode(" in text:
            handler = encoded_output
        elif "::parse(" in text:
            handler = single_parse
        else:
            skipped.append((file.name, fn.line, fn.name, "NOT CLASSIFIED (new in hyper?)"))
            continue
        try:
            cases += handler(file, fn)
        except (NotUnderstood, IndexError, KeyError, ValueError, StopIteration) as err:
            skipped.append((file.name, fn.line, fn.name, "NOT READ: %s" % err))
    return cases


# ---------------------------------------------------------------------- decode.rs


def wrap_decoder(kind, body):
    """A decoder vector as a message: (role, bytes)."""
    if kind == "chunked":
        return "server", POST_CHUNKED + body
    if isinstance(kind, tuple):
        return "server", (POST_LENGTH % kind[1]) + body
    return "client", RESPONSE_UNTIL_CLOSE + body


def chunk_size_table(file, fn):
    toks = file.toks
    cases = []
    for a, b, _ in statements(toks, fn.lo, fn.hi):
        if toks[a].is_id("fn") or (toks[a].is_id("async") and toks[a + 1].is_id("fn")):
            continue
        got = assert_args(file, a, b)
        if got and got[0] == "assert_eq":
            (xa, xb), (ya, yb) = got[1][:2]
            m = canon(toks, ya, yb)
            if not re.fullmatch(r"read\(\$\)\.await", m):
                continue
            n = evaluate(file, xa, xb, Scope(file))
            s = toks[ya + 2].val
            rest = (b"x" * n + b"\r\n0\r\n\r\n") if n else b"\r\n"
            e = {"kind": "accept", "body": b"x" * n, "count": None}
            data = POST_CHUNKED + s + rest
            cases.append(case("decode", toks[a].line, fn.name, "read(%r) == %d" % (s, n),
                              "server", data, e, "chunk size %d (line accepted)" % n)
                         | {"notes": ["completed with %r" % rest] if rest else []})
        elif canon(toks, a, b) in ("read_err($,InvalidInput).await",
                                   "read_err($,InvalidData).await",
                                   "read_err($,UnexpectedEof).await"):
            s = toks[a + 2].val
            kind = toks[a + 4].val
            e = {"kind": "eof" if kind == "UnexpectedEof" else "reject"}
            cases.append(case("decode", toks[a].line, fn.name, "read_err(%r, %s)" % (s, kind),
                              "server", POST_CHUNKED + s, e, "chunk-size line: %s" % kind)
                         | {"notes": []})
        elif "read" in canon(toks, a, b) and "$" in canon(toks, a, b):
            raise NotUnderstood("line %d: %s" % (toks[a].line, canon(toks, a, b)))
    return cases


DECODE_TESTS = {  # name: (outcome, the message must end, option)
    "test_read_sized_early_eof": ("eof", False, None),
    "test_read_chunked_early_eof": ("eof", False, None),
    "test_read_chunked_single_read": ("data", False, None),
    "test_read_chunked_with_missing_zero_digit": ("reject", False, None),
    "test_read_chunked_extensions_over_limit": ("reject", False, None),
    "test_read_chunked_trailer_with_missing_lf": ("reject", False, None),
    "test_read_chunked_after_eof": ("data", True, None),
    "test_read_length_async": ("async", True, None),
    "test_read_chunked_async": ("async", True, None),
    "test_read_eof_async": ("async", True, None),
    "test_decode_trailers": ("trailers", True, None),
    "test_decode_trailers_preserves_duplicate_values": ("trailers", True, None),
    "test_trailer_max_headers_enforced": ("reject", False, "h1_max_headers"),
    "test_trailer_max_headers_allows_exact_limit": ("trailers", True, "h1_max_headers"),
    "test_trailer_max_header_size_huge_trailer": ("reject", False, "h1_max_header_size"),
    "test_trailer_max_header_size_many_small_trailers": ("reject", False, "h1_max_header_size"),
}


def decoder_kind(file, fn, scope):
    toks = file.toks
    for i in range(fn.lo, fn.hi - 3):
        if toks[i].is_id("Decoder") and toks[i + 1].is_p("::") and toks[i + 3].is_p("("):
            kind = toks[i + 2].val
            close = closing(toks, i + 3)
            if kind == "length":
                return ("length", evaluate(file, i + 4, close, scope)), None
            if kind == "chunked":
                args = canon(toks, i + 4, close)
                opt = None
                if args != "None,None":
                    opt = "Decoder::chunked(%s)" % canon(toks, i + 4, close, literals=True)
                return "chunked", opt
            if kind == "eof":
                return "eof", None
            raise NotUnderstood("line %d: Decoder::%s" % (toks[i].line, kind))
    raise NotUnderstood("%s: no decoder" % fn.name)


def decode_case(file, fn):
    toks = file.toks
    outcome, must_end, option = DECODE_TESTS[fn.name]
    scope = Scope(file, None, {})
    scope.fns = {g.name: g for g in file.fns if g.parent is fn}
    run_block(file, fn.lo, fn.hi, scope, None, False)
    notes = []
    if outcome == "async":
        call = next(i for i in range(fn.lo, fn.hi) if toks[i].is_id("all_async_cases"))
        args = split_top(toks, call + 2, closing(toks, call + 1))
        body = evaluate(file, args[0][0], args[0][1], scope)
        want = evaluate(file, args[1][0], args[1][1], scope)
        kind, opt = decoder_kind(file, fn, scope)
        role, data = wrap_decoder(kind, body)
        e = {"kind": "accept", "body": want}
        return [case("decode", toks[call].line, fn.name, fn.name, role, data, e,
                     expect_text(e), option=opt) | {"notes": notes}]
    if outcome == "trailers":
        if "decode_trailers" in canon(toks, fn.lo, fn.hi):
            buf = scope.lookup("buf", fn.hi)
            role, data = "server", POST_CHUNKED + b"0\r\n" + buf
            line = next(t.line for t in toks[fn.lo:fn.hi] if t.kind == "str")
            option = None
        else:
            kind, opt = decoder_kind(file, fn, scope)
            data = POST_CHUNKED + scope.lookup("scratch", fn.hi)
            role = "server"
            line = fn.line
            option = opt or option
        e = {"kind": "accept"}
        for a, b, _ in statements(toks, fn.lo, fn.hi):
            got = assert_args(file, a, b)
            if not got or got[0] != "assert_eq":
                continue
            (xa, xb), (ya, yb) = got[1][:2]
            x = canon(toks, xa, xb)
            m = re.fullmatch(r"headers\.get\(\$\)\.unwrap\(\)", x)
            if x in ("headers.len()", "trailers.len()"):
                e["trailer_count"] = evaluate(file, ya, yb, scope)
            elif m:
                e.setdefault("trailers", []).append(
                    (toks[xa + 4].val.lower(), evaluate(file, ya, yb, scope)))
            elif x == "values":
                name = next(toks[i + 2].val for i in range(fn.lo, fn.hi)
                            if toks[i].is_id("get_all"))
                e.setdefault("trailers_all", []).append(
                    (name.lower(), [as_bytes(v) for v in evaluate(file, ya, yb, scope)]))
            elif x == "16" or canon(toks, ya, yb) == "buf.len()":
                e["body_len"] = evaluate(file, xa, xb, scope)
        return [case("decode", line, fn.name, fn.name, role, data, e, expect_text(e),
                     option=option) | {"notes": notes}]
    kind, opt = decoder_kind(file, fn, scope)
    option = opt or option
    var = next(toks[i + 4].val for i in range(fn.lo, fn.hi - 4) if toks[i].is_id("decode_fut")
               and toks[i + 2].is_p("&") and toks[i + 3].is_id("mut"))
    body = scope.lookup(var, fn.hi)
    role, data = wrap_decoder(kind, body)
    e = {"kind": {"data": "accept"}.get(outcome, outcome)}
    if outcome == "data" and not must_end:
        e["incomplete_ok"] = True
    # the first frame's data: a literal compared with it, or its length
    for a, b, _ in statements(toks, fn.lo, fn.hi):
        got = assert_args(file, a, b)
        if not got or got[0] != "assert_eq":
            continue
        sides = got[1][:2]
        for (pa, pb), (qa, qb) in (sides, sides[::-1]):
            try:
                v = evaluate(file, pa, pb, scope)
            except NotUnderstood:
                continue
            q = canon(toks, qa, qb)
            if isinstance(v, (bytes, bytearray)) and re.search(r"\bbuf1?\b|\bresult\b", q) and \
                    "body" not in e:
                e["body"] = bytes(v)
            elif isinstance(v, int) and not isinstance(v, bool) and q.endswith(".len()") and \
                    "body" not in e and "body_len" not in e and "err" not in q:
                e["body_len"] = v
    if outcome == "reject":
        notes.append("hyper's first frame: %s (not compared for a refusal)" % (
            repr(e.pop("body")) if "body" in e else "%s bytes" % e.pop("body_len")
            if "body_len" in e else "none"))
    line = next((t.line for t in toks[fn.lo:fn.hi] if t.kind == "str"), fn.line)
    return [case("decode", line, fn.name, fn.name, role, data, e, expect_text(e),
                 option=option) | {"notes": notes}]


def decode_cases(file, skipped):
    cases = []
    for fn in file.fns:
        if not fn.is_test:
            continue
        try:
            if fn.name == "test_read_chunk_size":
                cases += chunk_size_table(file, fn)
            elif fn.name in DECODE_TESTS:
                cases += decode_case(file, fn)
            else:
                skipped.append((file.name, fn.line, fn.name, "NOT CLASSIFIED (new in hyper?)"))
        except (NotUnderstood, IndexError, KeyError, ValueError, StopIteration) as err:
            skipped.append((file.name, fn.line, fn.name, "NOT READ: %s" % err))
    return cases


# ---------------------------------------------------------------------- client.rs


CLIENT_OPTIONS = {"set_host", "title_case_headers"}  # only shape the request


def macro_items(file, lo, hi):
    """The `key: value` items of a test! invocation: [(key, lo, hi)]."""
    toks = file.toks
    items = []
    for a, b in split_top(toks, lo, hi):
        keys = []
        while b - a >= 2 and toks[a].kind == "id" and toks[a + 1].is_p(":"):
            keys.append(toks[a].val)
            a += 2
        if not keys:
            raise NotUnderstood("line %d: test! item %s" % (toks[a].line, canon(toks, a, b)))
        items.append((keys[-1], a, b))
    return items


def braced_pairs(file, lo, hi, sep):
    """`{ k SEP v, ... }` as [(k tokens, v tokens)]."""
    toks = file.toks
    if not toks[lo].is_p("{"):
        raise NotUnderstood("line %d: expected {" % toks[lo].line)
    out = []
    for a, b in split_top(toks, lo + 1, closing(toks, lo)):
        s = next(i for i in range(a, b) if toks[i].is_p(sep))
        out.append(((a, s), (s + 1, b)))
    return out


def test_macros(file, skipped):
    toks = file.toks
    cases = []
    scope = Scope(file)
    for i in range(len(toks) - 2):
        if not (toks[i].is_id("test") and toks[i + 1].is_p("!") and toks[i + 2].is_p("{")
                and (i == 0 or toks[i - 1].is_p("}", ";"))):
            continue
        close = closing(toks, i + 2)
        try:
            items = {k: (a, b) for k, a, b in macro_items(file, i + 3, close)}
            name = toks[items["name"][0]].val
            request = {}
            for (ka, _), (va, vb) in braced_pairs(file, *items["request"], ":"):
                request[toks[ka].val] = (va, vb)
            method = toks[request["method"][0]].val if "method" in request else "GET"
            options = {}
            if "options" in items:
                for (ka, _), (va, vb) in braced_pairs(file, *items["options"], ":"):
                    options[toks[ka].val] = canon(toks, va, vb)
            parse_opts = ", ".join("%s(%s)" % kv for kv in options.items()
                                   if kv[0] not in CLIENT_OPTIONS) or None
            expected = evaluate(file, *items["expected"], scope)
            if b"won't get here" in expected:
                skipped.append((file.name, toks[i].line, name,
                                "the client refuses the request before sending it"))
                continue
            # the request hyper's client writes, read by our server
            req = rust_format(expected, [], {"addr": ADDR}, Ev(file, 0, 0, scope), 0)
            e = {"kind": "accept", "count": 1}
            cases.append(case("client", toks[items["expected"][0]].line, name,
                              name + " (request written)", "server", req, e,
                              "hyper's client writes this request") | {"notes": []})
            reply = evaluate(file, *items["reply"], scope)
            line = toks[items["reply"][0]].line
            if "error" in items:
                text = canon(toks, *items["error"])
                if "is_incomplete_message()" in text:
                    e = {"kind": "eof"}
                elif "is_parse()" in text:
                    e = {"kind": "reject"}
                    if "is_parse_too_large()" in text:
                        e["status"] = 431
                else:
                    raise NotUnderstood("line %d: error %s" % (line, text))
                hyper = "error: %s" % text.split("|", 2)[-1]
            else:
                e = {"kind": "accept", "status": STATUS[toks[items["status"][0]].val]}
                for key, target in (("headers", "fields"), ("trailers", "trailers")):
                    if key in items:
                        for (ka, kb), (va, vb) in braced_pairs(file, *items[key], "=>"):
                            e.setdefault(target, []).append(
                                (evaluate(file, ka, kb, scope).lower(),
                                 evaluate(file, va, vb, scope)))
                body = evaluate(file, *items["body"], scope)
                e["body"] = b"" if body is None else as_bytes(body)
                hyper = expect_text(e)
            cases.append(case("client", line, name, name, "client", reply, e, hyper,
                              method=None if method == "GET" else method, option=parse_opts)
                         | {"notes": []})
        except (NotUnderstood, IndexError, KeyError, ValueError, StopIteration) as err:
            skipped.append((file.name, toks[i].line, "test!", "NOT READ: %s" % err))
    return cases


def socket_writes(file, fn, receivers, only_first=False):
    """The bytes a test writes with RECEIVER.write_all(...), in the order of its source:
    (bytes, line of the first write)."""
    scope = Scope(file, None, {})
    scope.fns = {g.name: g for g in file.fns if g.parent is fn}
    trace = []
    run_block(file, fn.lo, fn.hi, scope, (receivers, trace), False)
    if not trace:
        raise NotUnderstood("%s: no write" % fn.name)
    if only_first:
        trace = trace[:1]
    return b"".join(w for w, _ in trace), trace[0][1]


def find_asserts(file, fn):
    """Every assert_eq!(x, y) of a function: [(canon x, y lo, y hi, x lo)]."""
    toks = file.toks
    out = []
    for i in range(fn.lo, fn.hi - 2):
        if toks[i].is_id("assert_eq") and toks[i + 1].is_p("!") and toks[i + 2].is_p("("):
            args = split_top(toks, i + 3, closing(toks, i + 2))
            out.append((canon(toks, *args[0]), args[1][0], args[1][1], args[0][0]))
    return out


CONN_TESTS = {  # module conn of tests/client.rs: name -> (what, --method)
    "get": ("response", None),
    "get_custom_reason_phrase": ("response", None),
    "incoming_content_length": ("response", None),
    "dropped_conn_sends_incomplete_body_error": ("eof_after_head", None),
    "upgrade": ("switch", None),
    "connect_method": ("switch", "CONNECT"),
    "client_100_then_http09": ("informational_then_09", None),
    "client_on_informational_ext": ("informational_then_final", None),
}


def conn_cases(file, skipped):
    cases = []
    for fn in file.fns:
        if fn.is_test and fn.module == "conn" and fn.name not in CONN_TESTS:
            skipped.append((file.name, fn.line, "conn::" + fn.name, "not mapped: the request "
                            "side, HTTP/2, or the client's API (no reply to read, or one "
                            "already read by another case)"))
    for name, (what, method) in CONN_TESTS.items():
        try:
            fn = file.fn(name)
            if fn.module != "conn":
                raise NotUnderstood("%s is not in mod conn" % name)
            scope = Scope(file, fn=fn)
            data, line = socket_writes(file, fn, {"sock"}, only_first=what == "switch")
            e = {"kind": "accept"}
            option = None
            for x, ya, yb, xa in find_asserts(file, fn):
                if x == "res.status()":
                    v = evaluate(file, ya, yb, scope)
                    if isinstance(v, int):
                        e["informational_status"] = v
                    else:
                        e["status"] = status_of(v, file.toks[ya].line)
                elif x.endswith("ReasonPhrase>().expect($).as_bytes()"):
                    e["reason"] = as_bytes(evaluate(file, ya, yb, scope))
                elif x == "res.headers().len()":
                    e["field_count"] = evaluate(file, ya, yb, scope)
                elif x == "res.headers().get(http::header::CONTENT_LENGTH).unwrap()":
                    e.setdefault("fields", []).append((b"content-length",
                                                       evaluate(file, ya, yb, scope)))
                elif x == "res.headers()[$]":
                    hdr = next(t.val for t in file.toks[xa:ya] if t.kind == "str")
                    e.setdefault("fields", []).append((hdr.lower(), evaluate(file, ya, yb, scope)))
                elif x == "buf" and what == "switch":
                    e["switch"] = True
                    e["trailing"] = as_bytes(evaluate(file, ya, yb, scope))
                elif x == "chunk.data_ref().unwrap().len()":
                    e["body_len"] = evaluate(file, ya, yb, scope)
                elif x == "body.as_ref()":
                    e["body"] = as_bytes(evaluate(file, ya, yb, scope))
                elif x == "1":  # client_on_informational_ext: one informational
                    e["informationals"] = 1
            text = canon(file.toks, fn.lo, fn.hi)
            if "res.body_mut().frame().await.is_none()" in text:
                e["body"] = b""
            if what == "eof_after_head":
                e = {"kind": "eof", "status": e.get("status"), "head_first": True}
            if what == "informational_then_09":
                option = "http09_responses(true)"
                e = {"kind": "accept", "informationals": 1, "version": "0.9"}
            if "informational_status" in e:
                e["informationals"] = e.get("informationals", 1)
            cases.append(case("client", line, name, "conn::" + name, "client", data, e,
                              expect_text(e), method=method, option=option) | {"notes": []})
        except (NotUnderstood, IndexError, KeyError, ValueError, StopIteration) as err:
            skipped.append((file.name, 0, name, "NOT READ: %s" % err))
    return cases


# ---------------------------------------------------------------------- server.rs


SERVER_TESTS = {  # name: (what, writes: "all" or "first", option)
    "get_should_ignore_body": ("body", "all", None),
    "get_with_body": ("body", "all", None),
    "post_with_content_length_body": ("body", "all", None),
    "post_with_invalid_prefix_content_length": ("status", "all", None),
    "post_with_chunked_body": ("body", "all", None),
    "post_with_chunked_overflow": ("body_error", "all", None),
    "post_with_incomplete_body": ("incomplete", "all", None),
    "post_with_chunked_missing_final_digit": ("body_error", "all", None),
    "get_chunked_response_with_ka": ("requests", "all", None),
    "keep_alive": ("requests", "all", None),
    "http_10_keep_alive": ("requests", "all", None),
    "expect_continue_sends_100": ("body", "all", None),
    "expect_continue_accepts_upper_cased_expectation": ("body", "all", None),
    "expect_continue_but_http_10_is_ignored": ("body", "all", None),
    "expect_continue_but_no_body_is_ignored": ("requests", "all", None),
    "pipeline_disabled": ("requests", "all", None),
    "pipeline_enabled": ("requests", "all", None),
    "http_10_request_receives_http_10_response": ("version", "all", None),
    "http_11_uri_too_long": ("status", "all", None),
    "disable_keep_alive_mid_request": ("requests", "all", None),
    "http1_graceful_shutdown_after_upgrade": ("switch", "first", None),
    "empty_parse_eof_does_not_return_error": ("no_error", None, None),
    "nonempty_parse_eof_returns_error": ("incomplete", "all", None),
    "http1_allow_half_close": ("requests", "all", None),
    "header_name_too_long": ("status", "all", None),
    "upgrades": ("switch", "first", None),
    "http_connect": ("switch", "first", None),
    "upgrades_new": ("switch", "first", None),
    "http_connect_new": ("switch", "first", None),
    "parse_errors_send_4xx_response": ("status", "all", None),
    "illegal_request_length_returns_400_response": ("status", "all", None),
    "max_buf_size": ("status", "all", "max_buf_size(16000)"),
    "max_buf_size_split_header_boundary": ("status", "all", "max_buf_size(8192)"),
    "http1_trailer_recv_fields": ("trailers", "all", None),
    "http1_trailer_recv_keep_alive": ("trailers", "all", None),
}
SERVER_SKIP = [  # (pattern over test names, reason)
    (r"fixed_response_.*|chunked_response_.*|te_response_adds_chunked|auto_response_.*|"
     r"http10_auto_response_with_unknown_length|http10_chunked_response",
     "response_body_lengths: the framing of hyper's response (a plain GET)"),
    (r"http2_.*|h2_.*|http1_only|http1_response_with_http2_version", "HTTP/2"),
    (r"get_response_custom_reason_phrase|head_response_.*|response_does_not_set_chunked_.*|"
     r"skips_content_length_.*|no_implicit_zero_content_length_for_head_responses|"
     r"http_10_close_on_no_ka|disable_keep_alive|header_connection_close|streaming_body|"
     r"http1_trailer_send_fields.*|http1_trailer_fields_.*",
     "asserts hyper's response only (a plain request)"),
    (r"header_read_timeout_.*|disable_keep_alive_post_request|"
     r"graceful_shutdown_before_first_request_no_block",
     "timers or graceful shutdown"),
    (r"expect_continue_waits_for_body_poll|returning_1xx_response_is_error|"
     r"disconnect_after_reading_request_before_responding|upgrades_ignored",
     "the service's or the I/O's behaviour, not the reading of the bytes"),
    (r"max_buf_size_panic_too_small|max_buf_size_no_panic", "builder settings, no bytes"),
]


def server_cases(file, skipped):
    toks = file.toks
    cases = []
    for fn in file.fns:
        if not fn.is_test:
            continue
        if fn.name not in SERVER_TESTS:
            why = next((r for p, r in SERVER_SKIP if re.fullmatch(p, fn.name)),
                       "NOT CLASSIFIED (new in hyper?)")
            skipped.append((file.name, fn.line, fn.name, why))
            continue
        what, writes, option = SERVER_TESTS[fn.name]
        try:
            scope = Scope(file, fn=fn)
            if writes is None:
                data, line = b"", fn.line
            else:
                data, line = socket_writes(file, fn, {"req", "tcp", "client_io"},
                                           only_first=writes == "first")
            asserts = find_asserts(file, fn)
            statuses = [t.val for t in toks[fn.lo:fn.hi] if t.kind == "str" and
                        re.match(rb"HTTP/1\.[01] [45]\d\d ", t.val)]
            e = {}
            if what == "body":
                body = [(ya, yb) for x, ya, yb, _ in asserts if x in ("server.body()", "body")]
                e = {"kind": "accept", "body": as_bytes(evaluate(file, *body[0], scope))}
            elif what == "status":
                e = {"kind": "reject", "status": int(statuses[0][9:12])}
            elif what == "body_error":
                e = {"kind": "reject"}
                m = re.search(rb"GET (/\w+) HTTP", data)
                if m:
                    e["forbid_target"] = m.group(1)
            elif what == "incomplete":
                e = {"kind": "eof"}
            elif what == "requests":
                e = {"kind": "accept", "count": len(re.findall(
                    rb"(?:^|\n)[A-Z]+ \S+ HTTP/1\.\d\r\n", data)), "scope": "all"}
            elif what == "version":
                e = {"kind": "accept", "version": "1.0"}
            elif what == "switch":
                tail = [(ya, yb) for x, ya, yb, _ in asserts if x == "parts.read_buf"]
                e = {"kind": "accept", "switch": True,
                     "trailing": as_bytes(evaluate(file, *tail[0], scope))}
            elif what == "no_error":
                e = {"kind": "no_error"}
            elif what == "trailers":
                body = [(ya, yb) for x, ya, yb, _ in asserts if x == "server.body()"]
                e = {"kind": "accept", "body": as_bytes(evaluate(file, *body[0], scope))}
                for x, ya, yb, xa in asserts:
                    m = re.fullmatch(r"trailers\.get\(\$\)", x)
                    if m:
                        name = next(t.val for t in toks[xa:ya] if t.kind == "str")
                        val = next(t.val for t in toks[ya:yb] if t.kind == "str")
                        e.setdefault("trailers", []).append((name.lower(), val))
                if "keep_alive" in fn.name:
                    e["count"] = 2
                    e["scope"] = "all"
            notes = []
            cases.append(case("server", line, fn.name, fn.name, "server", data, e,
                              expect_text(e), option=option) | {"notes": notes})
        except (NotUnderstood, IndexError, KeyError, ValueError, StopIteration) as err:
            skipped.append((file.name, fn.line, fn.name, "NOT READ: %s" % err))
    return cases


# ------------------------------------------------------------------------ our side


def run(h1dump, role, method, data, split):
    """h1dump's output, or its failure (a bug of ours): (output, failure lines)."""
    try:
        return run_h1dump(h1dump, role, method, data, split), None
    except RuntimeError as err:
        text = re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1'", str(err))
        return "", [t.strip() for t in text.strip().split("\n")[:3] if t.strip()]
    except subprocess.TimeoutExpired:
        return "", ["h1dump did not finish (hang)"]


def finals(ev):
    """The final messages (a 101, reported as informational, is final for hyper)."""
    return [m for m in ev["msgs"] if m["kind"] != "informational" or m["status"] == 101]


def first_value(fields, name):
    for n, v in fields:
        if n == name:
            return v
    return None


def describe(ev, ended):
    msgs = ev["msgs"]
    parts = ["%d message(s)" % len(msgs)]
    if msgs:
        m = finals(ev)[0] if finals(ev) else msgs[0]
        if m["kind"] == "request":
            parts[0] += " (first: %s %s HTTP/%s%s)" % (
                m["method"], m["target"].decode("latin-1"), m["version"],
                ", body %r" % m["body"][:60] if m["body"] else "")
        else:
            parts[0] += " (first: %sHTTP/%s %d%s)" % (
                "1xx then " if msgs[0]["kind"] == "informational" and m is not msgs[0] else "",
                m["version"], m["status"], ", body %r" % m["body"][:60] if m["body"] else "")
        parts.append("first message %s" % ("ended" if ended else "not ended"))
    if ev["switch_at"] is not None:
        parts.append("switch at %d" % ev["switch_at"])
    if ev["error"]:
        return "ours refuses: %s (%s)" % (ev["error"], ", ".join(parts))
    if ev["eof"]:
        parts.append("then end of input: %s" % ev["eof"])
    return "ours: " + ", ".join(parts)


def compare(e, m, ev, hosted, replaced=False):
    """Differences between what hyper's test asserts and our message `m` (`replaced`: the
    supplied Host field took the place of one of the input's)."""
    diffs = []
    headers = [f for f in m["headers"] if not (hosted and f == HOST_FIELD)]
    if hosted and replaced:
        headers.append((b"key0", b"val0"))
    for key in ("method", "target", "version", "status", "reason"):
        want = e.get(key)
        if want is None:
            continue
        got = m.get(key)
        if key == "method":
            got = (got or "")
        if want != got:
            diffs.append("%s: hyper %r, ours %r" % (key, want, got))
    if e.get("field_count") is not None and e["field_count"] != len(headers):
        diffs.append("field count: hyper %d, ours %d" % (e["field_count"], len(headers)))
    for name, value in e.get("fields", []):
        got = first_value(headers, name)
        if got != value:
            diffs.append("field %s: hyper %r, ours %r%s" % (
                name.decode(), value, got, " (whitespace only)" if got is not None and
                re.sub(rb"[ \t]+", b" ", got) == re.sub(rb"[ \t]+", b" ", value) else ""))
    if e.get("body") is not None and e["body"] != m["body"]:
        diffs.append("body: hyper %r, ours %r" % (e["body"][:80], m["body"][:80]))
    if e.get("body_len") is not None and e["body_len"] != len(m["body"]):
        diffs.append("data length: hyper %d, ours %d" % (e["body_len"], len(m["body"])))
    if e.get("trailer_count") is not None and e["trailer_count"] != len(m["trailers"]):
        diffs.append("trailer count: hyper %d, ours %d" % (e["trailer_count"], len(m["trailers"])))
    for name, value in e.get("trailers", []):
        got = first_value(m["trailers"], name)
        if got != value:
            diffs.append("trailer %s: hyper %r, ours %r" % (name.decode(), value, got))
    for name, values in e.get("trailers_all", []):
        got = [v for n, v in m["trailers"] if n == name]
        if got != values:
            diffs.append("trailer %s: hyper %r, ours %r" % (name.decode(), values, got))
    if e.get("informationals") is not None:
        n = sum(1 for x in ev["msgs"] if x["kind"] == "informational")
        if n != e["informationals"]:
            diffs.append("informational responses: hyper %d, ours %d" % (e["informationals"], n))
    return diffs


def probe_framing(h1dump, c, data, e):
    """The DecodedLength and keep_alive probes: differences."""
    diffs = []
    role, method = c["role"], c["method"]
    framing = e.get("framing")
    extra = b""
    want_body = b""
    if framing == "chunked":
        extra, want_body = PROBE_CHUNKED, b"hello"
    elif isinstance(framing, tuple):
        extra = want_body = b"x" * framing[1]
    elif framing == "close":
        extra = want_body = b"hello"
    fed = data + extra
    if framing not in (None, "zero"):
        ev = read_events(run(h1dump, role, method, fed, 0)[0], fed, first_only=True)
        got = finals(ev)
        if not (ev["ended"] and got and got[0]["body"] == want_body):
            diffs.append("framing: with %r after the head, ours: %s" % (
                extra, describe(read_events(run(h1dump, role, method, fed, 0)[0], fed),
                                ev["ended"])))
    if e.get("keep_alive") is not None and framing != "close":
        nxt = PROBE_REQUEST if role == "server" else PROBE_RESPONSE
        ev = read_events(run(h1dump, role, method, fed + nxt, 0)[0], fed + nxt)
        got = finals(ev)
        kept = len(got) >= 2 and (role == "client" or got[1]["target"] == b"/hyper-probe")
        if kept != e["keep_alive"]:
            diffs.append("keep_alive: hyper %s, ours %s (the next message %s)" % (
                e["keep_alive"], kept, "delivered" if kept else "not delivered"))
    return diffs


def judge(h1dump, c, data, hosted):
    role, method, e = c["role"], c["method"], c["expect"]
    whole, crash = run(h1dump, role, method, data, 0)
    bytewise, crash1 = run(h1dump, role, method, data, 1)
    ev = read_events(whole, data)
    first = read_events(whole, data, first_only=True)
    ended = first["ended"]
    fin = finals(ev)
    diffs, late, notes = [], None, []
    k = e["kind"]
    error, eof = ev["error"], ev["eof"]
    # did we refuse before the first final message ended?
    refused_first = bool(error) and not ended
    if crash or crash1:
        agree = False
    elif k == "accept":
        if e.get("scope") == "all":
            agree = len(fin) == e["count"] and not error and (not eof or e.get("incomplete_ok"))
            if not agree:
                diffs.append("hyper answers %d request(s)/response(s) and reads on; ours: %d "
                             "message(s)%s" % (e["count"], len(fin),
                                               ", then error" if error else ""))
        else:
            agree = bool(fin) and ((ended and not refused_first) or (
                e.get("incomplete_ok") and not error))
            if e.get("count") == 1 and (len(fin) != 1 or error or eof):
                agree = False
        if fin:
            diffs += compare(e, fin[0], ev, hosted, hosted and c.get("host_replaces_field"))
            if e.get("switch") and ev["switch_at"] is None:
                diffs.append("hyper switches protocols; ours does not")
            if e.get("switch") is False and ev["switch_at"] is not None:
                diffs.append("hyper does not switch; ours does")
            if e.get("trailing") is not None and ev["switch_at"] is not None and \
                    data[ev["switch_at"]:] != e["trailing"]:
                diffs.append("bytes after the switch: hyper %r, ours %r" % (
                    e["trailing"], data[ev["switch_at"]:]))
            if agree:
                diffs += probe_framing(h1dump, c, data, e)
        agree = agree and not diffs
    elif k == "reject":
        agree = refused_first
        if not error and eof and (("head" in eof and not fin) or "trailer section" in eof):
            probe = read_events(run(h1dump, role, method, h1dump_io.end_head(data), 0)[0], data)
            late = probe["error"] or "accepted"
            agree = probe["error"] is not None and "missing Host" not in late
        if e.get("forbid_target") and any(m["target"] == e["forbid_target"] for m in fin):
            agree = False
            diffs.append("the pipelined %r was delivered" % e["forbid_target"])
        if agree and e.get("status"):
            m = re.search(r"\((\d{3})\)$", ev["failure"] or late or "")
            if m and int(m.group(1)) != e["status"]:
                notes.append("status: hyper %d, ours %s" % (e["status"], m.group(1)))
    elif k == "eof":
        agree = not error and bool(eof) and not ended
        if e.get("head_first") and not fin:
            agree = False
        if agree and fin:
            diffs = compare(e, fin[0], ev, hosted)
            agree = not diffs
    elif k == "informational":
        agree = not error and not fin and any(m["kind"] == "informational" for m in ev["msgs"])
    elif k == "no_error":
        agree = not error and not eof
    else:
        raise ValueError(k)
    return {"agree": bool(agree), "late": late, "ours": describe(ev, ended), "diffs": diffs,
            "notes": notes, "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("hyper", "hyper checkout or bare git directory"))
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = HyperSource(args.hyper, args.rev)
    readers = (("role", role_cases), ("decode", decode_cases),
               ("client", lambda f, s: test_macros(f, s) + conn_cases(f, s)),
               ("server", server_cases))
    cases, skipped, unread = [], [], []
    for key, reader in readers:
        name = FILES[key]
        try:
            file = RustFile(name, src.read_bytes(name).decode("utf-8"))
        except (NotUnderstood, subprocess.CalledProcessError, OSError, UnicodeDecodeError) as err:
            unread.append("%s: %s: %s" % (name, type(err).__name__, err))
            continue
        cases += reader(file, skipped)

    results = []
    for c in cases:
        data = c["input"]
        plain = judge(h1dump, c, data, False)
        if c["role"] == "server":
            if c["hosted_input"] is not None:
                fed, added = c["hosted_input"], c["hosted_input"] != data
            else:
                fed, points = h1dump_io.add_host(data, HOST)
                added = bool(points)
        else:
            fed, added = data, False
        hosted = judge(h1dump, c, fed, True) if added else plain
        results.append(dict(c, input=data.decode("latin-1"), plain=plain, hosted=hosted,
                            host_added=added, expect=h1dump_io.jsonable(c["expect"]),
                            hosted_input=None if not added else fed.decode("latin-1")))

    counted = [r for r in results if not r["option"]]
    print("hyper: %s (%s at %s)" % (src.commit(), args.hyper, args.rev))
    for key, _ in readers:
        rows = [r for r in results if r["file"] == FILES[key]]
        print("  %s: %d cases (%d depend on a non-default option)" % (
            FILES[key], len(rows), sum(1 for r in rows if r["option"])))
    for u in unread:
        print("NOT READ: %s" % u)
    print()
    print("tests not run (%d):" % len(skipped))
    for f, line, name, why in skipped:
        print("  %s:%d %s: %s" % (f, line, name, why))
    print()
    broken = h1dump_io.report_broken(
        results, "hosted",
        lambda r, j: "%s:%d [%s] %s" % (r["file"], r["line"], r["test"], r["label"]))

    def show(r, quiet_ok):
        p, h = r["plain"], r["hosted"]
        quiet = p["agree"] and h["agree"] and not p["late"] and not p["notes"] and \
            not (r["notes"] and args.verbose)
        if quiet and not quiet_ok:
            return
        print("  %s %s:%d [%s] %s%s" % (h1dump_io.mark(p, h), r["file"], r["line"], r["test"],
                                        r["label"], "  (--method %s)" % r["method"]
                                        if r["method"] else ""))
        if quiet:
            return
        shown = r["input"].encode("latin-1")
        h1dump_io.print_input(shown)
        print("      hyper: %s" % r["hyper"])
        if r["option"]:
            print("      hyper's option: %s" % r["option"])
        h1dump_io.print_ours(p, h, r["host_added"])
        for n in p["notes"] + r["notes"]:
            print("      note: %s" % n)

    h1dump_io.print_disagreements(counted, show, args.verbose, (
        "cases that depend on a non-default option of hyper's (not counted):", [r for r in results if r["option"]]))
    row = h1dump_io.summary_table(38)

    for key, _ in readers:
        row(FILES[key], [r for r in counted if r["file"] == FILES[key]])
    row("all (default options)", counted)
    row("non-default options (not counted)", [r for r in results if r["option"]])
    print("Host supplied in %d cases" % sum(r["host_added"] for r in counted))
    late = [r for r in counted if r["plain"]["agree"] and r["plain"]["late"]]
    print("agreements only once the head (or trailer section) is ended (as is): %d%s" % (
        len(late), "".join(" %s:%d" % (r["file"], r["line"]) for r in late)))
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.drop_whole(results)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=repr)
    return 1 if broken or unread else 0


if __name__ == "__main__":
    sys.exit(main())
