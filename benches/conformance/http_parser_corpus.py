#!/usr/bin/env python3
"""Run nodejs/http-parser's test.c messages through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/http_parser_corpus.py HTTP_PARSER [--h1dump PATH] [--verbose]
                                                      [--strict] [--json OUT]

HTTP_PARSER is an http-parser checkout (a directory with test.c) or a bare git directory of
one (read at HEAD, or at --rev). Nothing of the corpus is kept in this repository: test.c
and http_parser.h are read at run time and their C literals decoded here. See
docs/conformance.md ("http-parser's test corpus") for the figures and the divergences.

What is run. Three tables:

  messages  every entry of `requests[]` (server role) and `responses[]` (client role), as
            test_message() runs them: the whole input, then the end of input. http-parser
            accepts each and yields exactly the message of the entry.
  head      every entry of `responses[]` again, as test_message_connect() runs them: its
            on_headers_complete returns 1, which is how http-parser is told that the request
            was HEAD (F_SKIPBODY), and only the first message is checked. Run with
            `--method HEAD`; only our first message, up to its end, is compared.
  vectors   the accept/reject inputs of main(): the test_simple()/test_simple_type() calls
            (with the method lists), the test_*_error(HTTP_REQUEST|HTTP_RESPONSE) helpers,
            test_header_nread_value, the Content-Length and chunk-size overflow inputs,
            test_no_overflow_long_body and the large chunked message. Only the verdict is
            compared. As in test_simple_type(), the error is read before the end of input,
            so an input that merely ends mid-message is an accept.

Each input goes through `h1dump --role server` (requests) or `--role client` (responses),
whole and with `--split 1`. Agreement is counted as by llhttp_corpus.py: both accept and the
messages match (method, target, version, status and reason, header fields (trailers
included: http-parser reports them as headers), body bytes, where the connection switched),
or both reject. http-parser keeps trailing whitespace in a value and the whitespace of
folded lines; values are compared with leading and trailing SP/HTAB removed. When
http-parser rejects an input that ends inside a head, the head is ended with CRLF CRLF and
the case agrees if the core then refuses it for a reason other than the missing Host. When
http-parser accepts such an input, the same probe is run and reported (the case still
agrees: neither side saw a complete head).

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2). Whole and byte-by-byte outputs of h1dump must
be identical; any case where they differ is listed first, as a bug of ours.
"""

import json
import re
import sys

import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402
from source_text import c_bytes  # noqa: E402

HOST = b"Host: http-parser.invalid\r\n"
HOST_FIELD = (b"host", b"http-parser.invalid")


# ---------------------------------------------------------------------------- corpus


class Corpus(Source):
    """http-parser's sources, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, "test.c")

    def read(self, name):
        return self.read_bytes(name)


# ------------------------------------------------------------------- C tokenizer


def decode_c_string(body):
    """The bytes of a C string literal's body (between the quotes; source bytes, UTF-8)."""
    return c_bytes(body.decode("latin-1"), strict=True, encoding="latin-1")


PUNCT = [b"...", b"->", b"++", b"--", b"==", b"!=", b"<=", b">=", b"&&", b"||", b"+=", b"-=",
         b"<<", b">>"]


def eval_if(expr, strict):
    expr = expr.strip()
    if expr == "!HTTP_PARSER_STRICT":
        return not strict
    if expr == "HTTP_PARSER_STRICT":
        return strict
    if expr in ("0", "1"):
        return expr == "1"
    if expr.startswith("defined("):
        return False
    raise ValueError("#if %s: not understood" % expr)


def tokenize(src, strict, first_line=1):
    """(kind, value, line) for the tokens of C source, with comments removed and #if/#else/
    #endif applied (other directives skipped). Kinds: str (decoded bytes), num, id, p."""
    toks = []
    i, line, n = 0, first_line, len(src)
    stack = []  # active flags of the enclosing #if blocks
    at_line_start = True

    def active():
        return all(stack)

    while i < n:
        c = src[i:i + 1]
        if c == b"\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in (b" ", b"\t", b"\r", b"\f", b"\v"):
            i += 1
            continue
        if c == b"#" and at_line_start:
            j = i
            while True:  # a directive ends at a newline not escaped by a backslash
                k = src.find(b"\n", j)
                k = n if k < 0 else k
                if src[j:k].rstrip(b"\r").endswith(b"\\"):
                    j = k + 1
                    line += 1
                    continue
                break
            d = src[i + 1:k].decode("utf-8", "replace").strip()
            word = d.split(None, 1)[0] if d else ""
            rest = d[len(word):].split("/*")[0].split("//")[0]
            if word == "if":
                stack.append(eval_if(rest, strict) if active() else False)
            elif word in ("ifdef", "ifndef"):
                stack.append(False if word == "ifdef" else True)
            elif word == "else":
                stack[-1] = not stack[-1]
            elif word == "endif":
                stack.pop()
            i = k
            continue
        at_line_start = False
        if src.startswith(b"//", i):
            k = src.find(b"\n", i)
            i = n if k < 0 else k
            continue
        if src.startswith(b"/*", i):
            k = src.index(b"*/", i + 2)
            line += src.count(b"\n", i, k)
            i = k + 2
            continue
        if c == b'"' or c == b"'":
            j = i + 1
            while src[j:j + 1] != c:
                if src[j:j + 1] == b"\\":
                    j += 1
                if src[j:j + 1] == b"\n":
                    raise ValueError("newline in a literal at line %d" % line)
                j += 1
            if active():
                val = decode_c_string(src[i + 1:j])
                toks.append(("str" if c == b'"' else "chr", val, line))
            i = j + 1
            continue
        m = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*").match(src, i)
        if m:
            if active():
                toks.append(("id", m.group().decode(), line))
            i = m.end()
            continue
        m = re.compile(rb"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*").match(src, i)
        if m:
            if active():
                toks.append(("num", int(m.group(1), 0), line))
            i = m.end()
            continue
        for p in PUNCT:
            if src.startswith(p, i):
                break
        else:
            p = c
        if active():
            toks.append(("p", p.decode(), line))
        i += len(p)
    return toks


# ------------------------------------------------------------- initializer parsing


class Parser:
    def __init__(self, toks, pos):
        self.t = toks
        self.i = pos

    def peek(self):
        return self.t[self.i]

    def take(self, kind=None, value=None):
        tok = self.t[self.i]
        if (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise ValueError("line %d: expected %s %r, got %r" % (tok[2], kind, value, tok))
        self.i += 1
        return tok

    def initializer(self):
        """A brace list: a list of (designator or None, value)."""
        self.take("p", "{")
        items = []
        while self.peek()[1] != "}":
            desig = None
            if self.peek()[1] == ".":
                self.take("p", ".")
                desig = self.take("id")[1]
                self.take("p", "=")
            items.append((desig, self.value()))
            if self.peek()[1] == ",":
                self.take("p", ",")
        self.take("p", "}")
        return items

    def value(self):
        if self.peek()[1] == "{":
            return self.initializer()
        toks = []
        depth = 0
        while True:
            tok = self.peek()
            if depth == 0 and tok[0] == "p" and tok[1] in (",", "}", ";"):
                break
            if tok[1] == "(":
                depth += 1
            elif tok[1] == ")":
                depth -= 1
            toks.append(tok)
            self.i += 1
        if toks and all(t[0] == "str" for t in toks):  # adjacent literals concatenate
            return b"".join(t[1] for t in toks)
        if len(toks) == 1 and toks[0][0] == "id":
            return toks[0][1]
        expr = "".join(str(t[1]) for t in toks)
        if re.fullmatch(r"[-+0-9() ]+", expr):
            return eval(expr)  # numbers and + - only (checked just above)
        raise ValueError("line %d: value not understood: %r" % (toks[0][2], toks))


def find_array(toks, name):
    for i in range(len(toks) - 4):
        if toks[i][1] == "message" and toks[i + 1][1] == name and toks[i + 2][1] == "[":
            j = i + 3
            while toks[j][1] != "=":
                j += 1
            return Parser(toks, j + 1).initializer(), toks[j + 1][2]
    raise ValueError("no array %s in test.c" % name)


def method_names(header):
    m = re.search(rb"#define HTTP_METHOD_MAP\(XX\)(.*?)\n\n", header, re.S)
    return {"HTTP_" + a.decode(): b.decode()
            for a, b in re.findall(rb"XX\(\s*\d+,\s*(\w+),\s*([^\s)]+)\s*\)", m.group(1))}


def to_message(items, methods, index, kind):
    d = {}
    for desig, val in items:
        d[desig] = val
    msg = {
        "index": index,
        "name": d.get("name", b"").decode("utf-8"),
        "request": d.get("type", "HTTP_REQUEST") == "HTTP_REQUEST",  # zero: HTTP_REQUEST
        "raw": d["raw"],
        "method": methods.get(d.get("method", "HTTP_DELETE")),
        "url": d.get("request_url", b""),
        "status": d.get("status_code", 0),
        "reason": d.get("response_status", b""),
        "version": (d.get("http_major", 0), d.get("http_minor", 0)),
        "headers": [(h[0][1], h[1][1]) for _, h in d.get("headers", [])],
        "num_headers": d.get("num_headers", 0),
        "body": d.get("body", b""),
        "body_size": d.get("body_size", 0),
        "upgrade": d.get("upgrade") if isinstance(d.get("upgrade"), bytes) else None,
        "eof": d.get("message_complete_on_eof") == "TRUE",
        "allow_chunked_length": bool(d.get("allow_chunked_length")),
        "chunk_lengths": [v for _, v in d.get("chunk_lengths", [])],
    }
    if msg["request"] != (kind == "requests"):
        raise ValueError("%s[%d]: type does not match its array" % (kind, index))
    return msg


def dechunk(data):
    """Naive chunked decoding, only to check the decoded corpus against itself."""
    out, i = b"", 0
    while True:
        j = data.index(b"\n", i)
        size = int(data[i:j].split(b";")[0].strip() or b"0", 16)
        i = j + 1
        if size == 0:
            return out
        out += data[i:i + size]
        i += size
        i = data.index(b"\n", i) + 1


def check_message(m):
    """Problems with the decoding of one message (each expected piece must be in raw)."""
    raw = m["raw"]
    unfolded = re.sub(rb"\r?\n(?=[ \t])", b"", raw)
    problems = []
    if len(m["headers"]) != m["num_headers"]:
        problems.append("num_headers %d, %d listed" % (m["num_headers"], len(m["headers"])))
    for name, value in m["headers"]:
        if not re.search(re.escape(name) + rb":[ \t]*" + re.escape(value), unfolded):
            problems.append("header %r: %r not in raw" % (name, value))
    if m["request"] and m["url"] not in raw:
        problems.append("url not in raw")
    if not m["request"] and m["reason"] not in raw.split(b"\n")[0]:
        problems.append("reason not in raw")
    if m["body_size"] and m["body_size"] != len(m["body"]):
        problems.append("body_size %d, body %d bytes" % (m["body_size"], len(m["body"])))
    if m["body"] and m["body"] not in raw:
        head_end = re.search(rb"\r?\n\r?\n", raw).end()
        if m["chunk_lengths"] and dechunk(raw[head_end:]) == m["body"]:
            pass
        else:
            problems.append("body not in raw")
    if m["upgrade"] is not None and not raw.endswith(m["upgrade"]):
        problems.append("upgrade is not the end of raw")
    return problems


# ------------------------------------------------------------------- main() vectors


def function_body(src, name):
    m = re.search(rb"\n[a-z_ ]*?\b" + name.encode() + rb"\s*\([^)]*\)\s*\{", src)
    if not m:
        raise ValueError("no function %s" % name)
    depth, i = 1, m.end()
    while depth:
        c = src[i:i + 1]
        depth += {b"{": 1, b"}": -1}.get(c, 0)
        i += 1
    return src[m.end():i - 1], src.count(b"\n", 0, m.end()) + 1


def strings_in(toks):
    return [t[1] for t in toks if t[0] == "str"]


def call_args(toks, i):
    """Arguments of the call whose '(' is toks[i]: list of token lists."""
    args, cur, depth = [], [], 0
    i += 1
    while True:
        t = toks[i]
        if t[1] == "(":
            depth += 1
        elif t[1] == ")":
            if depth == 0:
                args.append(cur)
                return args, i
            depth -= 1
        if t[1] == "," and depth == 0:
            args.append(cur)
            cur = []
        else:
            cur.append(t)
        i += 1


def helper_vectors(src, name, strict, req, inherited=None):
    """The inputs one test_*_error(req) helper feeds, with the expected error: the helpers
    feed `buf = req ? REQUEST_LINE : STATUS_LINE;` then `buf = "..."` (or `str`)."""
    body, _ = function_body(src, name)
    toks = tokenize(body, strict)
    out = []
    for i, t in enumerate(toks):  # a wrapper: calls another helper with (req, "...")
        if t[0] == "id" and t[1].startswith("test_") and toks[i + 1][1] == "(":
            args, _ = call_args(toks, i + 1)
            if len(args) == 2 and args[1] and args[1][0][0] == "str":
                out += helper_vectors(src, t[1], strict, req, strings_in(args[1])[0])
    if out:
        return out
    m = re.search(rb"buf = req \?\s*(\"[^\"]*\")\s*:\s*(\"[^\"]*\")\s*;", body)
    first = decode_c_string(m.group(1 if req else 2)[1:-1])
    rest = re.findall(rb"\n\s*buf = (str|\"(?:[^\"\\]|\\.)*\");", body)
    second = inherited if rest[-1] == b"str" else decode_c_string(rest[-1][1:-1])
    err = re.search(rb"== (HPE_\w+)\)", body).group(1).decode()
    return [(first + second, err)]


def main_vectors(src, strict):
    """(label, role, input, expected verdict, http-parser's name of the outcome)."""
    vecs = []
    main_body, first_line = function_body(src, "main")
    toks = tokenize(main_body, strict, first_line)
    consts = {}  # const char *name = "..."; and static const char *list[] = {...};
    i = 0
    while i < len(toks):
        t = toks[i]
        if t[1] == "char" and toks[i + 1][1] == "*" and toks[i + 2][0] == "id":
            nm = toks[i + 2][1]
            if toks[i + 3][1] == "=" and toks[i + 4][0] == "str":
                p = Parser(toks, i + 4)
                consts[nm] = p.value()
                i = p.i
                continue
            if toks[i + 3][1] == "[" and toks[i + 5][1] == "=":
                p = Parser(toks, i + 6)
                consts[nm] = [v for _, v in p.initializer() if isinstance(v, bytes)]
                i = p.i
                continue
        i += 1
    for i, t in enumerate(toks):
        if t[0] != "id" or toks[i + 1][1] != "(":
            continue
        name = t[1]
        if name in ("test_simple", "test_simple_type"):
            args, _ = call_args(toks, i + 1)
            if all(a[0] == "str" for a in args[0]):
                data = b"".join(strings_in(args[0]))
            elif args[0][0][1] in consts:
                data = consts[args[0][0][1]]
            else:  # the loops over the method lists, handled below
                continue
            err = args[1][0][1]
            req = name == "test_simple" or args[2][0][1] == "HTTP_REQUEST"
            vecs.append(("%s, test.c:%d" % (name, t[2]), req, data, err))
        elif name.endswith("_error") and name.startswith("test_") and args_is_type(toks, i):
            req = toks[i + 2][1] == "HTTP_REQUEST"
            if name in ("test_header_content_length_overflow_error",
                        "test_chunk_content_length_overflow_error",
                        "test_header_overflow_error"):
                continue
            for data, err in helper_vectors(src, name, strict, req):
                vecs.append(("%s(%s)" % (name, toks[i + 2][1]), req, data, err))
    # The method loops: sprintf(buf, "%s / HTTP/1.1\r\n\r\n", method); test_simple(buf, ...).
    loop = re.findall(rb"sprintf\(buf, \"%s / HTTP/1.1\\r\\n\\r\\n\", \*this_method\);\s*"
                      rb"test_simple\(buf, (HPE_\w+)\);", main_body)
    for lst, err in zip(("all_methods", "bad_methods"), loop):
        for meth in consts[lst]:
            vecs.append(("%s %s" % (lst, meth.decode()), True,
                         meth + b" / HTTP/1.1\r\n\r\n", err.decode()))
    # Generated inputs: the shapes of the named functions of test.c, written out here; check
    # that test.c still has them.
    for piece in (rb'"header-key: header-value\r\n"', rb"for (i = 0; i < 10000; i++)",
                  rb"test_no_overflow_long_body(HTTP_REQUEST, 1000)",
                  rb"test_no_overflow_long_body(HTTP_RESPONSE, 100000)",
                  rb'"%s\r\nConnection: Keep-Alive\r\nContent-Length: %lu\r\n\r\n"',
                  rb"X(1844674407370955160)", rb"X(18446744073709551615)",
                  rb"X(18446744073709551616)", rb"X(FFFFFFFFFFFFFFE)", rb"X(FFFFFFFFFFFFFFFF)",
                  rb"X(10000000000000000)", rb"create_large_chunked_message(31337",
                  rb'"GET / HTTP/1.1\r\nheader: value\nhdr: value\r\n"'):
        if piece not in src:
            raise ValueError("test.c changed: %r not found" % piece)
    for req in (True, False):
        line = b"GET / HTTP/1.1\r\n" if req else b"HTTP/1.0 200 OK\r\n"
        vecs.append(("test_header_overflow_error(%s)" % ("HTTP_REQUEST" if req else
                     "HTTP_RESPONSE"), req, line + b"header-key: header-value\r\n" * 10000,
                     "HPE_HEADER_OVERFLOW"))
        for length in (1000, 100000):
            head = b"%s\r\nConnection: Keep-Alive\r\nContent-Length: %d\r\n\r\n" % (
                b"POST / HTTP/1.0" if req else b"HTTP/1.0 200 OK", length)
            vecs.append(("test_no_overflow_long_body(%s, %d)" % (
                "HTTP_REQUEST" if req else "HTTP_RESPONSE", length), req,
                head + b"a" * length + head, "HPE_OK"))
    for size, err in ((b"1844674407370955160", "HPE_OK"),
                      (b"18446744073709551615", "HPE_INVALID_CONTENT_LENGTH"),
                      (b"18446744073709551616", "HPE_INVALID_CONTENT_LENGTH")):
        vecs.append(("test_header_content_length_overflow_error %s" % size.decode(), False,
                     b"HTTP/1.1 200 OK\r\nContent-Length: " + size + b"\r\n\r\n", err))
    for size, err in ((b"FFFFFFFFFFFFFFE", "HPE_OK"),
                      (b"FFFFFFFFFFFFFFFF", "HPE_INVALID_CONTENT_LENGTH"),
                      (b"10000000000000000", "HPE_INVALID_CONTENT_LENGTH")):
        vecs.append(("test_chunk_content_length_overflow_error %s" % size.decode(), False,
                     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
                     b"\r\n...", err))
    vecs.append(("test_header_nread_value", True,
                 b"GET / HTTP/1.1\r\nheader: value\nhdr: value\r\n", "HPE_OK"))
    vecs.append(("large chunked (test_message_count_body)", False,
                 b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain"
                 b"\r\n\r\n" + (b"400\r\n" + b"C" * 1024 + b"\r\n") * 31337 + b"0\r\n\r\n",
                 "HPE_OK"))
    return vecs


def args_is_type(toks, i):
    return toks[i + 2][1] in ("HTTP_REQUEST", "HTTP_RESPONSE") and toks[i + 3][1] == ")"


# ------------------------------------------------------------------------ our side


def add_host(data):
    return h1dump_io.add_host(data, HOST)


def our_outcome(output, data, first_only=False):
    """Our verdict and messages, trailers counted with the header fields (http-parser
    reports both as headers). first_only: stop at the end of the first message (the
    `head` table: http-parser's test looks at nothing after it)."""
    ours = read_events(output, data, first_only)
    error = ours["error"]
    if first_only and not ours["ended"] and not error:
        error = ours["eof"] or "first message not ended"
    msgs = [{"method": m["method"], "target": m["target"], "status": m["status"],
             "reason": m["reason"], "version": m["version"],
             "fields": m["headers"] + m["trailers"], "body": m["body"]}
            for m in ours["msgs"]]
    return {"error": error, "eof": ours["eof"], "msgs": msgs,
            "switch_at": ours["switch_at"], "closed": ours["closed"]}


def without_added_host(us, points):
    if not points:
        return us
    for m in us["msgs"]:
        if HOST_FIELD in m["fields"]:
            m["fields"].remove(HOST_FIELD)
    if us["switch_at"] is not None:
        us["switch_at"] -= len(HOST) * sum(1 for p in points if p < us["switch_at"])
    return us


def ows(v):
    return v.strip(b" \t")


def compare(exp, us, request, head_mode):
    """Differences between the expected message and ours, as a list of strings."""
    diffs = []
    if len(us["msgs"]) != 1:
        diffs.append("messages: http-parser 1, ours %d" % len(us["msgs"]))
    if not us["msgs"]:
        return diffs
    b = us["msgs"][0]
    if request:
        if exp["method"] != b["method"]:
            diffs.append("method %r vs %r" % (exp["method"], b["method"]))
        if exp["url"] != b["target"]:
            diffs.append("target %r vs %r" % (exp["url"], b["target"]))
    else:
        if exp["status"] != b["status"]:
            diffs.append("status %r vs %r" % (exp["status"], b["status"]))
        if exp["reason"] != b["reason"]:
            diffs.append("reason %r vs %r" % (exp["reason"], b["reason"]))
    major, minor = exp["version"]
    if b["version"] != ("1.0" if (major, minor) == (1, 0) else "1.1" if major == 1 else "?"):
        diffs.append("version %d.%d vs %s" % (major, minor, b["version"]))
    fields = [(n.lower(), ows(v)) for n, v in exp["headers"]]
    if fields != b["fields"]:
        diffs.append("fields %r vs %r" % (fields, b["fields"]))
    body = b"" if head_mode else exp["body"]
    if body != b["body"]:
        diffs.append("body %r vs %r" % (body, b["body"]))
    if not head_mode:
        want = None if exp["upgrade"] is None else len(exp["raw"]) - len(exp["upgrade"])
        if want != us["switch_at"]:
            diffs.append("switch: http-parser %s, ours %s" % (
                "none" if want is None else "at %d" % want,
                "none" if us["switch_at"] is None else "at %d" % us["switch_at"]))
    return diffs


def describe(us):
    if us["error"]:
        return "ours rejects: %s" % us["error"]
    parts = ["%d message(s)" % len(us["msgs"])]
    if us["switch_at"] is not None:
        parts.append("switch at %d" % us["switch_at"])
    if us["eof"]:
        parts.append("then end of input mid-message")
    if us["closed"]:
        parts.append("then closed")
    return "ours accepts: " + ", ".join(parts)


def judge(h1dump, role, method, fed, points, expect, mode):
    """One input through h1dump (whole and byte by byte), compared with http-parser.
    expect: the message (tables messages and head) or "accept"/"reject" (vectors)."""
    whole = run_h1dump(h1dump, role, method, fed, 0)
    bytewise = run_h1dump(h1dump, role, method, fed, 1)
    head_mode = mode == "head"
    us = without_added_host(our_outcome(whole, fed, head_mode), points)
    if mode == "vectors":
        verdict = "reject" if us["error"] else "accept"  # an end mid-message is no error
        want = expect
    else:
        if us["eof"] and not us["error"]:
            us["error"] = us["eof"]  # test_message() needs the message complete
        verdict = "reject" if us["error"] else "accept"
        want = "accept"
    diffs, late = [], None
    if us["eof"] and "head" in us["eof"]:
        # The input ends inside a head; end it and see what the core makes of the head.
        probe = our_outcome(run_h1dump(h1dump, role, method, fed + b"\r\n\r\n", 0), fed)
        late = probe["error"] or "accepted"
    if verdict != want:
        agree = bool(want == "reject" and late and late != "accepted"
                     and "missing Host" not in late)
    elif verdict == "accept" and mode != "vectors":
        diffs = compare(expect, us, role == "server", head_mode)
        agree = not diffs
    else:
        agree = True
    return {"agree": agree, "late": late, "ours": describe(us), "diffs": diffs,
            "split_consistent": whole == bytewise, "whole": whole,
            "bytewise": bytewise if whole != bytewise else None}


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(
        __doc__, ("http_parser", "http-parser checkout or bare git directory"))
    ap.add_argument("--strict", action="store_true", help="read test.c as built with "
                    "HTTP_PARSER_STRICT=1 (test_g); default 0, as test_fast")
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)

    corpus = Corpus(args.http_parser, args.rev)
    src = corpus.read("test.c")
    methods = method_names(corpus.read("http_parser.h"))
    toks = tokenize(src, args.strict)

    cases = []  # (table, label, request, method, input, expected)
    decode_problems = []
    for kind in ("requests", "responses"):
        items, _ = find_array(toks, kind)
        for idx, (_, entry) in enumerate(items):
            m = to_message(entry, methods, idx, kind)
            for p in check_message(m):
                decode_problems.append("%s[%d] %s: %s" % (kind, idx, m["name"], p))
            label = "%s[%d] %s" % (kind, idx, m["name"])
            cases.append(("messages", label, m["request"], None, m["raw"], m))
            if not m["request"]:
                cases.append(("head", label, False, "HEAD", m["raw"], m))
    for label, req, data, err in main_vectors(src, args.strict):
        cases.append(("vectors", label, req, None, data,
                      "accept" if err == "HPE_OK" else "reject"))
        cases[-1] = cases[-1] + (err,)

    results = []
    for case in cases:
        table, label, req, method, data, expect = case[:6]
        role = "server" if req else "client"
        plain = judge(h1dump, role, method, data, [], expect, table)
        fed, points = add_host(data) if req else (data, [])
        hosted = judge(h1dump, role, method, fed, points, expect, table) if points else plain
        results.append({
            "table": table, "case": label, "request": req, "method": method,
            "input": data.decode("latin-1"),
            "http_parser": ("accepts: the entry's message" if table != "vectors" else
                            "%ss (%s)" % (expect, case[6])),
            "plain": plain, "hosted": hosted, "host_added": bool(points),
        })

    print("http-parser: %s (%s), HTTP_PARSER_STRICT=%d" % (
        corpus.commit(), args.http_parser, 1 if args.strict else 0))
    if decode_problems:
        print("WARNING: decoding problems (expected pieces not found in raw):")
        for p in decode_problems:
            print("  " + p)
    else:
        print("decoding checked: every expected field, URL, reason, body and upgrade of the "
              "%d messages found in its raw bytes" % sum(1 for c in cases
                                                          if c[0] == "messages"))
    print()
    inconsistent = [(r, j) for r in results for j in (r["plain"], r["hosted"])
                    if not j["split_consistent"]]
    if inconsistent:
        print("!!! WHOLE vs BYTE-BY-BYTE DIFFER (bugs of ours): %d run(s)" % len(inconsistent))
        for r, j in inconsistent:
            print("  [%s] %s" % (r["table"], r["case"]))
            print("    input:     %r" % r["input"].encode("latin-1")[:300])
            print("    whole:     %s" % j["whole"].strip().replace("\n", "\n               "))
            print("    --split 1: %s" % j["bytewise"].strip().replace("\n", "\n               "))
        print()

    for table in ("messages", "head", "vectors"):
        print("%s: disagreements (as is; [host] = agrees once a Host field is supplied)%s:" % (
            table, "" if not args.verbose else " and agreements"))
        for r in (r for r in results if r["table"] == table):
            p, h = r["plain"], r["hosted"]
            quiet = p["agree"] and h["agree"] and not p["late"]
            if quiet and not args.verbose:
                continue
            print("  %s %s%s" % (h1dump_io.mark(p, h), r["case"],
                                 "  (--method %s)" % r["method"] if r["method"] else ""))
            if quiet:
                continue
            shown = r["input"].encode("latin-1")
            h1dump_io.print_input(shown)
            print("      http-parser %s" % r["http_parser"])
            h1dump_io.print_ours(p, h, r["host_added"])
        print()

    def figure(rows, key):
        agreed = sum(r[key]["agree"] for r in rows)
        return agreed, len(rows)

    print("%-10s %6s %12s %16s" % ("table", "cases", "as is", "Host supplied"))
    for table in ("messages", "head", "vectors", "all"):
        rows = [r for r in results if table == "all" or r["table"] == table]
        a, n = figure(rows, "plain")
        b, _ = figure(rows, "hosted")
        print("%-10s %6d %5d %5.1f%% %9d %5.1f%%" % (table, n, a, 100.0 * a / n, b,
                                                    100.0 * b / n))
    for key, label in (("plain", "as is"), ("hosted", "Host supplied")):
        late = [r for r in results if r[key]["agree"] and r[key]["late"]]
        refused = sum(1 for r in late if r["http_parser"].startswith("rejects"))
        print("agreements on an input that ends inside a head (%s): %d; http-parser refuses "
              "and the core refuses the ended head: %d; both accept the bytes given: %d "
              "(once ended, the core: %s)" % (
                  label, len(late), refused, len(late) - refused,
                  "; ".join(r[key]["late"] for r in late
                            if not r["http_parser"].startswith("rejects")) or "-"))
    runs = {id(j): j for r in results for j in (r["plain"], r["hosted"])}
    print("whole vs byte-by-byte: %d runs consistent, %d differ" % (
        sum(1 for j in runs.values() if j["split_consistent"]), len(inconsistent)))
    if args.json:
        h1dump_io.drop_whole(results)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if inconsistent else 0


if __name__ == "__main__":
    sys.exit(main())
