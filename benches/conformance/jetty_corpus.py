#!/usr/bin/env python3
"""Run Jetty's HTTP/1 parser tests (HttpParserTest.java) through h1dump and count where the
core agrees.

    cargo build --example h1dump
    python3 benches/conformance/jetty_corpus.py JETTY [--rev REV] [--h1dump PATH] [--verbose]
                    [--json OUT]

JETTY is a checkout of https://github.com/jetty/jetty.project (a directory with
jetty-core/jetty-http, or jetty-http on branches before 12) or a bare git directory of one
(read at HEAD, or at --rev). Nothing of Jetty is kept in this repository: HttpParserTest.java
is read at run time, tokenized with the Java reader of netty_corpus.py, and each test is
executed here statement by statement: locals (the last assignment before a use), string and
char literals, `+` concatenation, `BufferUtil.toBuffer(s[, charset])`, `new String[] {..}`,
`for (String s : array)`, `@ValueSource(strings = ..)` and `@MethodSource` parameters
(`Stream.of(..)`, `Arguments.of(..)`).

Each `new HttpParser(handler ..)` of a test invocation is one case: the bytes of the buffers
given to its `parseAll`/`parseNext`, concatenated, go through h1dump (a RequestHandler:
`--role server`; a ResponseHandler: `--role client`, `--method HEAD` after
`setHeadResponse(true)`), whole and with `--split 1`, then the end of input. Jetty's
handler records one message: `parseAll` and `parseNext` stop once a message is complete,
and no case that calls `reset()` is run, so the expectation is about our first message.
What the test asserts of its handler maps to ours:

  _bad not null (equals, startsWith, containsString,   we refuse the input (before the end
    notNullValue)                                      of the first message)
  _bad null                                            no refusal (the input may end
                                                       mid-message, unless `_early` says)
  _methodOrVersion, _uriOrStatus, _versionOrReason     method, target (UTF-8), HTTP/1.x;
                                                       for responses HTTP/1.x, status, reason
  _hdr[i], _val[i], _headers, _fields                  i-th field (name case-insensitive),
                                                       field count - 1
  _content                                             body bytes (UTF-8); null: none
  _headerCompleted, _contentCompleted,                 head delivered, message ended
    _messageCompleted
  _early (after `atEOF()`)                             input ended inside the message
  _trailers                                            trailer fields

Asserts about Jetty's own objects (`_complianceViolation`, `_host`/`_port` of its Host
parser, the parser state, what is left in the buffer, return values of parseNext) are not
compared. A test the reader cannot execute, with no parser, with a custom handler, several
messages checked in turn, or no assert that maps, is listed as not run with the reason.

Modes. `new HttpParser(handler)` takes the default compliance (RFC7230 at the time of
writing: the script reads it from HttpParser.java). A case given another HttpCompliance, a
maxHeaderBytes, or a parser setter is run and listed apart, not counted.

The figures are given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2); also for the cases whose input has no bare LF
(most tests run twice, with CRLF and LF line ends, and Jetty accepts bare LF). When Jetty
refuses an input that ends inside a head, which the core judges once it is complete, the
head is ended and the case agrees if we then refuse it for a reason other than the missing
Host. Whole and byte-by-byte outputs must be identical and h1dump must not fail; any case
where either happens is listed first, as a bug of ours (exit status 1).
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402
from netty_corpus import JavaFile, NotUnderstood, closing, is_op, split_top  # noqa: E402

PATHS = ["jetty-core/jetty-http/src/test/java/org/eclipse/jetty/http/HttpParserTest.java",
         "jetty-http/src/test/java/org/eclipse/jetty/http/HttpParserTest.java"]
MAIN_PATHS = [p.replace("/test/", "/main/").replace("HttpParserTest", "HttpParser")
              for p in PATHS]
HOST = b"Host: jetty.invalid\r\n"
HOST_FIELD = (b"host", b"jetty.invalid")
CHARSETS = {"UTF_8": "utf-8", "ISO_8859_1": "latin-1", "US_ASCII": "ascii"}
# asserts about Jetty's own objects: not compared
IGNORED = re.compile(r"^(_complianceViolation|_host|_port|handle|buffer|parser|BufferUtil|"
                     r"HttpParser|field|list|unknowns|header|s|test|m|method|methodName|"
                     r"URIUtil|HttpMethod|HttpHeaderValue)\b")


def text_blocks(text):
    """`text` with each Java text block made an ordinary string literal (then as many line
    ends, so that line numbers stay): incidental indentation and trailing blanks removed,
    line ends as \\n, escapes left for the tokenizer."""
    def one(m):
        lines = m.group(1).split("\n")
        indent = min(len(x) - len(x.lstrip(" \t")) for x in lines if x.strip() or x is lines[-1])
        body = "\n".join(x[indent:].rstrip(" \t") for x in lines)
        body = re.sub(r'(?<!\\)((?:\\\\)*)"', r'\1\\"', body).replace("\n", "\\n")
        return '"%s"%s' % (body, "\n" * m.group(0).count("\n"))
    return re.sub(r'"""[ \t]*\n(.*?)"""', one, text, flags=re.S)


class Skip(Exception):
    """A test, or case, that is not run; the message says why."""


class Buffer:
    def __init__(self, data):
        self.data = data


class Matcher:
    def __init__(self, kind, arg=None):
        self.kind, self.arg = kind, arg


class Case:
    def __init__(self, test, line, role, option):
        self.test, self.line, self.role, self.option = test, line, role, option
        self.data, self.fed, self.eof, self.method = b"", [], False, None
        self.expect, self.skip, self.feeds_after_assert = [], None, False


class Runner:
    """Executes one invocation of a test method, collecting its cases."""

    def __init__(self, jf, default_mode):
        self.jf, self.toks, self.default_mode = jf, jf.toks, default_mode
        self.cases, self.locals, self.case = [], {}, None

    # ------------------------------------------------------------ expressions
    def eval(self, lo, hi):
        toks = self.toks
        parts = split_top(toks, lo, hi, "+")
        if len(parts) > 1:
            vals = [self.eval(a, b) for a, b in parts]
            if all(isinstance(v, str) for v in vals):
                return "".join(vals)
            if any(isinstance(v, str) for v in vals):
                return "".join(v if isinstance(v, str) else str(v) for v in vals)
            return sum(vals)
        if hi - lo == 1:
            t = toks[lo]
            if t.kind in ("str", "char", "int"):
                return t.val
            if t.kind == "id":
                if t.val in self.locals:
                    return self.locals[t.val]
                if t.val in ("true", "false"):
                    return t.val == "true"
                if t.val == "null":
                    return None
                return ("field", t.val)
        if is_op(toks[lo], "(") and closing(toks, lo) == hi - 1:
            return self.eval(lo + 1, hi - 1)
        if toks[lo].kind == "str" and is_op(toks[lo + 1], "."):  # "..".formatted(..) etc.
            v, i = toks[lo].val, lo + 1
            while i < hi and is_op(toks[i], ".") and toks[i + 1].kind == "id" \
                    and is_op(toks[i + 2], "("):
                k = closing(toks, i + 2)
                ev = [self.eval(a, b) for a, b in split_top(toks, i + 3, k)]
                if toks[i + 1].val == "replace" and len(ev) == 2:
                    v = v.replace(ev[0], ev[1])
                elif toks[i + 1].val == "formatted" and "%" not in re.sub(r"%s", "", v):
                    v = v % tuple(ev)
                else:
                    raise Skip("line %d: String.%s" % (toks[lo].line, toks[i + 1].val))
                i = k + 1
            if i == hi:
                return v
        if is_op(toks[lo], "-") and hi - lo == 2 and toks[lo + 1].kind == "int":
            return -toks[lo + 1].val
        names = []
        i = lo
        while i < hi and toks[i].kind == "id" or (i < hi and is_op(toks[i], ".")):
            names.append(toks[i].val)
            i += 1
        dotted = "".join(names)
        if i == hi:
            if dotted.startswith("StandardCharsets."):
                return ("charset", dotted.split(".")[1])
            if dotted.startswith("HttpCompliance.") and dotted.count(".") == 1:
                return ("mode", dotted.split(".")[1])
            if dotted == "BufferUtil.EMPTY_BUFFER":
                return Buffer(b"")
            return ("field", dotted)
        if is_op(toks[i], "(") and closing(toks, i) == hi - 1:
            args = [(a, b) for a, b in split_top(toks, i + 1, hi - 1)]
            return self.call(dotted, args, lo)
        if dotted == "newString" and is_op(toks[i], "["):
            j = closing(toks, i) + 1
            if is_op(toks[j], "{") and closing(toks, j) == hi - 1:
                return [self.eval(a, b) for a, b in split_top(toks, j + 1, hi - 1)]
        raise Skip("line %d: expression %s not understood" % (toks[lo].line, self.text(lo, hi)))

    def call(self, name, args, lo):
        ev = [self.eval(a, b) for a, b in args] if name not in ("newHandler",) else []
        short = name.split(".")[-1]
        if name == "BufferUtil.toBuffer":
            s = ev[0]
            if not isinstance(s, str):
                raise Skip("toBuffer of %r" % (s,))
            cs = CHARSETS.get(ev[1][1], None) if len(ev) > 1 else "latin-1"
            if cs is None:
                raise Skip("charset %r" % (ev[1],))
            if cs == "latin-1":  # BufferUtil.toBuffer(String): ISO-8859-1
                return Buffer(bytes(ord(c) if ord(c) < 256 else 63 for c in s))
            return Buffer(s.encode(cs, "replace"))
        if name == "newHandler":
            return ("handler",)
        if name == "HttpCompliance.from":
            return ("mode", ev[0])
        if short in ("notNullValue", "nullValue", "startsWith", "containsString", "is",
                     "empty"):
            return Matcher(short, ev[0] if ev else None)
        if name == "Integer.toString" or name == "String.valueOf":
            return str(ev[0])
        raise Skip("line %d: call %s" % (self.toks[lo].line, name))

    def text(self, lo, hi):
        return " ".join(repr(t.val) if t.kind in ("str", "char") else str(t.val)
                        for t in self.toks[lo:hi])[:80]

    # ------------------------------------------------------------ statements
    def run_block(self, lo, hi):
        toks, i = self.toks, lo
        while i < hi:
            t = toks[i]
            if is_op(t, "{"):
                j = closing(toks, i)
                self.run_block(i + 1, j)
                i = j + 1
                continue
            if t.kind == "id" and t.val == "for":
                p = i + 1
                pc = closing(toks, p)
                colon = [k for k in range(p + 1, pc) if is_op(toks[k], ":")]
                if not colon:
                    raise Skip("line %d: a counted loop" % t.line)
                var = toks[colon[0] - 1].val
                seq = self.eval(colon[0] + 1, pc)
                if not isinstance(seq, list):
                    raise Skip("line %d: a loop over %r" % (t.line, seq))
                b = pc + 1
                end = closing(toks, b) if is_op(toks[b], "{") else self.stmt_end(b)
                for v in seq:
                    self.locals[var] = v
                    if is_op(toks[b], "{"):
                        self.run_block(b + 1, end)
                    else:
                        self.statement(b, end)
                i = end + 1
                continue
            if t.kind == "id" and t.val in ("while", "if", "do", "try", "switch"):
                raise Skip("line %d: `%s`" % (t.line, t.val))
            j = self.stmt_end(i)
            self.statement(i, j)
            i = j + 1

    def stmt_end(self, i):
        toks, depth = self.toks, 0
        while True:
            t = toks[i]
            if is_op(t, "(", "[", "{"):
                depth += 1
            elif is_op(t, ")", "]", "}"):
                depth -= 1
            elif depth == 0 and is_op(t, ";"):
                return i
            i += 1

    def statement(self, lo, hi):
        toks = self.toks
        if lo == hi:
            return
        line = toks[lo].line
        src = self.text(lo, hi)
        # assignment or declaration
        eq = [k for k in range(lo, hi) if is_op(toks[k], "=")]
        depth0 = eq and not any(is_op(toks[k], "(") for k in range(lo, eq[0]))
        if depth0:
            k = eq[0]
            name = toks[k - 1].val
            if toks[k + 1].kind == "id" and toks[k + 1].val == "new" and \
                    toks[k + 2].val == "HttpParser":
                self.new_parser(k + 3, hi, line)
                return
            if toks[k + 1].kind == "id" and toks[k + 1].val == "new" and \
                    toks[k + 2].val == "Handler":
                if not is_op(toks[k + 4], ")") or k + 5 != hi:
                    raise Skip("line %d: a custom handler" % line)
                kind = self.text(lo, k - 1)
                prev = self.locals.get(name)
                self.locals[name] = ("handler", "client" if "ResponseHandler" in kind
                                     else "server" if "RequestHandler" in kind
                                     else prev[1] if isinstance(prev, tuple) else None)
                return
            m = re.match(r"_(trailers|fields)\.get\((\d+)\)$", "".join(
                str(t.val) for t in toks[k + 1:hi]))
            if m:  # a field of the handler's lists, asserted on below
                self.locals[name] = ("list", "_%s.get(%s)" % m.groups())
                return
            if name.startswith("_"):
                return  # handler state set by the test: overwritten by the next message
            if any(is_op(toks[m], "(") and toks[m - 1].val in ("parseNext", "parseAll")
                   for m in range(k, hi)):
                self.feed_in(k + 1, hi)
                return
            self.locals[name] = self.eval(k + 1, hi)
            return
        if toks[lo].kind == "id" and toks[lo].val.startswith("assert"):
            self.feed_in(lo, hi)
            self.assertion(toks[lo].val, lo + 2, closing(toks, lo + 1), line)
            return
        head = "".join(str(t.val) for t in toks[lo:min(hi, lo + 3)])
        if head in ("parseAll(parser", "parser.parseNext"):
            self.feed_in(lo, hi)
            return
        if head == "parser.atEOF":
            self.need_case(line).eof = True
            return
        if head == "parser.setHeadResponse":
            c = self.need_case(line)
            c.method = "HEAD" if self.eval(lo + 4, hi - 1) else None
            return
        if head in ("parser.reset", "init(") or src.startswith("init ("):
            if self.case is not None:
                self.case.skip = "reset: several messages checked in turn (line %d)" % line
            return
        if head.startswith("parser."):
            raise Skip("line %d: %s" % (line, src))
        if head.startswith("_trailers.") or head.startswith("_fields."):
            return
        raise Skip("line %d: statement %s" % (line, src))

    def need_case(self, line):
        if self.case is None:
            raise Skip("line %d: no parser" % line)
        return self.case

    def new_parser(self, lo, hi, line):
        args = [self.eval(a, b) for a, b in split_top(self.toks, lo + 1, hi - 1)]
        handler = args[0]
        if not (isinstance(handler, tuple) and handler[0] == "handler" and len(handler) > 1):
            raise Skip("line %d: parser handler %r" % (line, handler))
        option = []
        for a in args[1:]:
            if isinstance(a, tuple) and a[0] == "mode":
                if a[1] != self.default_mode:
                    option.append("HttpCompliance." + a[1] if a[1].isupper() else
                                  'HttpCompliance.from("%s")' % a[1])
            elif isinstance(a, int):
                if a != -1:
                    option.append("maxHeaderBytes %d" % a)
            elif a is None:
                pass  # null compliance: the default
            else:
                raise Skip("line %d: parser argument %r" % (line, a))
        self.case = Case(None, line, handler[1], ", ".join(option))
        self.cases.append(self.case)

    def feed_in(self, lo, hi):
        """Feeds the buffers named in the parse calls of toks[lo:hi]."""
        toks = self.toks
        for m in range(lo, hi):
            if is_op(toks[m], "(") and m > 0 and toks[m - 1].val in ("parseAll", "parseNext"):
                c = self.need_case(toks[m].line)
                args = split_top(toks, m + 1, closing(toks, m))
                buf = self.eval(*args[-1])
                if not isinstance(buf, Buffer):
                    raise Skip("line %d: parsing %r" % (toks[m].line, buf))
                if c.expect and any(id(buf) != b for b in c.fed) and buf.data:
                    c.feeds_after_assert = True
                if id(buf) not in c.fed:
                    c.fed.append(id(buf))
                    c.data += buf.data

    def assertion(self, kind, lo, hi, line):
        toks = self.toks
        args = split_top(toks, lo, hi)
        if kind == "assertThat" and len(args) == 3:
            args = args[1:]
        actual_i = {"assertEquals": 1, "assertThat": 0, "assertNull": 0, "assertNotNull": 0,
                    "assertTrue": 0, "assertFalse": 0, "assertSame": 1}.get(kind)
        if actual_i is None or actual_i >= len(args):
            raise Skip("line %d: %s" % (line, kind))
        a, b = args[actual_i]
        actual = "".join(str(t.val) for t in toks[a:b])
        v = self.locals.get(toks[a].val)
        if isinstance(v, tuple) and v[0] == "list":
            actual = v[1] + "".join(str(t.val) for t in toks[a + 1:b])
        if IGNORED.match(actual) or not actual.startswith("_"):
            return
        if kind == "assertEquals":
            exp = self.eval(*args[0])
        elif kind == "assertThat":
            exp = self.eval(*args[1])
            if isinstance(exp, Matcher):
                exp = {"notNullValue": Matcher("notnull"), "nullValue": None,
                       "is": exp.arg}.get(exp.kind, exp)
        elif kind == "assertNull":
            exp = None
        elif kind == "assertNotNull":
            exp = Matcher("notnull")
        elif kind in ("assertTrue", "assertFalse"):
            exp = kind == "assertTrue"
        else:
            raise Skip("line %d: %s" % (line, kind))
        c = self.need_case(line)
        c.expect.append((actual, exp, line))


def parameter_sets(jf, m):
    """The arguments of each invocation of test method `m` (one empty set for @Test)."""
    names = [a[0] for a in m.annotations]
    if "Test" in names and "ParameterizedTest" not in names:
        return [[]]
    toks = jf.toks
    for name, lo, hi in m.annotations:
        if name == "ValueSource":
            r = Runner(jf, None)
            for a, b in split_top(toks, lo, hi):
                if toks[a].val in ("strings", "ints"):
                    k = a + 2
                    if is_op(toks[k], "{"):
                        return [[r.eval(x, y)] for x, y in split_top(toks, k + 1, closing(toks, k))]
                    return [[r.eval(k, b)]]
            raise Skip("@ValueSource of another kind")
        if name == "MethodSource":
            src = jf.methods[toks[lo].val][0]
            i = src.lo
            if not (toks[i].val == "return" and toks[i + 1].val == "Stream"
                    and toks[i + 3].val == "of"):
                raise Skip("@MethodSource %s not understood" % toks[lo].val)
            p = i + 4
            r, out = Runner(jf, None), []
            for a, b in split_top(toks, p + 1, closing(toks, p)):
                if toks[a].val == "Arguments":
                    q = a + 3
                    out.append([r.eval(x, y) for x, y in split_top(toks, q + 1, closing(toks, q))])
                else:
                    out.append([r.eval(a, b)])
            return out
    raise Skip("parameters from %s" % ", ".join(names))


def cases_of(jf, default_mode, skipped):
    cases = []
    for name, ms in jf.methods.items():
        for m in ms:
            anns = [a[0] for a in m.annotations]
            if "Test" not in anns and "ParameterizedTest" not in anns:
                continue
            try:
                psets = parameter_sets(jf, m)
            except (Skip, NotUnderstood) as e:
                skipped.append(("%s:%d" % (name, m.line), str(e)))
                continue
            for k, params in enumerate(psets):
                label = "%s:%d" % (name, m.line) + ("[%d %r]" % (k, params[0])[:40]
                                                    if params else "")
                r = Runner(jf, default_mode)
                for (_, pname), v in zip(m.params, params):
                    r.locals[pname] = v
                try:
                    r.run_block(m.lo, m.hi)
                except (Skip, NotUnderstood, IndexError, KeyError) as e:
                    skipped.append((label, str(e) or type(e).__name__))
                    continue
                if not r.cases:
                    skipped.append((label, "no HttpParser"))
                for n, c in enumerate(r.cases):
                    c.test = label + ("#%d" % (n + 1) if len(r.cases) > 1 else "")
                    if c.skip:
                        skipped.append((c.test, c.skip))
                    elif c.feeds_after_assert:
                        skipped.append((c.test, "asserts between feeds: several messages"))
                    elif not c.expect:
                        skipped.append((c.test, "no assert that maps"))
                    elif not c.data and not c.eof:
                        skipped.append((c.test, "no bytes parsed"))
                    else:
                        cases.append(c)
    return cases


# ------------------------------------------------------------------------ judging


def jetty_says(c):
    return "; ".join("%s %s" % (a, "not null" if isinstance(e, Matcher) and e.kind == "notnull"
                                 else "%s %r" % (e.kind, e.arg) if isinstance(e, Matcher)
                                 else repr(e)) for a, e, _ in c.expect)


def expects_bad(c):
    for a, e, _ in c.expect:
        if a == "_bad" and e is not None:
            return True
    return False


def compare(c, ev, hosted):
    """The differences between Jetty's asserts and our reading `ev` of the first message."""
    diffs = []
    msg = next((m for m in ev["msgs"] if m["kind"] != "informational"),
               ev["msgs"][0] if ev["msgs"] and ev["switch_at"] is not None else None)
    if msg is not None and hosted:
        msg = dict(msg, headers=[h for h in msg["headers"] if h != HOST_FIELD])
    refused = ev["error"] is not None and not ev["ended"]
    bad = expects_bad(c)
    if bad:
        if not refused:
            diffs.append("Jetty refuses (_bad), we %s" % ("read it" if not ev["eof"] else
                                                           "wait for more (%s)" % ev["eof"]))
        return diffs
    if refused:
        diffs.append("we refuse: %s" % ev["error"])
        return diffs
    for actual, e, line in c.expect:
        if actual == "_bad":
            continue
        got = ours(actual, c, msg, ev)
        if isinstance(got, Skip):
            diffs.append("%s: %s" % (actual, got))
            continue
        if isinstance(e, Matcher):
            ok = (e.kind == "notnull" and got is not None) or \
                 (e.kind == "startsWith" and isinstance(got, str) and got.startswith(e.arg)) or \
                 (e.kind == "containsString" and isinstance(got, str) and e.arg in got)
        elif actual.startswith("_hdr") or actual.endswith("getName()"):
            ok = isinstance(got, str) and isinstance(e, str) and got.lower() == e.lower()
        elif isinstance(got, tuple):
            ok = e in got
        else:
            ok = got == e
        if not ok:
            diffs.append("%s: Jetty %r, we %r (line %d)" % (actual, e, got, line))
    return diffs


def ours(actual, c, msg, ev):
    """Our value for the handler field `actual`, as Jetty's handler would hold it."""
    server = c.role == "server"
    if actual in ("_messageCompleted", "_contentCompleted"):
        return msg is not None and ev["ended"]
    if actual == "_headerCompleted":
        return msg is not None
    if actual == "_early":
        return ev["eof"] is not None and c.eof
    if msg is None:
        return None
    body = msg["body"]
    hdrs = msg["headers"]
    if actual == "_methodOrVersion":
        return msg["method"] if server else "HTTP/" + msg["version"]
    if actual == "_uriOrStatus":
        return msg["target"].decode("utf-8", "replace") if server else str(msg["status"])
    if actual == "_versionOrReason":  # Jetty's handler is given null for an empty reason
        return "HTTP/" + msg["version"] if server else msg["reason"].decode("latin-1") or None
    if actual == "_content.length()":
        return len(body.decode("utf-8", "replace"))
    if actual == "_headers":
        return len(hdrs) - 1
    if actual == "_content":
        return body.decode("utf-8", "replace") if body else None
    m = re.match(r"_(hdr|val)\[(\d+)\]$", actual)
    m2 = re.match(r"_(fields|trailers)\.get\((\d+)\)\.get(Name|Value)\(\)$", actual)
    if m or m2:
        fields = msg["trailers"] if m2 and m2.group(1) == "trailers" else hdrs
        i = int((m or m2).group(2))
        part = 0 if (m and m.group(1) == "hdr") or (m2 and m2.group(3) == "Name") else 1
        if i >= len(fields):
            return None
        v = fields[i][part]
        return v.decode("latin-1") if part == 0 else (v.decode("latin-1"),
                                                      v.decode("utf-8", "replace"))
    m = re.match(r"_(fields|trailers)\.size\(\)$", actual)
    if m:
        return len(msg["trailers"] if m.group(1) == "trailers" else hdrs)
    return Skip("not compared")


def run_case(h1dump, c, data, hosted):
    """Our reading of `data`, whole and byte by byte; agreement with Jetty."""
    res = {"crash": [], "split_consistent": True, "late": None}
    outs = {}
    for split in (0, 1):
        try:
            outs[split] = run_h1dump(h1dump, c.role, c.method, data, split, timeout=60)
        except Exception as e:  # noqa: BLE001 - a failure of h1dump is a finding
            res["crash"].append("split %d: %s" % (split, e))
    if res["crash"]:
        res.update(agree=False, ours="h1dump failed", diffs=res["crash"], whole="",
                   bytewise="")
        return res
    res["whole"], res["bytewise"] = outs[0], outs[1]
    res["split_consistent"] = outs[0] == outs[1]
    ev = read_events(outs[0], data, first_only=True)
    res["ours"] = describe(ev)
    diffs = compare(c, ev, hosted)
    if diffs and not expects_bad(c) and not c.eof and ev["eof"] and not ev["msgs"]:
        # Jetty reports the start line before the head is complete; the core, once it is
        late = read_events(run_h1dump(h1dump, c.role, c.method, h1dump_io.end_head(data), 0,
                                      timeout=60), data, first_only=True)
        res["late"] = describe(late)
        diffs = compare(c, late, hosted)
    elif diffs and expects_bad(c) and ev["eof"] and not ev["msgs"]:
        late = read_events(run_h1dump(h1dump, c.role, c.method, h1dump_io.end_head(data), 0,
                                      timeout=60), data, first_only=True)
        res["late"] = describe(late)
        if late["error"] and "host" not in late["error"].lower():
            diffs = []
    res["agree"] = not diffs
    res["diffs"] = diffs
    return res


def describe(ev):
    parts = []
    for m in ev["msgs"]:
        if m["kind"] == "request":
            parts.append("%s %s HTTP/%s %d field(s)" % (m["method"], m["target"].decode(
                "latin-1")[:40], m["version"], len(m["headers"])))
        else:
            parts.append("HTTP/%s %s %r %d field(s)" % (m["version"], m["status"], m["reason"]
                                                         .decode("latin-1"), len(m["headers"])))
        if m["body"]:
            parts.append("body %r" % m["body"][:40])
    if ev["ended"]:
        parts.append("ended")
    if ev["error"]:
        parts.append("refused: %s" % ev["error"])
    if ev["eof"]:
        parts.append("eof: %s" % ev["eof"])
    return "; ".join(parts) or "nothing"


def default_mode(src):
    """The compliance `new HttpParser(handler)` takes, read from HttpParser.java."""
    for p in MAIN_PATHS:
        try:
            text = src.read_bytes(p).decode("utf-8")
        except Exception:  # noqa: BLE001
            continue
        m = re.search(r"HttpCompliance compliance\(\)\s*\{[^}]*?return\s+(?:HttpCompliance\.)?"
                      r"(\w+)\s*;", text)
        if m:
            return m.group(1), p
        m = re.search(r"public HttpParser\(RequestHandler handler\)\s*\{\s*this\(handler,\s*-1,"
                      r"\s*(?:HttpCompliance\.)?(\w+)\)", text)
        if m:
            return m.group(1), p
    return "RFC9110", None


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("jetty", "a jetty.project checkout or bare "
                                              "git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = None
    for p in PATHS:
        s = Source(args.jetty, args.rev, p)
        try:
            text = s.read_bytes(p).decode("utf-8")
            src, path = s, p
            break
        except Exception:  # noqa: BLE001
            continue
    if src is None:
        sys.exit("no HttpParserTest.java in %s at %s" % (args.jetty, args.rev))
    mode, mode_from = default_mode(src)
    jf = JavaFile(path, text_blocks(text))
    skipped = []
    cases = cases_of(jf, mode, skipped)
    print("jetty commit %s: %s" % (src.commit(), path))
    print("default compliance of new HttpParser(handler): %s (%s)"
          % (mode, mode_from or "HttpParser.java not found: assumed"))
    results = []
    for c in cases:
        plain = run_case(h1dump, c, c.data, False)
        hosted_data, points = (h1dump_io.add_host(c.data, HOST) if c.role == "server"
                               else (c.data, []))
        hosted = run_case(h1dump, c, hosted_data, True) if points else plain
        results.append({"case": c, "plain": plain, "hosted": hosted, "host_added": bool(points),
                        "hosted_data": hosted_data,
                        "input": c.data.decode("latin-1"),
                        "bare_lf": bool(re.search(rb"(?<!\r)\n", c.data))})
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "%s (line %d)" % (r["case"].test, r["case"].line),
        data=lambda r, j: r["hosted_data"] if j is r["hosted"] else r["case"].data)

    default = [r for r in results if not r["case"].option]
    others = [r for r in results if r["case"].option]
    crlf = [r for r in default if not r["bare_lf"]]
    print()
    print("%-44s %5s %14s %15s" % ("", "cases", "agree as is", "Host supplied"))
    print("%-44s %5d %s" % ("default mode (%s)" % mode, len(default), h1dump_io.agreement(default)))
    print("%-44s %5d %s" % ("  of which no bare LF in the input", len(crlf),
                             h1dump_io.agreement(crlf)))
    print("%-44s %5d %s" % ("other modes (not counted)", len(others), h1dump_io.agreement(others)))
    print("not run: %d test invocations" % len(skipped))
    print("whole vs byte by byte identical: %d of %d runs" % (
        sum(j["split_consistent"] and not j["crash"] for r in results
            for j in {id(r["plain"]): r["plain"], id(r["hosted"]): r["hosted"]}.values()),
        sum(1 + (r["hosted"] is not r["plain"]) for r in results)))

    def show(rows, title):
        print()
        print(title)
        for r in rows:
            c, plain, hosted = r["case"], r["plain"], r["hosted"]
            if plain["agree"] and hosted["agree"] and not args.verbose:
                continue
            print("  %s %s (%s:%d)%s" % (h1dump_io.mark(plain, hosted), c.test,
                                         os.path.basename(path), c.line,
                                         " [%s]" % c.option if c.option else ""))
            print("      input:  %r" % c.data[:200])
            print("      Jetty:  %s%s" % (jetty_says(c), " (after atEOF)" if c.eof else ""))
            h1dump_io.print_ours(plain, hosted, r["host_added"])

    show(default, "Default mode, disagreements%s:" % (" and agreements" if args.verbose else ""))
    show(others, "Other modes (not counted):")
    print()
    print("Not run:")
    for label, why in skipped:
        print("  %s: %s" % (label, why))
    if args.json:
        out = [{"test": r["case"].test, "line": r["case"].line, "role": r["case"].role,
                "option": r["case"].option, "method": r["case"].method, "eof": r["case"].eof,
                "input": r["input"], "jetty": jetty_says(r["case"]),
                "plain": {k: v for k, v in r["plain"].items() if k not in ("whole", "bytewise")},
                "hosted": {k: v for k, v in r["hosted"].items() if k not in ("whole", "bytewise")}}
               for r in results]
        with open(args.json, "w") as f:
            json.dump(h1dump_io.jsonable({"commit": src.commit(), "file": path,
                                          "default_mode": mode, "cases": out,
                                          "not_run": skipped}), f, indent=1)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
