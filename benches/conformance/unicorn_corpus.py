#!/usr/bin/env python3
"""Run unicorn's HTTP parser tests (test/unit/test_http_parser.rb, test_http_parser_ng.rb)
through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/unicorn_corpus.py UNICORN [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

UNICORN is a unicorn checkout (a directory with test/unit/test_http_parser.rb) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the two Ruby files are read at run time and each test method is replayed by a
small interpreter of the Ruby these tests are written in. unicorn's parser is the Ragel
parser of Mongrel (as Puma's is); these are its tests, on its HttpParser class, whose
`parse` returns the Rack env once a head is complete, nil while it is not, and raises
HttpParserError on a malformed one.

What is run. A test method is replayed statement by statement: string literals ("..."
with its escapes and #{} interpolation of the method's own variables, '...', %(...),
adjacent literals and `\\` line continuations), `+`, `*` and `<<` on strings, variables,
`%w(...)` and `[ ... ]` lists with `.each` blocks (expanded), `assert_raises(...) {}`. Every
byte given to one parser (`parser.buf << s`, `parser.headers(req, s)` (s is then the
parser's buffer), `parser.add_parse(s)`) is that parser's input, in order; a new parser
(`HttpParser.new`) or `parser.clear` / `reset` starts a new case. Each case is then fed to
`h1dump --role server` whole and with --split 1, then the end of input. A method that uses
what the interpreter does not know (random data, `.times` or `each_byte` loops, body
filtering with `filter_body`, trailers, conditionals, helper methods) is not run and is
listed as skipped, with the reason.

How a verdict maps to ours (the verdict of a case is that of its last parse call):

  complete     (`assert_equal req, parser.parse`, `assert parser.parse`, `ok = ...;
               assert ok`, or a parse whose result is not asserted, the test going on to
               read the env): we deliver the request head, with no error before it (a body
               the input does not hold is not judged: the end of input in it is not a
               refusal). Then every `assert_equal V, req['KEY']` / `assert_nil req['KEY']`
               after it is compared, the env computed from our request as unicorn builds it:
               REQUEST_METHOD (method), HTTP_VERSION and SERVER_PROTOCOL ("HTTP/" version),
               REQUEST_URI (the target up to a `#`; for an absolute-form target, the part
               from the path on), REQUEST_PATH and PATH_INFO (that up to `?`), QUERY_STRING
               (after `?`, "" when none), FRAGMENT (after `#`, nil when none), HTTP_<NAME>
               (each field, name upper-cased with `-` as `_`, the values of repeated lines
               joined with ","; HTTP_HOST is the authority of an absolute-form target,
               which replaces the Host field, RFC 9112 §3.2.2), CONTENT_LENGTH and
               CONTENT_TYPE. SERVER_NAME, SERVER_PORT and rack.url_scheme (derived from
               Host, X-Forwarded-Proto and the scheme by unicorn, not parsed), and the
               keepalive? flag, are not compared.
  incomplete   (`assert_nil parser.parse`, `assert ! parser.parse`): we deliver nothing and
               refuse nothing before the end of input; the only error is the end of input
               in the middle of the head.
  error        (inside `assert_raises(HttpParserError)`): we refuse the input. When it stops
               inside a head, the head is ended (the missing part of CRLF CRLF added) and
               the case agrees if we then refuse it for a reason other than the missing
               Host, as in the other corpus scripts.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; unicorn does not; the added field is left out
of the comparison). Whole and byte-by-byte outputs of h1dump must be identical, and h1dump
must not fail; any case where either happens is listed first, as a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events  # noqa: E402

FILES = ["test/unit/test_http_parser.rb", "test/unit/test_http_parser_ng.rb"]
HOST = b"Host: unicorn.invalid\r\n"
HOST_FIELD = (b"host", b"unicorn.invalid")
NOT_COMPARED = {"SERVER_NAME", "SERVER_PORT", "rack.url_scheme"}


class Skip(Exception):
    pass


class Stop(Exception):
    """The rest of a method is about the body (filter_body ...): replay stops there."""


class Corpus(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, FILES[0])


# ------------------------------------------------------------------ Ruby, tokens

ESC = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"', "e": b"\x1b",
       "s": b" ", "a": b"\x07", "b": b"\x08", "f": b"\x0c", "v": b"\x0b", "'": b"'",
       "#": b"#"}
PUNCT = ["<<", "=~", "==", "=>", "!=", "||", "&&", "::", "..", "{", "}", "(", ")", "[", "]", ",",
         ".", "=", "!", "*", "+", "|", ";", "-", "<", ">", "?", ":", "/", "%", "~", "$"]
CONTINUE_AFTER = {"<<", "+", ",", "(", "[", "=", "||", "&&", "*", "=>", "|"}


def dstring(src, i, close, opener=None):
    """A double-quoted string body from src[i] to `close`: its parts (bytes, or
    ("i", code) for #{code}) and the index after the closing character."""
    parts, cur, depth = [], bytearray(), 0
    while True:
        c = src[i]
        if c == "\\":
            n = src[i + 1]
            if n == "x":
                m = re.match(r"[0-9a-fA-F]{1,2}", src[i + 2:])
                cur += bytes([int(m.group(), 16)])
                i += 2 + len(m.group())
                continue
            if n == "\n":
                i += 2
                continue
            if n not in ESC:
                raise Skip("escape \\%s" % n)
            cur += ESC[n]
            i += 2
            continue
        if c == "#" and src[i + 1] == "{":
            j, d = i + 2, 1
            while d:
                d += {"{": 1, "}": -1}.get(src[j], 0)
                j += 1
            if cur:
                parts.append(bytes(cur))
                cur = bytearray()
            parts.append(("i", src[i + 2:j - 1].strip()))
            i = j
            continue
        if opener and c == opener:
            depth += 1
        elif c == close:
            if depth == 0:
                if cur:
                    parts.append(bytes(cur))
                return parts, i + 1
            depth -= 1
        cur += c.encode("latin-1")
        i += 1


def tokenize(src):
    toks, i, line, n = [], 0, 1, len(src)
    heredocs = []  # (token index, terminator, squiggly) waiting for the line's end
    while i < n:
        c = src[i]
        if c == "\\" and src[i + 1] == "\n":
            i += 2
            line += 1
            continue
        if c == "\n":
            toks.append(("nl", None, line))
            line += 1
            i += 1
            for k, term, squiggly in heredocs:  # their bodies follow this line
                lines = []
                while True:
                    j = src.index("\n", i)
                    text = src[i:j]
                    i = j + 1
                    line += 1
                    if text.strip() == term:
                        break
                    lines.append(text)
                if squiggly:
                    ind = min([len(x) - len(x.lstrip()) for x in lines if x.strip()] or [0])
                    lines = [x[ind:] for x in lines]
                body = "".join(x + "\n" for x in lines).replace('"', '\\"')
                parts, _ = dstring(body + '"', 0, '"')
                toks[k] = ("str", parts, toks[k][2])
            heredocs = []
            continue
        m = re.match(r"<<([~-])([A-Z_]+)", src[i:])
        if m and toks and toks[-1][1] in ("=", "(", ",") or m and toks and \
                toks[-1][0] == "id" and toks[-1][1] in ("create_client", "assert_invalid"):
            heredocs.append((len(toks), m.group(2), m.group(1) == "~"))
            toks.append(("str", [], line))
            i += len(m.group())
            continue
        if c in " \t\r":
            i += 1
            continue
        if c == "#":
            while i < n and src[i] != "\n":
                i += 1
            continue
        if c == '"':
            parts, j = dstring(src, i + 1, '"')
            line += src.count("\n", i, j)
            toks.append(("str", parts, line))
            i = j
            continue
        if c == "'":
            j, cur = i + 1, bytearray()
            while src[j] != "'":
                if src[j] == "\\" and src[j + 1] in "\\'":
                    j += 1
                cur += src[j].encode("latin-1")
                j += 1
            toks.append(("str", [bytes(cur)], line))
            i = j + 1
            continue
        m = re.match(r"%([wQq]?)([(\[{<|])", src[i:])
        if m and (not toks or toks[-1][0] in ("nl", "p") or toks[-1][1] in
                  ("assert", "assert_equal")):
            close = {"(": ")", "[": "]", "{": "}", "<": ">", "|": "|"}[m.group(2)]
            opener = m.group(2) if close != m.group(2) else None
            parts, j = dstring(src, i + len(m.group()), close, opener)
            line += src.count("\n", i, j)
            if m.group(1) == "w":
                text = b"".join(p for p in parts if isinstance(p, bytes))
                toks.append(("words", text.split(), line))
            else:
                toks.append(("str", parts, line))
            i = j
            continue
        m = re.match(r"@?[A-Za-z_][A-Za-z0-9_]*[?!]?", src[i:])
        if m:
            word = m.group()
            if word.endswith(("?", "!")) and src[i + len(word):i + len(word) + 1] == "=":
                word = word[:-1]
            toks.append(("id", word, line))
            i += len(word)
            continue
        m = re.match(r"0x[0-9a-fA-F]+|\d[\d_]*", src[i:])
        if m:
            toks.append(("num", int(m.group().replace("_", ""), 0), line))
            i += len(m.group())
            continue
        m = re.match(r":[A-Za-z_][A-Za-z0-9_]*[?!]?", src[i:])
        if m and (toks and toks[-1][1] not in (")", "]") and toks[-1][0] != "id"):
            toks.append(("sym", m.group()[1:], line))
            i += len(m.group())
            continue
        for p in PUNCT:
            if src.startswith(p, i):
                toks.append(("p", p, line))
                i += len(p)
                break
        else:
            raise Skip("character %r at line %d" % (c, line))
    return toks


def statements(toks):
    """Statements (token lists) and blocks: a statement may end with a block item
    ("block", params, body statements, the block's first line)."""
    out, i = parse_body(toks, 0, None)
    return out


def parse_body(toks, i, closer):
    stmts, cur, depth = [], [], 0
    while i < len(toks):
        kind, value, line = toks[i]
        if kind == "id" and value == "end" and depth == 0 and closer == "end":
            if cur:
                stmts.append(cur)
            return stmts, i + 1
        if kind == "p" and value == "}" and depth == 0 and closer == "}":
            if cur:
                stmts.append(cur)
            return stmts, i + 1
        if (kind == "id" and value == "do") or (kind == "p" and value == "{" and cur and
                                                 cur[-1][1] not in ("=", "(", ",", "=>")):
            params = []
            j = i + 1
            while j < len(toks) and toks[j][0] == "nl":
                j += 1
            if toks[j][1] == "|":
                k = j + 1
                while toks[k][1] != "|":
                    if toks[k][0] == "id":
                        params.append(toks[k][1])
                    k += 1
                j = k + 1
            body, i = parse_body(toks, j, "end" if value == "do" else "}")
            cur.append(("block", params, body, line))
            continue
        if kind == "id" and value in ("if", "unless", "while", "begin", "case", "until") and \
                not cur:
            body, i = parse_body(toks, i + 1, "end")
            cur.append(("block", ["<%s>" % value], body, line))
            continue
        if kind == "id" and value == "rescue" and not cur:
            raise Skip("rescue")
        if kind == "p" and value in ("(", "[", "{"):
            depth += 1  # a "{" here opens a hash (a block's was taken above)
        elif kind == "p" and value in (")", "]", "}"):
            depth -= 1
        if kind in ("nl",) or (kind == "p" and value == ";"):
            if depth == 0 and cur and not (cur[-1][0] == "p" and cur[-1][1] in CONTINUE_AFTER):
                stmts.append(cur)
                cur = []
            i += 1
            continue
        if kind == "str" and cur and cur[-1][0] == "str":  # adjacent literals
            cur[-1] = ("str", cur[-1][1] + value, line)
        else:
            cur.append(toks[i])
        i += 1
    if cur:
        stmts.append(cur)
    return stmts, i


def methods(src):
    """(name, line, body statements) of each `def test_...` method (two-space indented)."""
    lines = src.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"  def (test_\w+[?!]?)", lines[i])
        if m:
            j = i + 1
            while not re.match(r"  end\b", lines[j]):
                j += 1
            out.append((m.group(1), i + 1, "\n".join(lines[i + 1:j]) + "\n", i + 2))
            i = j
        i += 1
    return out


# --------------------------------------------------------------- the interpreter

PARSER, REQ, BUF = "<parser>", "<req>", "<buf>"


class Run:
    """One test method being replayed: its variables and its cases."""

    def __init__(self, name, setup_parser):
        self.name = name
        self.vars = {}
        self.cases = []
        self.case = None
        self.results = {}
        if setup_parser:
            self.vars["@parser"] = PARSER
            self.new_case(None)

    def new_case(self, line):
        self.case = {"input": bytearray(), "verdict": None, "checks": [], "line": line,
                     "msg": 0}
        self.cases.append(self.case)

    # expressions --------------------------------------------------------------

    def interp(self, code):
        code = code.strip()
        try:
            v = self.value([t for t in tokenize(code) if t[0] != "nl"])
        except Skip:
            v = None
        if isinstance(v, bytes):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v).encode()
        if re.fullmatch(r"@?\w+", code):
            v = self.vars.get(code)
            if isinstance(v, (bytes, bytearray)):
                return bytes(v)
            if isinstance(v, int):
                return str(v).encode()
        m = re.fullmatch(r"(\w+)\.(length|size|bytesize)", code)
        if m and isinstance(self.vars.get(m.group(1)), (bytes, bytearray)):
            return str(len(self.vars[m.group(1)])).encode()
        raise Skip("interpolation #{%s}" % code)

    def string(self, parts):
        return b"".join(p if isinstance(p, bytes) else self.interp(p[1]) for p in parts)

    def value(self, toks):
        """The value of an expression: bytes, a list, an int, or a marker."""
        toks = [t for t in toks if t[0] != "nl"]
        # strip .freeze / .dup / .to_s suffixes
        if len(toks) == 3 and toks[0][0] == "id" and self.vars.get(toks[0][1]) in (
                REQ, ("result",)) and toks[1][1] == "." and toks[2][1] == "dup":
            return ("snapshot", self.case, self.case["msg"])
        while len(toks) >= 2 and toks[-2][1] == "." and toks[-1][1] in ("freeze", "dup",
                                                                          "to_s", "b"):
            toks = toks[:-2]
        call = tail_call(toks)
        if call:
            recv, name, args = call
            if name in ("rstrip", "gsub", "join", "bytesize", "length", "size", "strip",
                        "to_s") and \
                    recv:
                base = self.value(recv)
                args = [self.value(a) for a in args]
                if name == "rstrip" and isinstance(base, bytes):
                    return base.rstrip()
                if name == "strip" and isinstance(base, bytes):
                    return base.strip()
                if name == "gsub" and isinstance(base, bytes) and len(args) == 2 and \
                        all(isinstance(a, bytes) for a in args):
                    return base.replace(args[0], args[1])
                if name == "join" and isinstance(base, list) and len(args) == 1 and \
                        isinstance(args[0], bytes):
                    return args[0].join(base)
                if name in ("bytesize", "length", "size") and isinstance(base, (bytes, list)):
                    return len(base)
                if name == "to_s" and isinstance(base, int) and args in ([], [10], [16]):
                    return (b"%x" if args == [16] else b"%d") % base
        if toks and toks[0][1] == "-" and len(toks) == 2 and toks[1][0] == "str":
            toks = toks[1:]  # -'str': the deduplicated string
        text0 = [t[1] if t[0] in ("id", "p") else None for t in toks]
        if len(toks) == 4 and toks[0][0] == "id" and text0[1] == "[" and text0[3] == "]":
            base, key = self.value(toks[:1]), self.value(toks[2:3])
            if isinstance(base, tuple) and base[0] == "lazyhash":
                base = self.hash(base[1])
            if isinstance(base, dict):
                return base.get(key.decode("latin-1") if isinstance(key, bytes) else key)
        if len(toks) == 6 and toks[0][0] == "id" and text0[1:4] == [".", "join", "("] and \
                text0[5] == ")":
            items, sep = self.value(toks[:1]), self.value(toks[4:5])
            if isinstance(items, list) and isinstance(sep, bytes):
                return sep.join(items)
        if len(toks) == 6 and toks[0][0] == "id" and text0[1:4] == [".", "to_s", "("]:
            n, base = self.value(toks[:1]), self.value(toks[4:5])
            if isinstance(n, int) and base == 16:
                return b"%x" % n
        for k, t in enumerate(toks):
            if t[0] == "p" and t[1] == "%" and k > 0:
                fmt, args = self.value(toks[:k]), self.value(toks[k + 1:])
                if isinstance(fmt, bytes) and isinstance(args, list) and \
                        fmt.count(b"%") == len(args) == fmt.count(b"%s"):
                    for a in args:
                        fmt = fmt.replace(b"%s", a, 1)
                    return fmt
                raise Skip("format %")
        if len(toks) >= 2 and toks[0][1] == "(" and toks[-1][1] == ")":
            return self.value(toks[1:-1])
        # a + b, a * n
        for op in ("+", "-", "*"):
            depth = 0
            for k in range(len(toks) - 1, -1, -1):
                t = toks[k]
                if t[0] == "p" and t[1] in (")", "]"):
                    depth += 1
                elif t[0] == "p" and t[1] in ("(", "["):
                    depth -= 1
                elif depth == 0 and t[0] == "p" and t[1] == op and k > 0:
                    a, b = self.value(toks[:k]), self.value(toks[k + 1:])
                    if op == "+" and isinstance(a, bytes) and isinstance(b, bytes):
                        return a + b
                    if op == "+" and isinstance(a, int) and isinstance(b, int):
                        return a + b
                    if op == "*" and isinstance(a, bytes) and isinstance(b, int):
                        return a * b
                    if op == "*" and isinstance(a, int) and isinstance(b, int):
                        return a * b
                    if op == "-" and isinstance(a, int) and isinstance(b, int):
                        return a - b
                    raise Skip("operator %s" % op)
        if len(toks) == 1:
            kind, v, _ = toks[0]
            if kind == "str":
                return self.string(v)
            if kind == "words":
                return list(v)
            if kind == "num":
                return v
            if kind == "id" and v in self.vars:
                val = self.vars[v]
                return bytes(val) if isinstance(val, bytearray) else val
            if kind == "id" and v == "nil":
                return None
        if toks and toks[0][1] == "[" and toks[-1][1] == "]":
            items, cur, depth = [], [], 0
            for t in toks[1:-1]:
                if t[0] == "p" and t[1] in ("(", "["):
                    depth += 1
                elif t[0] == "p" and t[1] in (")", "]"):
                    depth -= 1
                if t[0] == "p" and t[1] == "," and depth == 0:
                    items.append(self.value(cur))
                    cur = []
                else:
                    cur.append(t)
            if cur:
                items.append(self.value(cur))
            return items
        if toks and toks[0][1] == "{" and toks[-1][1] == "}":
            return ("lazyhash", toks[1:-1])  # evaluated when used (a String#replace later)
        text = " ".join(str(t[1]) for t in toks)
        if text in ("HttpParser . new", "Unicorn :: HttpParser . new"):
            return ("new",)
        m = re.fullmatch(r"(@?\w+) \. (env|buf)", text)
        if m and self.vars.get(m.group(1)) == PARSER:
            return REQ if m.group(2) == "env" else BUF
        return ("call", toks)

    def skip(self, why):
        raise Skip(why)

    def hash(self, toks):
        out, cur, items, depth = {}, [], [], 0
        for t in toks:
            if t[0] == "p" and t[1] in ("{", "(", "["):
                depth += 1
            elif t[0] == "p" and t[1] in ("}", ")", "]"):
                depth -= 1
            if t[0] == "p" and t[1] == "," and depth == 0:
                items.append(cur)
                cur = []
            elif t[0] != "nl":
                cur.append(t)
        if cur:
            items.append(cur)
        for it in items:
            k = [i for i, t in enumerate(it) if t[1] == "=>"]
            if not k:
                raise Skip("hash entry")
            v = self.value(it[k[0] + 1:])
            if isinstance(v, tuple) and v[0] == "lazyhash":
                v = self.hash(v[1])
            out[self.value(it[:k[0]]).decode("latin-1")] = v
        return out

    # parser calls --------------------------------------------------------------

    def parser_call(self, toks):
        """If `toks` is a call of the parser that parses, do it and return "parse";
        None if it is not one."""
        if len(toks) > 3 and toks[-2][1] == "." and toks[-1][1] in ("dup", "class",
                                                                      "object_id"):
            toks = toks[:-2]
        text = [t[1] if t[0] != "str" else "<str>" for t in toks]
        if len(toks) >= 3 and toks[0][0] == "id" and self.vars.get(text[0]) == PARSER and \
                text[1] == ".":
            method = text[2]
            args = split_args(toks[4:-1]) if len(toks) > 3 and text[3] == "(" else []
            if method == "parse" and len(toks) == 3:
                return "parse"
            if method == "headers" and len(args) == 2:
                self.buffer_is(args[1])
                env = args[0]
                if env and env[0][0] == "id" and env[0][1] in self.vars and \
                        (len(env) == 1 or [t[1] for t in env[1:]] == [".", "clear"]):
                    self.vars[env[0][1]] = REQ
                return "parse"
            if method == "add_parse" and len(args) == 1:
                self.append(self.value(args[0]))
                return "parse"
            if method in ("filter_body", "trailers", "content_length", "body_eof?"):
                raise Stop("body filtering (%s)" % method)
        return None

    def buffer_is(self, arg):
        """headers(req, s): s is the parser's buffer (it may be appended to in place)."""
        if len(arg) >= 3 and arg[1][1] == "<<" and arg[0][0] == "id":
            self.assign_append(arg[0][1], arg[2:])
            arg = arg[:1]
        v = self.value(arg)
        if not isinstance(v, bytes):
            raise Skip("headers() on %r" % (v,))
        self.case["input"] = bytearray(v)

    def append(self, data):
        if not isinstance(data, bytes):
            raise Skip("appending %r" % (data,))
        self.case["input"] += data

    def assign_append(self, name, rhs):
        v = self.value(rhs)
        target = self.vars.get(name)
        if target == BUF:
            self.append(v)
        elif isinstance(target, (bytes, bytearray)) and isinstance(v, bytes):
            self.vars[name] = bytes(target) + v
        else:
            raise Skip("<< on %s" % name)

    def verdict(self, v):
        if self.case["verdict"] in ("parsed", "complete"):
            self.case["msg"] += 1  # the next request of the same input
        self.case["verdict"] = v
        self.case["checks_start"] = len(self.case["checks"])

    def check(self, key, value):
        case, msg = self.case, self.case["msg"]
        if isinstance(key, tuple):  # an env kept from an earlier case (req.dup)
            case, msg, key = key
        case["checks"].append((msg, key, value))

    # statements ----------------------------------------------------------------

    def run(self, stmts):
        try:
            for s in stmts:
                self.stmt(s)
        except NextIteration:
            pass

    def stmt(self, s):
        text = [t[1] if t[0] not in ("block", "str", "words") else "<%s>" % t[0] for t in s]
        first = text[0]
        blocks = [t for t in s if t[0] == "block"]
        if blocks and blocks[0][1] and blocks[0][1][0].startswith("<"):
            raise Skip("conditional or loop (%s)" % blocks[0][1][0][1:-1])
        if first in ("assert_raises", "assert_raise"):
            if not blocks or "HttpParserError" not in text:
                raise Skip("assert_raises without HttpParserError")
            inner = blocks[0][2]
            if len(inner) != 1:
                raise Skip("assert_raises with several statements")
            if self.parser_call(inner[0]) != "parse":
                raise Skip("assert_raises on something else: %s" % " ".join(
                    str(t[1]) for t in inner[0]))
            self.verdict("error")
            return
        if blocks:
            blk = blocks[0]
            k = s.index(blk)
            if k >= 2 and s[k - 1][1] in ("each",) and s[k - 2][1] == ".":
                items = self.value(s[:k - 2])
                if isinstance(items, tuple) and items[0] == "lazyhash":
                    items = self.hash(items[1])
                if isinstance(items, dict) and len(blk[1]) == 2:
                    for key, v in items.items():
                        self.vars[blk[1][0]] = key.encode("latin-1")
                        self.vars[blk[1][1]] = v
                        self.run(blk[2])
                    return
                if not isinstance(items, list) or len(blk[1]) != 1:
                    raise Skip("each over %s" % " ".join(str(t[1]) for t in s[:k - 2])[:80])
                for it in items:
                    self.vars[blk[1][0]] = it
                    self.run(blk[2])
                return
            if not uses_parser(self, blk[2]):
                return  # a block about something else (env.keys.detect ...)
            raise Skip("block after %s" % " ".join(str(x) for x in text[:k]))
        if len(s) == 4 and s[0][0] == "id" and s[1][1] == "." and s[2][1] == "replace":
            self.vars[s[0][1]] = self.value(s[3:])
            return
        if len(s) == 3 and s[0][0] == "id" and s[1][1] == "." and s[2][1] == "reverse!":
            self.vars[s[0][1]] = list(reversed(self.vars[s[0][1]]))
            return
        if first == "next":
            raise NextIteration()
        # assignment
        if len(s) >= 3 and s[0][0] == "id" and s[1][1] == "=":
            name, rhs = s[0][1], s[2:]
            if self.parser_call(rhs) == "parse":
                self.verdict("parsed")
                self.vars[name] = ("result",)
                return
            v = self.value(rhs)
            if v == ("new",):
                self.vars[name] = PARSER
                self.new_case(s[0][2])
            elif isinstance(v, tuple) and v[0] == "call":
                call = " ".join(str(t[1]) for t in rhs)
                if re.match(r"rand_data|Digest|ObjectSpace", call):
                    raise Skip("value of %s" % call)
                self.vars[name] = ("other",)
            else:
                self.vars[name] = v
            return
        # appends
        if len(s) >= 3 and s[1][1] == "<<" and s[0][0] == "id":
            self.assign_append(s[0][1], s[2:])
            return
        if len(s) >= 5 and s[0][0] == "id" and self.vars.get(s[0][1]) == PARSER and \
                s[2][1] == "buf" and \
                s[3][1] == "<<":
            self.append(self.value(s[4:]))
            return
        if len(s) >= 3 and s[0][0] == "id" and self.vars.get(s[0][1]) == PARSER and \
                s[2][1] in ("clear", "reset") \
                and len(s) == 3:
            self.new_case(s[0][2])
            return
        # assertions
        if first in ("assert", "assert_nil", "assert_equal", "assert_same", "refute"):
            self.assertion(first, s[1:])
            return
        if self.parser_call(s) == "parse":
            self.verdict("parsed")
            return
        # anything else is ignored (keepalive?, next?, response_start_sent, ...)

    def assertion(self, kind, args):
        if args and args[0][1] == "(" and args[-1][1] == ")":
            args = args[1:-1]
        parts = split_args(args)
        if kind in ("assert", "refute", "assert_nil"):
            e = parts[0]
            neg = e and e[0][1] == "!"
            if neg:
                e = e[1:]
            nil = kind == "assert_nil" or neg or kind == "refute"
            if len(e) >= 2 and e[-1][1] == "nil?" and e[-2][1] == ".":
                e, nil = e[:-2], True
            if self.parser_call(e) == "parse":
                self.verdict("incomplete" if nil else "complete")
                return
            if len(e) == 1 and self.vars.get(e[0][1]) == ("result",):
                if self.case["verdict"] == "parsed":
                    self.case["verdict"] = "incomplete" if nil else "complete"
                return
            key = env_key(self, e)
            if key is not None and kind == "assert_nil":
                self.check(key, None)
            return
        if kind == "assert_equal" and len(parts) >= 2:
            a, b = parts[0], parts[1]
            bt = [t[1] if t[0] in ("id", "p") else "" for t in b]
            if bt[-2:] == [".", "object_id"]:
                b = b[:-2]
            if bt[-2:] == [".", "class"]:
                b = b[:-2]
            if self.parser_call(b) == "parse":
                expect = self.value(a)
                if isinstance(expect, tuple) and expect[0] == "lazyhash":
                    expect = self.hash(expect[1])
                self.verdict("complete")
                if isinstance(expect, dict):
                    for k, v in expect.items():
                        self.check(k, v)
                return
            key = env_key(self, b)
            if key is not None:
                v = self.value(a)
                if isinstance(v, tuple) and v[0] == "lazyhash":
                    v = self.hash(v[1])
                whole_env = key == "*" or (isinstance(key, tuple) and key[2] == "*")
                if isinstance(v, (bytes, type(None))) and not whole_env:
                    self.check(key, v)
                elif isinstance(v, int) and not whole_env:
                    self.check(key, str(v).encode())
                elif isinstance(v, dict) and (key == "*" or (isinstance(key, tuple) and
                                                             key[2] == "*")):
                    for k, x in v.items():
                        self.check(k if key == "*" else (key[0], key[1], k), x)
            return


def tail_call(toks):
    """(receiver, method, argument token lists) when `toks` ends with `.method`,
    `.method(args)` or `.method arg`; else None."""
    depth = 0
    for k in range(len(toks) - 1, 0, -1):
        t = toks[k]
        if t[0] == "p" and t[1] in (")", "]", "}"):
            depth += 1
        elif t[0] == "p" and t[1] in ("(", "[", "{"):
            depth -= 1
        elif depth == 0 and t[0] == "p" and t[1] == "." and k + 1 < len(toks) and \
                toks[k + 1][0] == "id":
            rest = toks[k + 2:]
            if not rest:
                return toks[:k], toks[k + 1][1], []
            if rest[0][1] == "(" and rest[-1][1] == ")":
                return toks[:k], toks[k + 1][1], split_args(rest[1:-1])
            if toks[k + 1][1] in ("join", "to_s"):
                return toks[:k], toks[k + 1][1], split_args(rest)
            return None
        elif depth == 0 and t[0] == "p" and t[1] in ("+", "*", "%", "=", ","):
            return None
    return None


class NextIteration(Exception):
    pass


def uses_parser(run, stmts):
    for s in stmts:
        for t in s:
            if t[0] == "block":
                if uses_parser(run, t[2]):
                    return True
            elif t[0] == "id" and (run.vars.get(t[1]) in (PARSER, REQ, BUF) or
                                   t[1] in ("HttpParser", "@parser")):
                return True
    return False


def split_args(toks):
    out, cur, depth = [], [], 0
    for t in toks:
        if t[0] == "p" and t[1] in ("(", "[", "{"):
            depth += 1
        elif t[0] == "p" and t[1] in (")", "]", "}"):
            depth -= 1
        if t[0] == "p" and t[1] == "," and depth == 0:
            out.append(cur)
            cur = []
        elif t[0] != "nl":
            cur.append(t)
    if cur:
        out.append(cur)
    return out


def env_key(run, e):
    """The key of `req['KEY']` or `parser.env['KEY']` ("*" for the whole env), or None."""
    text = [t[1] if t[0] == "id" or t[0] == "p" else "<%s>" % t[0] for t in e]
    snap = run.vars.get(text[0]) if e and e[0][0] == "id" else None
    if isinstance(snap, tuple) and snap and snap[0] == "snapshot":
        k = env_key_plain(run, [("id", "<snap>", 0)] + e[1:], {"<snap>": REQ})
        return None if k is None else (snap[1], snap[2], k)
    return env_key_plain(run, e, {})


def env_key_plain(run, e, extra):
    text = [t[1] if t[0] == "id" or t[0] == "p" else "<%s>" % t[0] for t in e]
    envs = (REQ, ("result",))
    run.vars.update(extra)
    if text[-2:] == [".", "to_i"]:
        e, text = e[:-2], text[:-2]
    if e and e[0][0] == "id" and run.vars.get(text[0]) == PARSER and text[1:3] == [".", "env"]:
        e, text = [("id", "<env>", 0)] + e[3:], ["<env>"] + text[3:]
        run.vars["<env>"] = REQ
    if len(e) == 1 and e[0][0] == "id" and run.vars.get(text[0]) in envs:
        return "*"
    if len(e) >= 4 and e[0][0] == "id" and run.vars.get(text[0]) in envs and \
            text[1] == "[" and text[-1] == "]":
        k = run.value(e[2:-1])
        if isinstance(k, bytes):
            return k.decode("latin-1")
    return None


def cases(corpus):
    out, skipped, stopped = [], [], []
    for path in FILES:
        src = corpus.read_bytes(path).decode("latin-1")
        setup = "def setup\n    @parser = HttpParser.new" in src
        for name, line, body, first in methods(src):
            run = Run(name, setup)
            try:
                toks = tokenize(body)
                toks = [(k, v, ln + first - 1) for k, v, ln in toks]
                run.run(statements(toks))
            except Skip as e:
                skipped.append((path, line, name, str(e)))
                continue
            except Stop as e:
                stopped.append((path, line, name, str(e)))
            except (IndexError, KeyError, ValueError, AttributeError) as e:
                skipped.append((path, line, name, "not understood (%s)" % e))
                continue
            n = 0
            for c in run.cases:
                if not c["input"] or c["verdict"] is None:
                    continue
                n += 1
                verdict = "complete" if c["verdict"] == "parsed" else c["verdict"]
                checks = c["checks"][c.get("checks_start", 0):] if verdict != "complete" \
                    else c["checks"]
                if verdict != "complete" and c["msg"] > 0:
                    verdict += " (request %d)" % (c["msg"] + 1)
                out.append({"file": path, "line": line, "name": name, "n": n,
                            "input": bytes(c["input"]), "verdict": verdict,
                            "checks": checks})
            if n == 0:
                skipped.append((path, line, name, "no parser input with a verdict"))
    return out, skipped, stopped


# ------------------------------------------------------------------------ our env


def our_env(msg):
    env = {"REQUEST_METHOD": (msg["method"] or "").encode("latin-1"),
           "HTTP_VERSION": b"HTTP/" + msg["version"].encode(),
           "SERVER_PROTOCOL": b"HTTP/" + msg["version"].encode()}
    target = msg["target"]
    authority = None
    m = re.match(rb"(?i)(https?)://([^/?#]*)(.*)", target)
    if m:
        authority, target = m.group(2), m.group(3)
        authority = authority.rsplit(b"@", 1)[-1]
    uri, _, frag = target.partition(b"#")
    env["REQUEST_URI"] = uri
    env["FRAGMENT"] = frag if b"#" in target else None
    path, _, query = uri.partition(b"?")
    env["REQUEST_PATH"] = path
    env["PATH_INFO"] = path
    env["QUERY_STRING"] = query
    for n, v in msg["headers"]:
        key = "HTTP_" + n.decode("latin-1").upper().replace("-", "_")
        if n in (b"content-length", b"content-type"):
            key = key[5:]
        if key == "HTTP_VERSION":
            continue  # unicorn ignores a Version field (the env key is the version's)
        env[key] = env[key] + b"," + v if key in env else v
    if authority is not None:
        env["HTTP_HOST"] = authority
    return env


def compare(case, msgs):
    diffs = []
    for i, key, want in case["checks"]:
        if key in NOT_COMPARED:
            continue
        if i >= len(msgs):
            diffs.append("request %d missing" % (i + 1))
            continue
        got = our_env(msgs[i]).get(key)
        if want != got:
            diffs.append("%s%s %r vs %r" % ("request %d: " % (i + 1) if i else "", key, want,
                                           got))
    return diffs


# ------------------------------------------------------------------------ our side


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    msgs, diffs, late = ours["msgs"], [], None
    v = case["verdict"]
    m = re.search(r"\(request (\d+)\)", v)
    before = int(m.group(1)) - 1 if m else 0  # requests delivered before the one judged
    if ours["crash"]:
        agree = False
    elif v == "complete":
        need = 1 + max([i for i, _, _ in case["checks"]] + [0])
        agree = len(msgs) >= need
        if msgs:
            diffs = compare(case, msgs)
            agree = agree and not diffs
    elif v.startswith("incomplete"):
        agree = len(msgs) == before and not ours["error"] and bool(ours["eof"]) and \
            "head" in ours["eof"]
    else:
        agree = len(msgs) == before and bool(ours["error"])
        if len(msgs) == before and not ours["error"] and ours["eof"] and "head" in ours["eof"]:
            probe = read_events(h1dump_io.run_or_crash(
                h1dump, "server", h1dump_io.end_head(fed), 0)[0], fed)
            late = probe["error"] or "accepted"
            agree = late != "accepted" and "missing Host" not in late
    return h1dump_io.verdict(agree, late, ours, diffs, runs)


def unicorn_says(case):
    if case["verdict"] != "complete":
        return case["verdict"].replace("error", "HttpParserError").replace(
            "incomplete", "nil (incomplete)")
    checks = [("%s%s" % ("#%d " % (i + 1) if i else "", k), v) for i, k, v in case["checks"]
              if k not in NOT_COMPARED]
    return "parses%s" % ("; asserts " + ", ".join("%s=%r" % kv for kv in checks)
                         if checks else "")


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("unicorn", "unicorn checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.unicorn, args.rev)
    all_cases, skipped, stopped = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"], "n": c["n"],
                        "input": c["input"].decode("latin-1"), "verdict": c["verdict"],
                        "unicorn": unicorn_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})

    print("unicorn: %s (%s)" % (corpus.commit(), args.unicorn))
    h1dump_io.print_methods("test methods not run (%d):", skipped)
    h1dump_io.print_methods("test methods replayed up to their body filtering (%d):", stopped)
    print()

    label = h1dump_io.method_label

    broken = h1dump_io.report_broken(results, "hosted", label)

    show = h1dump_io.show_case(label, "unicorn")

    h1dump_io.print_disagreements(results, show, args.verbose)
    print("cases: %d from %d test methods (%d not run); Host supplied in %d" % (
        len(results), len({(r["file"], r["name"]) for r in results}), len(skipped),
        sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(24)
    for path in FILES:
        row(os.path.basename(path), [r for r in results if r["file"] == path])
    row("all", results)
    verdicts = [(v, v) for v in ("complete", "incomplete", "error")]
    h1dump_io.print_verdict_counts(results, lambda r: r["verdict"], verdicts, "unicorn", 10)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "skipped": skipped})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
