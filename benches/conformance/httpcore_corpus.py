#!/usr/bin/env python3
"""Run Apache HttpComponents Core 5's HTTP/1.1 message-parser tests through h1dump and
count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/httpcore_corpus.py HTTPCORE [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

HTTPCORE is an httpcomponents-core checkout (a directory with httpcore5/) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the test files below are read at run time, their Java string literals decoded
(concatenation with `+`, escapes, octal `\\000`, the class's string constants), and each
test method walked statement by statement (a statement is what ends at a `;`, `{` or `}`
outside parentheses, so the body of a lambda given to `assertThrows` stays one). What the
methods feed and what they expect:

  message/TestBasicLineParser     `buf.append(S)` then `parser.parseRequestLine(buf)`,
        `parseStatusLine`, `parseHeader` or `parseProtocolVersion`: S as a request line
        (`S CRLF CRLF`, --role server), a status line (`S CRLF CRLF`, --role client; a CRLF
        that ends S is taken off first), a header field (after `HTTP/1.1 200 OK CRLF`,
        --role client) or an HTTP version (`GET / S CRLF CRLF`, --role server). Inside
        `assertThrows`: refused; otherwise read, with the fields the following asserts
        name (getMethod, getUri, getProtocolVersion, getStatusCode, getReasonPhrase,
        getName, getValue). A version parsed from the front of a longer buffer (the test
        then checks where the cursor stopped) is listed apart.
  impl/io/TestRequestParser, TestResponseParser  `DefaultHttpRequestParser` (--role
        server) or `DefaultHttpResponseParser` (--role client) given the string `s` (the
        NUL bytes of a `TimeoutByteArrayInputStream` are where it signals a timeout, and
        are taken out): read, with the method, path, status, reason and number of fields
        asserted; refused inside `assertThrows`; no message for an `assertNull` of it.
  impl/io/TestMessageParser       `AbstractMessageParser.parseHeaders` of a block of
        header lines, after `HTTP/1.1 200 OK CRLF` (--role client; the head ended with
        CRLF CRLF when the test's block stops before its end): the fields asserted, or
        refused.
  impl/io/TestDefaultBHttpServerConnection, TestDefaultBHttpClientConnection  the input
        given to the connection's socket (--role server or client): the head's fields and
        then the body (`receive*Entity` inside `assertThrows`: refused; an entity's
        asserted length, and the bytes read from it, compared).
  impl/io/TestChunkCoding, impl/nio/TestChunkDecoder  a `ChunkedInputStream` or
        `ChunkDecoder` given a body: after `POST / HTTP/1.1`, a Host and
        `Transfer-Encoding: chunked` (--role server).
  impl/io/TestContentLengthInputStream, impl/nio/TestLengthDelimitedDecoder  the same with
        `Content-Length: N` (N the length the stream or decoder is given).
  impl/io/TestIdentityInputStream, impl/nio/TestIdentityDecoder  a body read to the end
        of input: after `HTTP/1.1 200 OK CRLF CRLF` (--role client).

For a decoder the verdict is: refused when a read of it is inside `assertThrows` (save
StreamClosedException, NullPointerException and IllegalArgumentException, which test the
API); otherwise decoded, to the concatenation of the strings the test asserts it read
(`CodecTestUtils.convert(dst)`, or the String made of what it read; a `dst.clear()` in
between starts a new piece), with the trailer fields asserted. A decode is complete when
the test asserts it (`isCompleted()`, a read giving -1); otherwise the test reads a
prefix, and we must give at least that prefix with no refusal other than the input
ending. A test that only calls the streams' API (available, skip, close, reads after
close, null arguments) or decodes into a file through a FileChannel is listed, not run.

HttpCore is lenient by design (a client of every sort of server). A case the test runs
with limits of its own (an `Http1Config`, a session buffer with a line limit, limits given
to `parseHeaders`) is run and listed, not counted. The figure is given as is and with a
`Host` field supplied to HTTP/1.1 requests that have none (RFC 9112 §3.2; the added field
is left out of the comparison). Whole and byte-by-byte outputs of h1dump must be
identical, and h1dump must not fail; any case where either happens is listed first.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402
from source_text import CHAR, JAVA, JAVA_STRING, NotUnderstood, java_unescape  # noqa: E402

TEST = "httpcore5/src/test/java/org/apache/hc/core5/http/"
FILES = [
    ("message/TestBasicLineParser.java", "line"),
    ("impl/io/TestRequestParser.java", "message"),
    ("impl/io/TestResponseParser.java", "message"),
    ("impl/io/TestMessageParser.java", "message"),
    ("impl/io/TestDefaultBHttpServerConnection.java", "message"),
    ("impl/io/TestDefaultBHttpClientConnection.java", "message"),
    ("impl/io/TestChunkCoding.java", "body"),
    ("impl/nio/TestChunkDecoder.java", "body"),
    ("impl/io/TestContentLengthInputStream.java", "body"),
    ("impl/nio/TestLengthDelimitedDecoder.java", "body"),
    ("impl/io/TestIdentityInputStream.java", "body"),
    ("impl/nio/TestIdentityDecoder.java", "body"),
]
HOST = b"Host: a\r\n"
HOST_FIELD = (b"Host", b"a")
RESPONSE_HEAD = b"HTTP/1.1 200 OK\r\n"
API_EXCEPTIONS = ("StreamClosedException", "NullPointerException", "IllegalArgumentException")


# ------------------------------------------------------------------------ Java source

def one_line(text):
    """A statement's lines made one."""
    return text.replace("\n", " ")


def test_methods(text):
    """(name, line, body, body's first line) of each @Test method."""
    out = []
    for m in re.finditer(r"@Test\s+(?:@\w+(?:\([^)]*\))?\s+)*(?:public\s+)?void\s+(\w+)\s*"
                         r"\([^)]*\)\s*(?:throws\s+[\w.,\s]+)?\{", text):
        start = m.end() - 1
        end = JAVA.matching(text, start)
        line = text[:m.start()].count("\n") + 1
        out.append((m.group(1), line, text[start + 1:end],
                    text[:start + 1].count("\n") + 1))
    return out


def constants(text):
    """The class's `static final String NAME = ...;` constants."""
    out = {}
    pattern = r'(?:static\s+final|final\s+static)\s+String\s+(\w+)\s*=\s*((?:%s|[^;"])*);'
    for m in re.finditer(pattern % JAVA_STRING, text, re.S):
        try:
            out[m.group(1)] = java_string(m.group(2), out)
        except NotUnderstood:
            pass
    return out


def java_string(expr, names):
    """The value of a String expression: literals, chars and known names joined by `+`."""
    out = []
    for term in JAVA.split_top(expr, "+"):
        term = term.strip()
        if re.fullmatch(JAVA_STRING, term):
            out.append(java_unescape(term[1:-1]))
        elif re.fullmatch(CHAR, term):
            out.append(java_unescape(term[1:-1]))
        elif term in names and isinstance(names[term], str):
            out.append(names[term])
        else:
            raise NotUnderstood("string term %s" % term[:60])
    return "".join(out)


def java_value(expr, names):
    """An expected value in an assert: a string, an int, a char (as a string), a method
    or version constant, or None when it is something else."""
    expr = expr.strip()
    m = re.fullmatch(r"Method\.(\w+)\.name\(\)", expr)
    if m:
        return m.group(1)
    m = re.fullmatch(r"HttpVersion\.HTTP_(\d)_(\d)", expr)
    if m:
        return "%s.%s" % m.groups()
    if re.fullmatch(r"-?\d+L?", expr):
        return int(expr.rstrip("L"))
    try:
        return java_string(expr, names)
    except NotUnderstood:
        return None


def assert_args(stmt):
    """(assert name, its arguments) of an `Assertions.assertX(...)` statement, or None."""
    m = re.match(r"(?:Assertions\.)?(assert\w+)\s*\(", stmt)
    if not m:
        return None
    close = JAVA.matching(stmt, m.end() - 1)
    return m.group(1), JAVA.split_top(stmt[m.end():close])


# ------------------------------------------------------------------------ cases


def new_case(kind, name, line, role, data, what, option=None):
    return {"kind": kind, "name": name, "line": line, "role": role, "data": data,
            "what": what, "option": option, "refuse": False, "no_message": False,
            "fields": {}, "headers": {}, "header_count": None, "contains": [],
            "body": None, "body_len": None, "complete": False, "trailers": {},
            "trailer_count": None, "file": None, "n": 1, "count": 1}


def latin1(s):
    return s.encode("latin-1")


# The line parser's tests: `buf.append(S)` and then a parse of it.

def line_cases(name, line0, stmts, names, skipped):
    cases, current, bound = [], None, {}
    for line, st in stmts:
        m = re.match(r"(\w+)\.append\((.*)\)$", st)
        if m:
            current = java_string(m.group(2), names)
            continue
        if re.match(r"\w+\.clear\(\)$", st):
            current = None
            continue
        m = re.search(r"parser\.parse(RequestLine|StatusLine|Header|ProtocolVersion)\(", st)
        if m:
            if current is None:
                raise NotUnderstood("parse with no buffer")
            kind = m.group(1)
            if kind == "RequestLine":
                c = new_case("line", name, line, "server", latin1(current) + b"\r\n\r\n",
                             "request line")
            elif kind == "StatusLine":
                text = current[:-2] if current.endswith("\r\n") else current
                c = new_case("line", name, line, "client", latin1(text) + b"\r\n\r\n",
                             "status line")
            elif kind == "Header" and current == "":
                skipped.append((name, line, "parseHeader of an empty line: on the wire an "
                                "empty line ends the head, there is no field line to refuse"))
                continue
            elif kind == "Header":
                c = new_case("line", name, line, "client",
                             RESPONSE_HEAD + latin1(current) + b"\r\n\r\n", "header line")
            else:
                c = new_case("line", name, line, "server",
                             b"GET / " + latin1(current) + b"\r\n\r\n", "HTTP version")
                if " " in current.strip() and "assertThrows" not in st:
                    skipped.append((name, line, "parses the version at the front of %r "
                                    "(the test checks where the cursor stops)" % current))
                    continue
            c["refuse"] = "assertThrows" in st
            c["complete"] = not c["refuse"]
            cases.append(c)
            v = re.match(r"(?:final\s+)?(?:\w+\s+)?(\w+)\s*=", st)
            if v:
                bound[v.group(1)] = c
            continue
        a = assert_args(st)
        if a and a[0] == "assertEquals" and len(a[1]) >= 2:
            m = re.fullmatch(r"(\w+)\.(get\w+|toString)\(\)", a[1][1])
            if m and m.group(1) in bound:
                c = bound[m.group(1)]
                want = java_value(a[1][0], names)
                field = {"getMethod": "method", "getUri": "target",
                         "getProtocolVersion": "version", "getStatusCode": "status",
                         "getReasonPhrase": "reason", "getName": "name",
                         "getValue": "value"}.get(m.group(2))
                if m.group(2) == "toString" and c["what"] == "HTTP version":
                    field, want = "version", want[5:] if isinstance(want, str) else want
                if field and want is not None:
                    c["fields"][field] = want
    return cases


# Message parsers and connections: a string `s`, its stream, a parse, asserts.

def message_cases(name, line0, stmts, names, skipped):
    strings, streams, cases, bound, parsed = {}, {}, [], {}, {}
    parser_role, parser_option = None, None
    last = None
    headers_var = {}
    for line, st in stmts:
        m = re.match(r"(?:final\s+)?String\s+(\w+)\s*=\s*(.*)$", st, re.S)
        if m:
            if not m.group(2).startswith("new String("):  # what a test wrote, read back
                strings[m.group(1)] = java_string(m.group(2), names)
            continue
        m = re.match(r"(?:final\s+)?\w+\s+(\w+)\s*=\s*new\s+(Timeout)?ByteArrayInputStream\("
                     r"(?:(\w+)\.getBytes\(.*\)|new byte\[\]\s*\{\s*\})\)$", st)
        if m:
            data = strings[m.group(3)] if m.group(3) else ""
            if m.group(2):
                data = data.replace("\0", "")
            streams[m.group(1)] = latin1(data)
            continue
        m = re.match(r"(?:final\s+)?\w+\s+\w+\s*=\s*new\s+DefaultHttp(Request|Response)Parser"
                     r"\((.*)\)$", st)
        if m:
            parser_role = "server" if m.group(1) == "Request" else "client"
            parser_option = (re.sub(r"\s+", "", m.group(2)) or None)
            continue
        m = re.search(r"parser\.parse\((\w+),\s*(\w+)\)", st)
        m2 = re.search(r"AbstractMessageParser\.parseHeaders\((\w+),\s*(\w+),\s*(-?\d+),\s*"
                       r"(-?\d+),\s*null\)", st)
        m3 = re.search(r"conn\.receive(Request|Response)(Header|Entity)\(", st)
        if m or m2:
            data = streams[(m or m2).group(2)]
            if m:
                c = new_case("message", name, line, parser_role, data,
                             "request" if parser_role == "server" else "response",
                             parser_option)
            else:
                block = RESPONSE_HEAD + data
                if b"\r\n\r\n" not in block:
                    block = h1dump_io.end_head(block)
                limits = (int(m2.group(3)), int(m2.group(4)))
                c = new_case("message", name, line, "client", block, "header block",
                             None if limits == (-1, -1) else
                             "parseHeaders(maxHeaderCount=%d, maxLineLen=%d)" % limits)
            c["refuse"] = "assertThrows" in st
            c["complete"] = not c["refuse"]
            cases.append(c)
            last = c
            v = re.match(r"(?:final\s+)?(?:[\w\[\]]+\s+)?(\w+)\s*=", st)
            if v:
                bound[v.group(1)] = c
                parsed[v.group(1)] = c
                if m2:
                    headers_var[v.group(1)] = c
            continue
        if m3:
            if m3.group(2) == "Header":
                if not streams:
                    raise NotUnderstood("connection with no input")
                data = list(streams.values())[-1]
                role = "server" if m3.group(1) == "Request" else "client"
                c = new_case("message", name, line, role, data, m3.group(1).lower())
                c["complete"] = False  # the head alone, until the entity is read
                cases.append(c)
                last = c
                v = re.match(r"(?:final\s+)?(?:\w+\s+)?(\w+)\s*=", st)
                if v:
                    bound[v.group(1)] = c
            else:
                if "assertThrows" in st:
                    last["refuse"] = True
                else:
                    last["complete"] = True
            continue
        m = re.match(r"(?:final\s+)?Header\[\]\s+(\w+)\s*=\s*(\w+)\.getHeaders\(\)$", st)
        if m and m.group(2) in bound:
            headers_var[m.group(1)] = bound[m.group(2)]
            continue
        m = re.match(r"(?:final\s+)?\w+\s+(\w+)\s*=\s*(\w+)\.get(Entity|Content)\(\)$", st)
        if m and m.group(2) in bound:
            bound[m.group(1)] = bound[m.group(2)]
            continue
        a = assert_args(st)
        if not a:
            continue
        kind, args = a
        if kind == "assertNull" and args[0] in parsed:
            # what the parser returned is null: the input held no message
            parsed[args[0]]["no_message"] = True
            parsed[args[0]]["complete"] = False
            continue
        if kind == "assertTrue":
            m = re.fullmatch(r"(\w+)\.containsHeader\((%s)\)" % JAVA_STRING, args[0])
            if m and m.group(1) in bound:
                bound[m.group(1)]["contains"].append(java_string(m.group(2), names))
            continue
        if kind != "assertEquals" or len(args) < 2:
            continue
        want = java_value(args[0], names)
        if want is None:
            continue
        x = args[1]
        m = re.fullmatch(r"(\w+)\.(getMethod|getPath|getCode|getReasonPhrase)\(\)", x)
        if m and m.group(1) in bound:
            bound[m.group(1)]["fields"][{"getMethod": "method", "getPath": "target",
                                         "getCode": "status", "getReasonPhrase": "reason"}[
                                             m.group(2)]] = want
            continue
        m = re.fullmatch(r"(\w+)\.length", x)
        if m and m.group(1) in headers_var:
            headers_var[m.group(1)]["header_count"] = want
            continue
        m = re.fullmatch(r"(\w+)\[(\d+)\]\.(getName|getValue|toString)\(\)", x)
        if m and m.group(1) in headers_var:
            headers_var[m.group(1)]["headers"].setdefault(int(m.group(2)), {})[
                m.group(3)] = want
            continue
        m = re.fullmatch(r"(\w+)\.getContentLength\(\)", x)
        if m and m.group(1) in bound and isinstance(want, int) and want >= 0:
            bound[m.group(1)]["body_len"] = want
            continue
        m = re.fullmatch(r"(\w+)\.read\(\)", x)
        if m and m.group(1) in bound and isinstance(want, str):
            c = bound[m.group(1)]
            c["body"] = (c["body"] or "") + want
            continue
    for c in cases:
        if c["kind"] == "message" and c["what"] in ("request", "response") and \
                not c["refuse"] and not c["no_message"] and c["option"] is None \
                and parser_option:
            c["option"] = parser_option
    return cases


# Decoders: a body, one or more streams or decoders made on it, reads and asserts.

DECODERS = {
    "ChunkedInputStream": "chunked", "ChunkDecoder": "chunked",
    "ContentLengthInputStream": "length", "LengthDelimitedDecoder": "length",
    "IdentityInputStream": "identity", "IdentityDecoder": "identity",
}


def body_input(framing, data, length=None):
    if framing == "chunked":
        return b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + data, \
            "server"
    if framing == "length":
        return (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % length) + \
            data, "server"
    return RESPONSE_HEAD + b"\r\n" + data, "client"


def body_cases(name, line0, stmts, names, skipped, body_text):
    if re.search(r"RandomAccessFile|\.transfer\(", body_text):
        skipped.append((name, line0, "decodes into a file through a FileChannel (the bytes "
                        "of the read() tests)"))
        return []
    api = [e for e in API_EXCEPTIONS if e + ".class" in body_text]
    if api or re.search(r"\.(available|skip)\(", body_text) or \
            re.search(r"Chunked(?:Output|Consistence)|OutputStream\(outbuffer", body_text):
        skipped.append((name, line0, "tests the stream's API (%s), not a parse" % (
            ", ".join(api) or "available/skip, or an encoder")))
        return []
    strings, streams, buffers, configs = dict(names), {}, {}, {}
    cases, bound = [], {}
    cleared = {}
    for line, st in stmts:
        m = re.match(r"(?:final\s+)?String\s+(\w+)\s*=\s*(.*)$", st, re.S)
        if m:
            if not m.group(2).startswith("new String("):  # what the test read, asserted
                strings[m.group(1)] = java_string(m.group(2), strings)
            continue
        m = re.match(r"while\s*\((.*)\)$", st)
        if m and re.search(r"\.read\(|\bi\b", m.group(1)) and \
                re.search(r"(?:>\s*0|!=\s*-1)$", m.group(1)) and cases:
            cases[-1]["complete"] = True  # a classic stream read to its end, no exception
            continue
        m = re.match(r"(?:final\s+)?String\[\]\s+(\w+)\s*=\s*\{(.*)\}$", st, re.S)
        if m:
            strings[m.group(1)] = "".join(java_string(x, strings)
                                          for x in JAVA.split_top(m.group(2)) if x)
            continue
        m = re.match(r"(?:final\s+)?byte\[\]\s+(\w+)\s*=\s*new\s+byte\[\]\s*\{(.*)\}$", st)
        if m:
            strings[m.group(1)] = "".join(java_string(x, strings)
                                          for x in JAVA.split_top(m.group(2)) if x)
            continue
        m = re.search(r"\w+\s+(\w+)\s*=\s*new\s+(?:Timeout)?ByteArrayInputStream\(", st)
        m2 = re.match(r"(?:final\s+)?\w+\s+(\w+)\s*=\s*new\s+ReadableByteChannelMock\(\s*"
                      r"(?:new\s+String\[\]\s*\{(.*)\}|(\w+))\s*,.*\)$", st, re.S)
        if m:
            src = st[m.end():JAVA.matching(st, m.end() - 1)].strip()
            g = re.fullmatch(r"(.*)\.getBytes\(.*\)", src)
            if g:
                streams[m.group(1)] = java_string(g.group(1), strings)
            elif src in strings:
                streams[m.group(1)] = strings[src]
            else:
                raise NotUnderstood("input stream of %s" % src[:40])
            if "TimeoutByteArrayInputStream" in st:  # a NUL: a timeout, then the rest
                streams[m.group(1)] = streams[m.group(1)].replace("\0", "")
            # a try-with-resources may make the decoder in the same statement
            st = st[JAVA.matching(st, m.end() - 1) + 1:]
            if not re.search(r"new\s+(%s)\(" % "|".join(DECODERS), st):
                continue
        if m2:
            if m2.group(2) is not None:
                streams[m2.group(1)] = "".join(java_string(x, strings)
                                               for x in JAVA.split_top(m2.group(2)) if x)
            else:
                streams[m2.group(1)] = strings[m2.group(3)]
            continue
        m = re.match(r"(?:final\s+)?\w+\s+(\w+)\s*=\s*new\s+SessionInputBufferImpl\((.*)\)$", st)
        if m:
            args = JAVA.split_top(m.group(2))
            ints = [int(a) for a in args if re.fullmatch(r"\d+", a)]
            nio = "ReadableByteChannelMock" in body_text
            limit = None
            if "BasicHttpTransportMetrics" in m.group(2) and len(ints) >= 3:
                limit = ints[2]
            elif not nio and len(args) == 2 and len(ints) == 2:
                limit = ints[1]
            elif nio and len(ints) >= 3:
                limit = ints[2]
            buffers[m.group(1)] = ("line limit %d" % limit) if limit else None
            continue
        m = re.match(r"(?:final\s+)?Http1Config\s+(\w+)\s*=\s*(.*)$", st, re.S)
        if m:
            configs[m.group(1)] = re.sub(r"\s+", "", m.group(2))
            continue
        m = re.search(r"(?:(\w+)\s+)?(\w+)\s*=\s*new\s+(%s)\(" % "|".join(DECODERS), st)
        if m:
            args = JAVA.split_top(st[m.end():JAVA.matching(st, m.end() - 1)])
            framing = DECODERS[m.group(3)]
            if m.group(3).endswith("Decoder"):
                chan, buf = args[0], args[1]
            else:
                buf, chan = args[0], args[1]
            if chan not in streams:
                raise NotUnderstood("decoder on %s" % chan)
            data = latin1(streams[chan])
            length = int(args[-1].rstrip("L")) if framing == "length" else None
            fed, role = body_input(framing, data, length)
            option = buffers.get(buf)
            for a in args:
                if a in configs:
                    option = ((option + ", ") if option else "") + configs[a]
            c = new_case("body", name, line, role, fed, "%s body" % framing, option)
            c["framing"] = framing
            cases.append(c)
            bound[m.group(2)] = c
            cleared[m.group(2)] = True
            continue
        m = re.match(r"(?:try\s*\()?(?:final\s+)?[\w<>?\s]+?\s(\w+)\s*=\s*(\w+)\.getTrailers\(\)|"
                     r"(?:final\s+)?Header\[\]\s+(\w+)\s*=\s*(\w+)\.getFooters\(\)", st)
        if m:
            var, src = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            if src in bound:
                bound[var] = bound[src]
            continue
        if re.match(r"\w+\.clear\(\)$", st):
            for k in cleared:
                cleared[k] = True
            continue
        a = assert_args(st)
        if not a:
            continue
        kind, args = a
        # the decoder a statement reads from: the last one it names
        names_in = [v for v in re.findall(r"\b(\w+)\b", st) if v in bound and
                    bound[v]["kind"] == "body"]
        target = bound[names_in[-1]] if names_in else (cases[-1] if cases else None)
        if target is None:
            continue
        if kind == "assertThrows":
            target["refuse"] = True
            continue
        if kind == "assertTrue" and re.search(r"\.isCompleted\(\)", args[0]):
            target["complete"] = True
            continue
        if kind == "assertNull" and re.fullmatch(r"\w+", args[0]) and args[0] in bound:
            target["trailer_count"] = 0
            continue
        if kind != "assertEquals" or len(args) < 2:
            continue
        want = java_value(args[0], strings)
        x = args[1]
        if want == -1 and re.search(r"\.read\(", x):
            target["complete"] = True
            continue
        if re.fullmatch(r"CodecTestUtils\.convert\(\w+\)|result|output", x) and \
                isinstance(want, str):
            key = names_in[-1] if names_in else None
            for k, c in bound.items():
                if c is target:
                    key = k
            if target["body"] is None or cleared.get(key):
                target["body"] = (target["body"] or "") + want
            else:
                target["body"] = want if want.startswith(target["body"]) else \
                    target["body"] + want
            cleared[key] = False
            continue
        m = re.fullmatch(r"(\w+)\.(size\(\)|length)", x)
        if m and m.group(1) in bound and isinstance(want, int):
            target["trailer_count"] = want
            continue
        m = re.fullmatch(r"(\w+)(?:\.get\((\d+)\)|\[(\d+)\])\.(getName|getValue)\(\)", x)
        if m and m.group(1) in bound:
            i = int(m.group(2) or m.group(3))
            target["trailers"].setdefault(i, {})[m.group(4)] = want
            continue
        m = re.fullmatch(r"(\w+)\.read\(\)", x)
        if m and isinstance(want, str):
            target["body"] = (target["body"] or "") + want
            continue
        m = re.fullmatch(r"\w+\[(\d+)\]", x)
        if m and isinstance(want, str):
            target["body"] = (target["body"] or "") + want
            continue
    return cases


def cases_of(src):
    cases, skipped = [], []
    for rel, family in FILES:
        path = TEST + rel
        text = JAVA.strip_comments(src.read_bytes(path).decode("utf-8"))
        names = constants(text)
        for name, line, body, body_line in test_methods(text):
            try:
                stmts = JAVA.statements(body, body_line, one_line, initializers=True)
                if family == "line":
                    found = line_cases(name, line, stmts, names, skipped)
                elif family == "message":
                    found = message_cases(name, line, stmts, names, skipped)
                else:
                    found = body_cases(name, line, stmts, names, skipped, body)
            except (NotUnderstood, KeyError, IndexError) as e:
                skipped.append((name, line, "not understood: %s" % (str(e) or type(e).__name__)))
                continue
            if not found and not any(s[0] == name and s[1] == line for s in skipped):
                skipped.append((name, line, "feeds no bytes to a parser (%s)" % (
                    "writes a message" if re.search(r"send|write|Output", body) else
                    "API only")))
            for n, c in enumerate(found):
                c["file"], c["n"], c["count"] = rel, n + 1, len(found)
                cases.append(c)
    return cases, skipped


# ------------------------------------------------------------------------ comparison


def httpcore_says(c):
    if c["refuse"]:
        return "refuses the %s" % c["what"]
    if c["no_message"]:
        return "no message"
    parts = ["%s %r" % (k, v) for k, v in c["fields"].items()]
    if c["header_count"] is not None:
        parts.append("%d field(s)" % c["header_count"])
    for i, f in sorted(c["headers"].items()):
        parts.append("field %d %s" % (i, "/".join(repr(v) for v in f.values())))
    if c["contains"]:
        parts.append("has %s" % ", ".join(c["contains"]))
    if c["body"] is not None:
        parts.append("body %s%r" % ("starting " if not c["complete"] else "", c["body"][:60]))
    if c["body_len"] is not None:
        parts.append("body of %d bytes" % c["body_len"])
    if c["trailer_count"] is not None:
        parts.append("%d trailer field(s)" % c["trailer_count"])
    for i, f in sorted(c["trailers"].items()):
        parts.append("trailer %d %s" % (i, "/".join(repr(v) for v in f.values())))
    return "reads the %s%s%s" % (c["what"], ": " if parts else "", ", ".join(parts)) + \
        ("" if c["complete"] else " (a prefix: no end asserted)")


def compare(c, first, ours):
    """Differences between HttpCore's verdict and ours, from the first message."""
    msgs = first["msgs"]
    msg = next((m for m in msgs if m["kind"] != "informational"), None)
    if c["refuse"]:
        return [] if not first["ended"] else ["HttpCore refuses, we read it"]
    if c["no_message"]:
        return [] if not msgs and not ours["error"] else ["HttpCore sees no message"]
    if msg is None:
        return ["we refuse: %s" % (ours["failure"] or "no message")]
    diffs = []
    if c["complete"] or c["what"] in ("request", "response", "header block"):
        if not first["ended"]:
            if c["complete"] or ours["error"]:
                diffs.append("we do not end it: %s" % (ours["failure"] or "no end"))
    elif ours["error"] and not first["ended"]:
        diffs.append("we refuse: %s" % ours["error"])
    f = c["fields"]
    if c["what"] == "header line":
        hdrs = msg["headers"]
        if not hdrs:
            diffs.append("we read no field")
        else:
            n, v = hdrs[0]
            if "name" in f and n.decode("latin-1").lower() != f["name"].lower():
                diffs.append("name %r, we %r" % (f["name"], n))
            if "value" in f and v.decode("latin-1") != f["value"]:
                diffs.append("value %r, we %r" % (f["value"], v))
        f = {}
    got = {"method": msg["method"], "target": msg["target"].decode("latin-1"),
           "version": msg["version"], "status": msg["status"],
           "reason": msg["reason"].decode("latin-1")}
    for k, want in f.items():
        if k in got and got[k] != want:
            diffs.append("%s %r, we %r" % (k, want, got[k]))
    hdrs = [h for h in msg["headers"]]
    if c["header_count"] is not None and len(hdrs) != c["header_count"]:
        diffs.append("%d field(s), we %d" % (c["header_count"], len(hdrs)))
    diffs += field_diffs("field", c["headers"], hdrs, True)
    for name in c["contains"]:
        if not any(n.lower() == name.lower().encode() for n, _ in hdrs):
            diffs.append("no %s field" % name)
    body = msg["body"].decode("latin-1")
    if c["body"] is not None:
        if c["complete"] and body != c["body"]:
            diffs.append("body %r, we %r" % (c["body"][:60], body[:60]))
        elif not c["complete"] and not body.startswith(c["body"]):
            diffs.append("body starts %r, we %r" % (c["body"][:60], body[:60]))
    if c["body_len"] is not None and len(body) != c["body_len"]:
        diffs.append("body of %d bytes, we %d" % (c["body_len"], len(body)))
    tr = msg["trailers"]
    if c["trailer_count"] is not None and len(tr) != c["trailer_count"]:
        diffs.append("%d trailer field(s), we %d" % (c["trailer_count"], len(tr)))
    diffs += field_diffs("trailer", c["trailers"], tr, False)
    return diffs


def field_diffs(what, wants, fields, to_string):
    """How our `fields` differ from those the test asserts (`wants`: index -> getter ->
    value), `what` naming them; with `to_string`, toString() is compared too."""
    diffs = []
    for i, want in sorted(wants.items()):
        if i >= len(fields):
            diffs.append("%s %d missing" % (what, i))
            continue
        n, v = (x.decode("latin-1") for x in fields[i])
        if "getName" in want and n.lower() != want["getName"].lower():
            diffs.append("%s %d name %r, we %r" % (what, i, want["getName"], n))
        if "getValue" in want and v != want["getValue"]:
            diffs.append("%s %d value %r, we %r" % (what, i, want["getValue"], v))
        # toString() is the line as HttpCore kept it: its name (compared without regard
        # to case, RFC 9110 §5.1) and its value, without the OWS around it (§5.5)
        if to_string and "toString" in want:
            wn, _, wv = want["toString"].partition(":")
            if (n.lower(), v) != (wn.lower(), wv.strip(" \t")):
                diffs.append("%s %d %r, we %r" % (what, i, want["toString"],
                                                  "%s: %s" % (n, v)))
    return diffs


def judge(h1dump, c, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, c["role"], fed, points, HOST_FIELD)
    first = h1dump_io.read_events(whole, fed, first_only=True)
    for m in first["msgs"] if points else []:
        if HOST_FIELD in m["headers"]:
            m["headers"].remove(HOST_FIELD)
    diffs = compare(c, first, ours) if not ours["crash"] else ["h1dump failed"]
    return h1dump_io.verdict(not diffs, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def label(r, j=None):
    return "%s:%d %s%s" % (os.path.basename(r["file"]), r["line"], r["name"],
                           " #%d" % r["n"] if r["count"] > 1 else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("httpcore", "httpcomponents-core checkout or "
                                              "bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = Source(args.httpcore, args.rev, "httpcore5")
    all_cases, skipped = cases_of(src)

    results = []
    for c in all_cases:
        case = dict(c, input=c["data"])
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, case,
            lambda d: h1dump_io.add_host(d, HOST) if c["role"] == "server" else (d, []))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"],
                        "n": c["n"], "count": c["count"], "role": c["role"],
                        "what": c["what"], "option": c["option"],
                        "input": c["data"].decode("latin-1"), "httpcore": httpcore_says(c),
                        "refuse": c["refuse"], "plain": plain, "hosted": hosted,
                        "host_added": host_added})
    counted = [r for r in results if not r["option"]]
    optional = [r for r in results if r["option"]]

    def note(r):
        return "--role %s%s" % (r["role"], " [%s]" % r["option"] if r["option"] else "")

    print("HttpCore: %s (%s)" % (src.commit(), args.httpcore))
    print("test methods or calls not run (%d):" % len(skipped))
    for name, line, why in skipped:
        print("  %d %s: %s" % (line, name, why))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(counted, h1dump_io.show_case(label, "httpcore", note),
                                  args.verbose, ("cases with limits or options the test "
                                                 "set (not counted):", optional))
    print("cases: %d (%d with limits the test set, not counted); Host supplied in %d" % (
        len(results), len(optional), sum(r["host_added"] for r in counted)))
    row = h1dump_io.summary_table(34, "file (default configuration)")
    for rel, _ in FILES:
        rows = [r for r in counted if r["file"] == rel]
        if rows:
            row(os.path.basename(rel)[:-5], rows)
    row("HttpCore reads", [r for r in counted if not r["refuse"]])
    row("HttpCore refuses", [r for r in counted if r["refuse"]])
    row("all (default configuration)", counted)
    row("configured (not counted)", optional)
    return h1dump_io.finish(args, results, skipped, broken)


if __name__ == "__main__":
    sys.exit(main())
