#!/usr/bin/env python3
"""Run the raw HTTP/1.x requests of nginx's test suite through h1dump and count where the core
agrees with nginx's verdict (refused, or parsed and answered).

    cargo build --example h1dump
    python3 benches/conformance/nginx_corpus.py NGINX_TESTS [--rev REV] [--h1dump PATH]
                                                [--verbose] [--json OUT]

NGINX_TESTS is a checkout of https://github.com/nginx/nginx-tests (a directory with
lib/Test/Nginx.pm) or a bare git directory of one, read at HEAD or --rev. Nothing of nginx is
kept in this repository: the Perl test files are read at run time and the requests they send
are evaluated here by a small reader of Perl (below). The figures and their review belong in
docs/conformance.md, with those of the other corpora.

What is read. The files of FILES (those about request parsing); the files of SKIP_FILES are
listed as not run, with the reason (their outcome is set by nginx's configuration). In each
file, every top-level `like(R, qr/RE/, NAME)`, `unlike(...)` and `is(R, VALUE, NAME)` (also
inside TODO:/SKIP: blocks) whose R sends a request with `http(...)`, `http_get`, `http_head`
(evaluated from lib/Test/Nginx.pm) or a sub of the same file is one case: its request is the
bytes given to `http()` (plus its `body =>` option), evaluated from the Perl: string literals
with escapes and interpolation of plain scalars, heredocs (<<EOF, <<"EOF", <<'EOF'), `.`,
`x` with a number, CRLF, qw//, join, map { } over a list, sprintf %x/%d/%s, length, shift,
pop, subs of the file with `my (...) = @_` and plain returns. Anything else is not guessed:
the case is listed as not read, with the reason.

nginx's verdict, from the test (the test passes against nginx):
  - RE names 400, 411, 414, 494, 501 or 505 (`like`): refuse; the same with `unlike`: accept.
  - RE names 2xx, 3xx, 404, or 405 (nginx's answer to TRACE and, since 1.29.3, CONNECT, after
    parsing the request): accept.
  - RE names another status (413: client_max_body_size, 417: Expect, 444, ...): not run, the
    answer is nginx's configuration or semantics, not its parser.
  - RE without a status (`like`) or `is(R, VALUE)`: the handler answered, so accept. An
    `unlike` without a status says nothing about parsing: not run.
  Requests that several tests look at (`my $r = get(...)`) are one case.
Tests whose requests go to another server block (`port(...)`, `socket =>`) or that start a
request without reading the answer (`start =>`) are not read (configuration).

Our verdict: h1dump --role server; accept when the first request is delivered complete and no
error follows in the rest of the input (nginx answers every request of a pipeline), refuse
otherwise. Our status hint is shown when it differs from nginx's status (not counted).

Three runs for each case: as is; with a Host field supplied to HTTP/1.1 requests that have
none (`Host: localhost`, as Test::Nginx sends; the core refuses those, RFC 9112 §3.2); and
with a Host supplied and the bare LF line ends of the head made CRLF. The third run is there
because Perl heredocs end lines with a bare LF, which nginx reads as a line end and the core
refuses (RFC 9112 §2.2 makes accepting it a MAY). Each run goes through h1dump whole and with
`--split 1`; a run whose outputs differ, or where h1dump fails, is listed first, as a bug of
ours. Exit status 1 in that case.
"""

import json
import re
import subprocess
import sys

import h1dump_io
from h1dump_io import Source, read_events, run_h1dump

FILES = ["http_host.t", "http_method.t", "http_uri.t", "http_headers_multi.t",
         "ignore_invalid_headers.t", "body.t", "body_chunked.t", "http_request_port.t",
         "http_absolute_redirect.t", "http_expect_100_continue.t"]
SKIP_FILES = {
    "http_max_headers.t": "limit (max_headers)",
    "http_keepalive.t": "keepalive_requests/_timeout/_disable configuration",
    "http_header_buffers.t": "limits (large_client_header_buffers)",
    "http_location_win32.t": "Windows file name semantics",
    "tunnel.t": "proxying CONNECT (tunnel module)",
    "dav.t": "WebDAV module",
}
LIB = "lib/Test/Nginx.pm"
HOST = b"Host: localhost\r\n"
REFUSE = {400, 411, 414, 494, 501, 505}
# Test::Nginx functions that only look at a response: the test's verdict is about it.
PASS_THROUGH = {"http_content"}
CRLF = b"\r\n"


class NotUnderstood(Exception):
    """Perl this reader does not evaluate."""


# ------------------------------------------------------------------------ Perl tokens


class Tok:
    __slots__ = ("kind", "val", "line")

    def __init__(self, kind, val, line):
        self.kind, self.val, self.line = kind, val, line

    def __repr__(self):
        return "%s:%r@%d" % (self.kind, self.val, self.line)


PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "e": b"\x1b", "0": b"\0", "a": b"\x07",
       "f": b"\x0c"}
OPS = sorted("""=> -> ||= &&= //= .= x= += -= == != <= >= =~ !~ && || // ++ -- ** :: <=>
. , ; ( ) [ ] { } = ? : ! + - * / % < > \\ & |""".split(), key=len, reverse=True)
# After these a `/` starts a regex, not a division.
REGEX_AFTER = {"(", ",", "=", "=~", "!~", "!", "{", ";", "&&", "||", "?", ":", "=>",
               "return", "and", "or", "not", "if", "unless", "split", "grep", "map"}


def interpolating(body, line):
    """A double-quoted string's body as parts: bytes, or ("var", name)."""
    parts, buf, i = [], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            e = body[i + 1]
            if e in ESC:
                buf += ESC[e]
                i += 2
            elif e == "x":
                m = re.match(r"\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{1,2})", body[i + 2:])
                if not m:
                    parts.append(("bad", "line %d: escape \\x" % line))
                    i += 2
                    continue
                v = int(m.group(1) or m.group(2), 16)
                buf += bytes([v]) if v < 256 else chr(v).encode("utf-8")
                i += 2 + m.end()
            elif e.isalnum():
                parts.append(("bad", "line %d: escape \\%s" % (line, e)))
                i += 2
            else:
                buf += e.encode("latin-1")
                i += 2
        elif c in "$@":
            m = re.match(r"[$@](\{(\w+)\}|(\w+))", body[i:])
            if not m:
                buf += c.encode("latin-1")
                i += 1
                continue
            name = m.group(2) or m.group(3)
            rest = body[i + m.end():]
            if re.match(r"\[|\{|->", rest) and not m.group(2) or c == "@":
                parts.append(("bad", "line %d: interpolation of %s%s%s" % (
                    line, c, name, "..." if c == "$" else "")))
                i += m.end()
                continue
            if buf:
                parts.append(bytes(buf))
                buf = bytearray()
            parts.append(("var", name))
            i += m.end()
        else:
            buf += c.encode("utf-8")
            i += 1
    if buf:
        parts.append(bytes(buf))
    return parts


def single(body):
    return re.sub(r"\\([\\'])", r"\1", body).encode("utf-8")


def delimited(text, i, line):
    """The body of a quote-like construct whose delimiter is at text[i], and the index after."""
    open_ = text[i]
    close = PAIRS.get(open_, open_)
    depth, j = 1, i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == close and open_ != close:
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
        elif c == open_ and open_ != close:
            depth += 1
        elif c == close:
            return text[i + 1:j], j + 1
        j += 1
    raise NotUnderstood("line %d: unterminated %s" % (line, open_))


def tokenize(text):
    """Perl tokens of `text` (heredoc bodies as strings, POD and comments skipped)."""
    toks, pending = [], []
    i, line, n = 0, 1, len(text)

    def last():
        return toks[-1] if toks else None

    def regex_ok():
        t = last()
        return t is None or (t.kind == "op" and t.val in REGEX_AFTER) or \
            (t.kind == "id" and t.val in REGEX_AFTER)

    while i < n:
        c = text[i]
        if c == "\n":
            i += 1
            line += 1
            for tok, tag, interp in pending:
                body = []
                while i < n:
                    j = text.find("\n", i)
                    j = n if j < 0 else j
                    row = text[i:j]
                    i, line = j + 1, line + 1
                    if row == tag:
                        break
                    body.append(row + "\n")
                else:
                    raise NotUnderstood("heredoc %s not terminated" % tag)
                s = "".join(body)
                tok.val = interpolating(s, tok.line) if interp else [s.encode("utf-8")]
            pending = []
            if text.startswith("=", i) and re.match(r"=[a-zA-Z]", text[i:]):
                j = text.find("\n=cut", i)
                j = n if j < 0 else text.find("\n", j + 1)
                line += text.count("\n", i, j if j > 0 else n)
                i = n if j < 0 else j
            if text.startswith("__END__", i) or text.startswith("__DATA__", i):
                break
        elif c in " \t\r":
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("<<", i) and re.match(r"<<(~?)(['\"]?)([A-Za-z_]\w*)\2",
                                                   text[i:]):
            m = re.match(r"<<(~?)(['\"]?)([A-Za-z_]\w*)\2", text[i:])
            if m.group(1):
                raise NotUnderstood("line %d: indented heredoc" % line)
            tok = Tok("str", None, line)
            toks.append(tok)
            pending.append((tok, m.group(3), m.group(2) != "'"))
            i += m.end()
        elif c == "'":
            body, i2 = delimited(text, i, line)
            toks.append(Tok("str", [single(body)], line))
            line += body.count("\n")
            i = i2
        elif c == '"':
            body, i2 = delimited(text, i, line)
            toks.append(Tok("str", interpolating(body, line), line))
            line += body.count("\n")
            i = i2
        elif c == "/" and regex_ok():
            body, i2 = delimited(text, i, line)
            m = re.match(r"[a-z]*", text[i2:])
            toks.append(Tok("regex", (body, m.group(0)), line))
            i = i2 + m.end()
        elif c == "$" and re.match(r"\$(\w+|_|[/\\!@0&;,.])", text[i:]):
            m = re.match(r"\$(#?\{?\w+\}?|[/\\!@0&;,.])", text[i:])
            toks.append(Tok("scalar", m.group(1).strip("{}"), line))
            i += m.end()
        elif c == "@" and re.match(r"@(\w+|_)", text[i:]):
            m = re.match(r"@(\w+)", text[i:])
            toks.append(Tok("array", m.group(1), line))
            i += m.end()
        elif c == "%" and re.match(r"%[A-Za-z_]\w*", text[i:]) and regex_ok():
            m = re.match(r"%(\w+)", text[i:])
            toks.append(Tok("hash", m.group(1), line))
            i += m.end()
        elif c.isdigit():
            m = re.match(r"0[xX][0-9a-fA-F]+|\d[\d_]*(\.\d+)?(e[+-]?\d+)?", text[i:])
            toks.append(Tok("num", m.group(0), line))
            i += m.end()
        elif c.isalpha() or c == "_":
            m = re.match(r"\w+(::\w+)*", text[i:])
            word = m.group(0)
            j = i + m.end()
            rest = text[j:]
            q = re.match(r"\s*([^\w\s,;)=])", rest) if word in ("q", "qq", "qw", "qr", "m",
                                                                 "s", "tr", "y") else None
            if q and not (word in ("s", "y", "m", "q") and q.group(1) in "=,;)}>-"):
                k = j + q.start(1)
                body, k2 = delimited(text, k, line)
                line += body.count("\n")
                if word in ("s", "tr", "y"):
                    if text[k] in PAIRS:
                        k3 = k2 + len(re.match(r"\s*", text[k2:]).group(0))
                        body2, k2 = delimited(text, k3, line)
                    else:
                        body2, k2 = delimited(text, k2 - 1, line)
                    m2 = re.match(r"[a-z]*", text[k2:])
                    toks.append(Tok("subst", (body, body2), line))
                    i = k2 + m2.end()
                    continue
                if word == "q":
                    toks.append(Tok("str", [single(body)], line))
                elif word == "qq":
                    toks.append(Tok("str", interpolating(body, line), line))
                elif word == "qw":
                    toks.append(Tok("qw", [w.encode("utf-8") for w in body.split()], line))
                else:
                    m2 = re.match(r"[a-z]*", text[k2:])
                    toks.append(Tok("regex", (body, m2.group(0)), line))
                    k2 += m2.end()
                i = k2
                continue
            toks.append(Tok("id", word, line))
            i = j
            if len(toks) > 1 and toks[-2].kind == "id" and toks[-2].val == "sub":
                proto = re.match(r"\s*\([$@%;\\&*\s]*\)", rest)
                i += proto.end() if proto else 0
        else:
            for op in OPS:
                if text.startswith(op, i):
                    toks.append(Tok("op", op, line))
                    i += len(op)
                    break
            else:
                toks.append(Tok("op", c, line))
                i += 1
    return toks


def closing(toks, i):
    """Index of the bracket closing the one at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j]
        if t.kind == "op" and t.val in "([{":
            depth += 1
        elif t.kind == "op" and t.val in ")]}":
            depth -= 1
            if depth == 0:
                return j
    raise NotUnderstood("line %d: unbalanced %s" % (toks[i].line, toks[i].val))


def statements(toks, lo, hi):
    """(lo, hi) token ranges of the statements in toks[lo:hi]; a `{...}` block that follows
    `sub NAME`, a label or `BEGIN` is one statement."""
    out, i, start = [], lo, lo
    while i < hi:
        t = toks[i]
        if t.kind == "op" and t.val == ";":
            if i > start:
                out.append((start, i))
            i += 1
            start = i
        elif t.kind == "op" and t.val in "([{":
            j = closing(toks, i)
            if t.val == "{" and (i == start + 2 and toks[start].val == "sub" or
                                 i == start + 2 and toks[start + 1].val == ":" or
                                 i == start + 1 and toks[start].val in ("BEGIN", "END")):
                out.append((start, j + 1))
                start = j + 1
            i = j + 1
        else:
            i += 1
    if hi > start:
        out.append((start, hi))
    return out


# ------------------------------------------------------------------------ Perl values


class Response:
    """What `http()` returned: the request it sent, and the tests that looked at it."""

    def __init__(self, request, line, options):
        self.request, self.line, self.options = request, line, options
        self.tests = []


class Sub:
    def __init__(self, name, toks, lo, hi, file):
        self.name, self.toks, self.lo, self.hi, self.file = name, toks, lo, hi, file


def truthy(v):
    if isinstance(v, list):
        return bool(v)
    return v not in (None, b"", b"0", 0)


def scalar(v):
    if isinstance(v, list):
        return v[-1] if v else None
    return v


def as_bytes(v, line):
    v = scalar(v)
    if v is None:
        return b""
    if isinstance(v, Response):
        raise NotUnderstood("line %d: a response used as a string" % line)
    if isinstance(v, (int, float)):
        return str(v).encode()
    return v


class Interp:
    """A tiny evaluator of the Perl the request helpers are written in."""

    def __init__(self, toks, subs):
        self.toks, self.subs = toks, subs
        self.responses = []

    # Expressions: list (,) < ternary < || < . < x < unary/terms.

    def parse_list(self, i, hi, env):
        vals = []
        while i < hi:
            v, i = self.ternary(i, hi, env)
            vals.extend(v if isinstance(v, list) else [v])
            if i < hi and self.toks[i].kind == "op" and self.toks[i].val in (",", "=>"):
                i += 1
                continue
            if i < hi:
                raise NotUnderstood("line %d: unexpected %s" % (self.toks[i].line,
                                                                 self.toks[i].val))
        return vals

    def is_op(self, i, hi, *vals):
        return i < hi and self.toks[i].kind == "op" and self.toks[i].val in vals

    def ternary(self, i, hi, env):
        c, i = self.oror(i, hi, env)
        if self.is_op(i, hi, "?"):
            a, i = self.ternary(i + 1, hi, env)
            if not self.is_op(i, hi, ":"):
                raise NotUnderstood("line %d: ?: " % self.toks[i - 1].line)
            b, i = self.ternary(i + 1, hi, env)
            return (a if truthy(c) else b), i
        return c, i

    def oror(self, i, hi, env):
        a, i = self.concat(i, hi, env)
        while self.is_op(i, hi, "||", "//"):
            b, i = self.concat(i + 1, hi, env)
            a = a if truthy(a) else b
        return a, i

    def concat(self, i, hi, env):
        a, i = self.repeat(i, hi, env)
        while self.is_op(i, hi, "."):
            b, i = self.repeat(i + 1, hi, env)
            a = as_bytes(a, self.toks[i - 1].line) + as_bytes(b, self.toks[i - 1].line)
        return a, i

    def repeat(self, i, hi, env):
        a, i = self.term(i, hi, env)
        while i < hi and self.toks[i].kind == "id" and self.toks[i].val == "x":
            b, i = self.term(i + 1, hi, env)
            count = int(as_bytes(b, self.toks[i - 1].line))
            if isinstance(a, list) and self.toks[i - 1].kind != "op":
                a = a * count
            else:
                a = as_bytes(a, self.toks[i - 1].line) * count
        return a, i

    def args(self, i, hi, env):
        """Arguments of a call at toks[i]: parenthesized, or a list up to hi."""
        if self.is_op(i, hi, "("):
            j = closing(self.toks, i)
            return self.parse_list(i + 1, j, env), j + 1
        j = i
        while j < hi and not (self.toks[j].kind == "op" and self.toks[j].val in (")", ";")):
            if self.toks[j].kind == "op" and self.toks[j].val in "([{":
                j = closing(self.toks, j)
            j += 1
        return self.parse_list(i, j, env), j

    def term(self, i, hi, env):
        if i >= hi:
            raise NotUnderstood("expression ends early")
        t = self.toks[i]
        if t.kind == "str":
            out = b""
            for p in t.val:
                if isinstance(p, tuple) and p[0] == "bad":
                    raise NotUnderstood(p[1])
                if isinstance(p, tuple):
                    out += as_bytes(self.var(p[1], env, t.line), t.line)
                else:
                    out += p
            return out, i + 1
        if t.kind == "num":
            return int(t.val, 0) if re.match(r"^[\d_]+$|^0x", t.val) else float(t.val), i + 1
        if t.kind == "qw":
            return list(t.val), i + 1
        if t.kind == "scalar":
            return self.var(t.val, env, t.line), i + 1
        if t.kind == "array":
            v = env.get("@" + t.val)
            if v is None:
                raise NotUnderstood("line %d: @%s" % (t.line, t.val))
            return list(v), i + 1
        if t.kind == "hash" and "%" + t.val in env:
            return list(env["%" + t.val]), i + 1
        if t.kind == "op" and t.val == "(":
            j = closing(self.toks, i)
            return self.parse_list(i + 1, j, env), j + 1
        if t.kind == "op" and t.val == "-" and i + 1 < hi and self.toks[i + 1].kind == "num":
            v, k = self.term(i + 1, hi, env)
            return -v, k
        if t.kind == "id" and self.is_op(i + 1, hi, "=>"):
            return t.val.encode("latin-1"), i + 1
        if t.kind == "id":
            return self.call(t, i, hi, env)
        raise NotUnderstood("line %d: %s %r" % (t.line, t.kind, t.val))

    def var(self, name, env, line):
        if name in env:
            return env[name]
        raise NotUnderstood("line %d: $%s unknown" % (line, name))

    def call(self, t, i, hi, env):
        name = t.val
        if name == "CRLF":
            if self.is_op(i + 1, hi, "("):
                return CRLF, closing(self.toks, i + 1) + 1
            return CRLF, i + 1
        if name == "map":
            if not self.is_op(i + 1, hi, "{"):
                raise NotUnderstood("line %d: map without a block" % t.line)
            j = closing(self.toks, i + 1)
            items, k = self.args(j + 1, hi, env)
            out = []
            for item in items:
                inner = dict(env)
                inner["_"] = item
                v = self.block(i + 2, j, inner)
                out.extend(v if isinstance(v, list) else [v])
            return out, k
        if name in ("shift", "pop") and not self.is_op(i + 1, hi, "("):
            arr = env.get("@_")
            if arr is None:
                raise NotUnderstood("line %d: %s" % (t.line, name))
            return (arr.pop(0) if name == "shift" else arr.pop()) if arr else None, i + 1
        if name == "length":
            a, k = self.unary_arg(i + 1, hi, env)
            return len(as_bytes(a, t.line)), k
        if name == "defined":
            a, k = self.unary_arg(i + 1, hi, env)
            return (1 if scalar(a) is not None else 0), k
        if name == "undef":
            return None, i + 1
        args, k = self.args(i + 1, hi, env)
        if name == "join":
            sep = as_bytes(args[0], t.line)
            return sep.join(as_bytes(a, t.line) for a in args[1:]), k
        if name == "sprintf":
            return self.sprintf(args, t.line), k
        if name == "http":
            return self.http(args, t.line), k
        if name in PASS_THROUGH and args and isinstance(args[0], Response):
            return args[0], k
        if name in self.subs:
            return self.run_sub(self.subs[name], args, t.line), k
        raise NotUnderstood("line %d: %s()" % (t.line, name))

    def unary_arg(self, i, hi, env):
        if self.is_op(i, hi, "("):
            j = closing(self.toks, i)
            v = self.parse_list(i + 1, j, env)
            return (v[0] if len(v) == 1 else v), j + 1
        return self.term(i, hi, env)

    def sprintf(self, args, line):
        fmt = as_bytes(args[0], line).decode("latin-1")
        vals = list(args[1:])

        def one(m):
            spec = m.group(0)
            if spec == "%%":
                return "%"
            v = vals.pop(0)
            if spec[-1] in "xXd":
                return spec % int(as_bytes(v, line))
            if spec[-1] == "s":
                return spec % as_bytes(v, line).decode("latin-1")
            raise NotUnderstood("line %d: sprintf %s" % (line, spec))
        return re.sub(r"%[-0-9.]*[a-zA-Z%]", one, fmt).encode("latin-1")

    def http(self, args, line):
        request = as_bytes(args[0], line)
        options = {}
        rest = args[1:]
        for k in range(0, len(rest) - 1, 2):
            options[as_bytes(rest[k], line).decode("latin-1")] = rest[k + 1]
        for key in options:
            if key not in ("sleep", "body"):
                raise NotUnderstood("line %d: http(..., %s => ...): %s" % (
                    line, key, "another server block or connection (configuration)"
                    if key == "socket" else "not a request and its answer"))
        if "body" in options:
            request += as_bytes(options["body"], line)
        r = Response(request, line, options)
        self.responses.append(r)
        return r

    def run_sub(self, sub, args, line):
        if sub.file != self.toks_file:
            inner = Interp(sub.toks, self.subs)
            inner.toks_file = sub.file
            inner.responses = self.responses
            return inner.run_sub(sub, args, line)
        env = {"@_": list(args)}
        return self.block(sub.lo, sub.hi, env, sub=True)

    def block(self, lo, hi, env, sub=False):
        """Runs statements; the value of a `return` or of the last statement."""
        value = None
        for a, b in statements(self.toks, lo, hi):
            done, value = self.statement(a, b, env)
            if done:
                return value
        return value

    def statement(self, a, b, env):
        toks = self.toks
        t = toks[a]
        # Statement modifiers: `... if COND` / `... unless COND`.
        for k in range(a + 1, b):
            if toks[k].kind == "id" and toks[k].val in ("if", "unless"):
                cond = truthy(self.parse_list(k + 1, b, env))
                if (toks[k].val == "if") != cond:
                    return False, None
                b = k
                break
        if t.kind == "id" and t.val == "return":
            v = self.parse_list(a + 1, b, env)
            return True, v[0] if len(v) == 1 else v
        if t.kind == "id" and t.val in ("my", "local") or (
                t.kind == "scalar" and b > a + 1 and toks[a + 1].kind == "op"
                and toks[a + 1].val in ("=", "||=")):
            k = a + 1 if t.kind == "id" else a
            if toks[k].kind == "op" and toks[k].val == "(":
                j = closing(toks, k)
                names = [x for x in toks[k + 1:j] if x.kind in ("scalar", "array", "hash")]
                if not self.is_op(j + 1, b, "="):
                    raise NotUnderstood("line %d: my (...)" % t.line)
                vals = self.parse_list(j + 2, b, env)
                for x in names:
                    if x.kind in ("array", "hash"):
                        env[("@" if x.kind == "array" else "%") + x.val] = vals
                        vals = []
                    else:
                        env[x.val] = vals.pop(0) if vals else None
                return False, None
            x = toks[k]
            if x.kind not in ("scalar", "array"):
                raise NotUnderstood("line %d: declaration" % t.line)
            key = x.val if x.kind == "scalar" else "@" + x.val
            if k + 1 >= b:
                env[key] = None
                return False, None
            op = toks[k + 1].val
            if op == "||=" and truthy(env.get(key)):
                return False, None
            if op not in ("=", "||="):
                raise NotUnderstood("line %d: %s" % (t.line, op))
            vals = self.parse_list(k + 2, b, env)
            env[key] = vals if x.kind == "array" else (vals[-1] if vals else None)
            return False, None
        v = self.parse_list(a, b, env)
        return False, (v[0] if len(v) == 1 else v)


# ------------------------------------------------------------------------ the corpus


def load_subs(toks, file, subs):
    for a, b in statements(toks, 0, len(toks)):
        if toks[a].kind == "id" and toks[a].val == "sub" and b - a >= 3 and \
                toks[a + 2].kind == "op" and toks[a + 2].val == "{":
            subs[toks[a + 1].val] = Sub(toks[a + 1].val, toks, a + 3, b - 1, file)


STATUS = re.compile(r"(?<![\d{,])([1-5]\d\d)(?![\d},])")


def verdict(kind, regex, value):
    """nginx's verdict from a test: ("accept"|"refuse", status or None), or ("skip", why)."""
    if kind == "is":
        return ("accept", None) if value is not None else ("skip", "is(..., undef)")
    body = regex[0]
    codes = sorted({int(c) for c in STATUS.findall(body)})
    if len(codes) > 1:
        if all(c in REFUSE for c in codes) or all(c not in REFUSE for c in codes):
            pass
        else:
            return ("skip", "the test admits refusal or answer (%s)" % body)
    if codes:
        c = codes[0]
        if c in REFUSE:
            return ("refuse", c) if kind == "like" else ("accept", None)
        if 100 <= c < 400 or c in (404, 405):
            if kind == "like":
                return ("accept", c)
            return ("skip", "unlike a %d says nothing about parsing" % c)
        return ("skip", "status %d is nginx's configuration or semantics, not its parser" % c)
    if kind == "like":
        return ("accept", None)
    return ("skip", "unlike content says nothing about parsing")


def read_file_cases(src, name, lib_subs, cases, skipped):
    text = src.read_bytes(name).decode("utf-8")
    toks = tokenize(text)
    subs = dict(lib_subs)
    load_subs(toks, name, subs)
    interp = Interp(toks, subs)
    interp.toks_file = name
    env = {}

    def walk(lo, hi):
        for a, b in statements(toks, lo, hi):
            t = toks[a]
            if t.kind == "id" and t.val in ("sub", "use", "BEGIN", "select", "plan"):
                continue
            if t.kind == "id" and b - a > 2 and toks[a + 1].kind == "op" and \
                    toks[a + 1].val == ":" and toks[a + 2].val == "{":
                walk(a + 3, b - 1)
                continue
            if t.kind == "id" and t.val in ("like", "unlike", "is") and \
                    toks[a + 1].kind == "op" and toks[a + 1].val == "(":
                test(t, a, b)
                continue
            if t.kind == "id" and t.val in ("my", "local") or t.kind == "scalar":
                if t.kind == "scalar" and t.val in ("t",):
                    continue
                try:
                    before = len(interp.responses)
                    interp.statement(a, b, env)
                    del interp.responses[before:]
                except (NotUnderstood, IndexError, ValueError, TypeError) as err:
                    # A variable this reader cannot evaluate: its uses will say so.
                    for x in toks[a:b]:
                        if x.kind == "scalar" and x.val not in env:
                            env[x.val] = Unread(str(err))
                            break
                    for x in toks[a:b]:
                        if x.kind == "op" and x.val == "=":
                            break
                        if x.kind == "scalar":
                            env[x.val] = Unread(str(err))
                continue

    def test(t, a, b):
        j = closing(toks, a + 1)
        parts = split_args(toks, a + 2, j)
        label = "?"
        if len(parts) >= 3:
            try:
                label = as_bytes(interp.parse_list(parts[2][0], parts[2][1], env),
                                 t.line).decode("utf-8", "replace")
            except (NotUnderstood, IndexError, ValueError, TypeError):
                pass
        where = "%s:%d" % (name, t.line)
        if len(parts) < 2:
            skipped.append((where, label, "not understood: arguments"))
            return
        try:
            before = len(interp.responses)
            subject = interp.parse_list(parts[0][0], parts[0][1], env)
            new = interp.responses[before:]
            subject = scalar(subject)
            if isinstance(subject, Unread):
                raise NotUnderstood(subject.why)
            if not isinstance(subject, Response):
                if len(new) == 1:
                    subject = new[0]
                else:
                    raise NotUnderstood("no request sent by http(), or several")
            if t.val == "is":
                value = interp.parse_list(parts[1][0], parts[1][1], env)
                v = verdict("is", None, scalar(value))
            else:
                x = toks[parts[1][0]]
                if x.kind != "regex":
                    raise NotUnderstood("second argument is no regex")
                v = verdict(t.val, x.val, None)
        except (NotUnderstood, IndexError, ValueError, TypeError, KeyError) as err:
            called = [subs[x.val] for x in toks[parts[0][0]:parts[0][1]]
                      if x.kind == "id" and x.val in subs]
            if any(x.kind == "id" and x.val in ("port", "socket")
                   for sub in called for x in sub.toks[sub.lo:sub.hi]):
                err = "sent to another server block (configuration): %s" % err
            skipped.append((where, label, "not read: %s" % err))
            return
        if v[0] == "skip":
            skipped.append((where, label, v[1]))
            return
        for c in cases:
            if c["response"] is subject:
                c["tests"].append((where, label, v))
                return
        cases.append({"file": name, "line": t.line, "response": subject,
                      "tests": [(where, label, v)]})

    walk(0, len(toks))


class Unread:
    def __init__(self, why):
        self.why = why


def split_args(toks, lo, hi):
    out, start, i = [], lo, lo
    while i < hi:
        x = toks[i]
        if x.kind == "op" and x.val in "([{":
            i = closing(toks, i) + 1
            continue
        if x.kind == "op" and x.val in (",", "=>"):
            out.append((start, i))
            start = i + 1
        i += 1
    if hi > start:
        out.append((start, hi))
    return out


# ------------------------------------------------------------------------ our side


def crlf_head(data):
    """`data` with the bare LF line ends of its first head made CRLF."""
    m = re.search(rb"\r?\n\r?\n", data)
    end = m.end() if m else len(data)
    return re.sub(rb"(?<!\r)\n", b"\r\n", data[:end]) + data[end:]


def judge(h1dump, data):
    try:
        whole = run_h1dump(h1dump, "server", None, data, 0, timeout=60)
        bytewise = run_h1dump(h1dump, "server", None, data, 1, timeout=120)
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        return {"agree": False, "accept": None, "crash": [str(err)], "split_consistent": True,
                "ours": "h1dump failed: %s" % err, "status_hint": None, "diffs": [],
                "late": None, "whole": "", "bytewise": None}
    ev = read_events(whole, data)
    first = read_events(whole, data, first_only=True)
    accept = first["ended"] and ev["failure"] is None
    m = re.search(r"\((\d{3})\)$", ev["failure"] or "")
    msgs = ev["msgs"]
    parts = ["%d request(s)" % len(msgs)]
    if msgs:
        parts[0] += " (first: %s %r HTTP/%s)" % (msgs[0]["method"], msgs[0]["target"],
                                                  msgs[0]["version"])
    if ev["switch_at"] is not None:
        parts.append("switched at %d" % ev["switch_at"])
    if ev["failure"]:
        parts.append("then error: %s" % ev["failure"])
    return {"accept": accept, "crash": [], "split_consistent": whole == bytewise,
            "ours": "ours: " + ("accepted" if accept else "refused") + ", " + ", ".join(parts),
            "status_hint": int(m.group(1)) if m else None, "diffs": [], "late": None,
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


def nginx_says(expect):
    kind, status = expect
    if kind == "refuse":
        return "refuses (%d)" % status
    return "answers" + (" %d" % status if status else " from the handler (content checked)")


def main():
    ap = h1dump_io.corpus_arguments(
        __doc__, ("nginx_tests", "nginx-tests checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = Source(args.nginx_tests, args.rev, LIB)

    skipped, cases, unread = [], [], []
    lib_subs = {}
    try:
        # Only the request helpers: the rest of the module is no business of this reader.
        lib = src.read_bytes(LIB).decode("utf-8")
        for m in re.finditer(r"(?ms)^sub (http_get|http_head)\b.*?^\}\n", lib):
            line = lib.count("\n", 0, m.start())
            load_subs(tokenize("\n" * line + m.group(0)), LIB, lib_subs)
        if set(lib_subs) != {"http_get", "http_head"}:
            raise NotUnderstood("http_get/http_head not found")
    except (NotUnderstood, subprocess.CalledProcessError, OSError, UnicodeDecodeError) as err:
        unread.append("%s: %s" % (LIB, err))
    for name in FILES:
        try:
            read_file_cases(src, name, lib_subs, cases, skipped)
        except (NotUnderstood, subprocess.CalledProcessError, OSError,
                UnicodeDecodeError) as err:
            unread.append("%s: %s: %s" % (name, type(err).__name__, err))

    results = []
    for c in cases:
        kinds = {v[0] for _, _, v in c["tests"]}
        if len(kinds) > 1:
            for where, label, v in c["tests"]:
                skipped.append((where, label, "tests of one request disagree"))
            continue
        expect = c["tests"][0][2]
        data = c["response"].request
        plain = judge(h1dump, data)
        fed, points = h1dump_io.add_host(data, HOST)
        hosted = judge(h1dump, fed) if points else plain
        fixed = crlf_head(fed)
        crlf = judge(h1dump, fixed) if fixed != fed else hosted
        for j in (plain, hosted, crlf):
            if not j["crash"]:
                j["agree"] = j["accept"] == (expect[0] == "accept")
            j["note"] = None
            if expect[0] == "refuse" and j["agree"] and j["status_hint"] and \
                    j["status_hint"] != expect[1]:
                j["note"] = "status: nginx %d, ours %d" % (expect[1], j["status_hint"])
        results.append({"file": c["file"], "line": c["line"],
                        "tests": ["%s %s" % (w, l) for w, l, _ in c["tests"]],
                        "label": c["tests"][0][1], "input": data.decode("latin-1"),
                        "expect": {"kind": expect[0], "status": expect[1]},
                        "nginx": nginx_says(expect), "plain": plain, "hosted": hosted,
                        "crlf": crlf, "host_added": bool(points),
                        "crlf_input": fixed.decode("latin-1") if fixed != fed else None})

    print("nginx-tests: %s (%s at %s)" % (src.commit(), args.nginx_tests, args.rev))
    print("  %d cases from %d files; %d tests not run; files not run: %s" % (
        len(results), len(FILES), len(skipped),
        ", ".join("%s (%s)" % kv for kv in SKIP_FILES.items())))
    for u in unread:
        print("NOT READ: %s" % u)
    print()

    def run_of(r, j):
        return "plain" if j is r["plain"] else "crlf" if j is r["crlf"] else "hosted"

    def label(r, j):
        return "%s:%d  %s  [%s run]" % (r["file"], r["line"], r["label"], run_of(r, j))

    def run_input(r, j):
        run = run_of(r, j)
        if run == "crlf":
            return r["crlf_input"].encode("latin-1")
        data = r["input"].encode("latin-1")
        return data if run == "plain" else h1dump_io.add_host(data, HOST)[0]

    h1dump_io.report_broken(results, "hosted", label, run_input)
    h1dump_io.report_broken([dict(r, plain=r["crlf"]) for r in results
                             if r["crlf"] is not r["hosted"]], "crlf", label, run_input)

    print("disagreements (as is; [host] = agrees once a Host field is supplied; "
          "crlf = once the head's bare LF are CRLF too)%s:" % (
              " and agreements" if args.verbose else ""))
    for r in results:
        p, h, c = r["plain"], r["hosted"], r["crlf"]
        if p["agree"] and h["agree"] and c["agree"] and not args.verbose and not p["note"]:
            continue
        print("  %s %s%s:%d %s" % (h1dump_io.mark(p, h),
                                   "" if c["agree"] else "[XX crlf] ",
                                   r["file"], r["line"], r["label"]))
        if p["agree"] and h["agree"] and c["agree"] and not p["note"]:
            continue
        shown = r["input"].encode("latin-1")
        h1dump_io.print_input(shown)
        print("      nginx: %s  (%s)" % (r["nginx"], "; ".join(r["tests"])))
        h1dump_io.print_ours(p, h, r["host_added"])
        if r["crlf_input"]:
            print("      bare LF made CRLF (and Host supplied): %s" % (
                "agrees" if c["agree"] else c["ours"]))
        for j in (p, h, c):
            if j["note"]:
                print("      note: %s" % j["note"])
                break
    print()
    print("not run:")
    for where, label, why in skipped:
        print("  %s %s: %s" % (where, label, why))
    print()

    print("%-28s %6s %14s %16s %16s" % ("file", "cases", "as is", "Host supplied",
                                         "+ bare LF->CRLF"))

    def row(label, rows):
        agree = sum(r["crlf"]["agree"] for r in rows)
        print("%-28s %6d %s %8d %5.1f%%" % (label, len(rows), h1dump_io.agreement(rows),
                                          agree, 100.0 * agree / len(rows) if rows else 0))

    for name in FILES:
        rows = [r for r in results if r["file"] == name]
        if rows:
            row(name, rows)
    row("all", results)
    refusals = [r for r in results if r["expect"]["kind"] == "refuse" and r["crlf"]["agree"]]
    same = sum(1 for r in refusals if r["crlf"]["status_hint"] == r["expect"]["status"])
    print("refused where nginx refuses (third run): %d; with nginx's status as our hint: %d" % (
        len(refusals), same))
    bad = h1dump_io.print_consistency(results, ("plain", "hosted", "crlf")) > 0
    if args.json:
        h1dump_io.drop_whole(results, ("plain", "hosted", "crlf"))
        with open(args.json, "w") as f:
            json.dump({"commit": src.commit(), "results": results,
                       "not_run": [{"where": w, "test": l, "why": y} for w, l, y in skipped],
                       "files_not_run": SKIP_FILES, "not_read": unread}, f, indent=1,
                      default=repr)
    return 1 if bad or unread else 0


if __name__ == "__main__":
    sys.exit(main())
