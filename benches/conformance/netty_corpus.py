#!/usr/bin/env python3
"""Run Netty's HTTP/1 codec tests through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/netty_corpus.py NETTY [--rev REV] [--h1dump PATH] [--verbose]
                    [--json OUT]

NETTY is a checkout of https://github.com/netty/netty (a directory with codec-http) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of Netty is kept in this
repository: the Java test files below are read at run time and each test is executed here by
a small reader of Java: string and char literals with every escape, `+` concatenation, `?:`,
`(char)` casts, local variables (the last assignment before a use), `if`/`else` on values it
knows, `for`/`while` bodies run once (a test that writes inside a loop is listed as not run),
calls of the test class's own helpers (parameters bound, `return` values), `@ValueSource`
and `@MethodSource` parameters, `.getBytes(..)`, `Unpooled.copiedBuffer/wrappedBuffer/buffer`,
`writeCharSequence`, `writeByte`, `new byte[N]`, byte-array initialisers, `Integer.toHexString`,
`String.valueOf`, and Netty's constants (`HttpHeaderNames`, `HttpMethod`, `HttpVersion`,
`HttpResponseStatus`, the decoder defaults).

  codec-http/src/test/java/io/netty/handler/codec/http/
    HttpRequestDecoderTest.java, HttpResponseDecoderTest.java, HttpInvalidMessageTest.java,
    MultipleContentLengthHeadersTest.java, HttpServerCodecTest.java, HttpClientCodecTest.java,
    HttpObjectAggregatorTest.java (raw bytes only)

Each `new EmbeddedChannel(..)` of a test is one case: the bytes of its `writeInbound` calls,
concatenated, go through h1dump in the role of its decoder (HttpRequestDecoder and
HttpServerCodec: `--role server`; HttpResponseDecoder and HttpClientCodec: `--role client`,
`--method` from the request the test writes out, GET otherwise), whole and with `--split 1`,
then the end of input. What the test asserts of the objects it reads back maps to ours:

  a head read (HttpRequest, HttpResponse, HttpMessage)  our n-th final message;
  its decoderResult() failure                           we refuse before delivering it;
  a content read whose decoderResult() fails            its head delivered, then refused
                                                        before the message ends;
  success, or values read without a failure asserted    delivered, with the method, uri,
                                                        version, status, first value of a
                                                        field (`headers().get`), all values
                                                        (`getAll`), field counts (`size()`,
                                                        `names().size()`), trailers;
  LastHttpContent read                                  that message ended; its content
                                                        bytes, where every content read of
                                                        the message has its size asserted.

Asserts about Netty's own objects (exception classes, `HttpMessageDecoderResult` sizes,
`refCnt`, `channel.finish()`, what the encoder writes) are not compared. A test that the
reader cannot execute, whose decoder is reset or whose asserts name something else, is
listed as not run with the reason, never guessed.

Options. A case whose decoder has a non-default setting (`HttpDecoderConfig` setters,
constructor arguments other than the defaults: max sizes, `validateHeaders`,
`allowDuplicateContentLengths`, `strictLineParsing` false, ...; HttpClientCodec's
`failOnMissingResponse`; an HttpObjectAggregator after it) is run and listed, but left out
of the figures, which measure Netty's defaults.

The figures are given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; Netty's decoder checks no Host). When Netty
refuses an input that ends inside a head or a trailer section, which the core judges once it
is complete, the head is ended (the missing part of CRLF CRLF) and the case agrees if we then
refuse it for a reason other than the missing Host. Whole and byte-by-byte outputs of h1dump
must be identical, and h1dump must not fail; any case where either happens is listed first,
as a bug of ours (exit status 1, as when a file could not be read).
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
from source_text import NotUnderstood, java_unescape  # noqa: E402

DIR = "codec-http/src/test/java/io/netty/handler/codec/http/"
FILES = ["HttpRequestDecoderTest.java", "HttpResponseDecoderTest.java",
         "HttpInvalidMessageTest.java", "MultipleContentLengthHeadersTest.java",
         "HttpServerCodecTest.java", "HttpClientCodecTest.java", "HttpObjectAggregatorTest.java"]
HOST = b"Host: netty.invalid\r\n"
HOST_FIELD = (b"host", b"netty.invalid")
STATUS = {"CONTINUE": 100, "SWITCHING_PROTOCOLS": 101, "PROCESSING": 102, "OK": 200,
          "CREATED": 201, "NO_CONTENT": 204, "RESET_CONTENT": 205, "NOT_MODIFIED": 304,
          "BAD_REQUEST": 400, "REQUEST_ENTITY_TOO_LARGE": 413, "EXPECTATION_FAILED": 417}
VERSION = {"HTTP_1_0": "1.0", "HTTP_1_1": "1.1"}
DECODER_DEFAULTS = {  # positional constructor arguments, by class
    "HttpRequestDecoder": [4096, 8192, 8192, True, 128, False, True],
    "HttpResponseDecoder": [4096, 8192, 8192, True, 128, False, True],
    "HttpServerCodec": [4096, 8192, 8192, True, 128, False, True],
    "HttpClientCodec": [4096, 8192, 8192, False, True, False],
}
CONFIG_DEFAULTS = {"setMaxInitialLineLength": 4096, "setMaxHeaderSize": 8192,
                   "setMaxChunkSize": 8192, "setChunkedSupported": True,
                   "setAllowPartialChunks": True, "setAllowDuplicateContentLengths": False,
                   "setInitialBufferSize": 128, "setStrictLineParsing": True,
                   "setValidateHeaders": True}
CONSTANTS = {"DEFAULT_MAX_INITIAL_LINE_LENGTH": 4096, "DEFAULT_MAX_HEADER_SIZE": 8192,
             "DEFAULT_CHUNKED_SUPPORTED": True, "DEFAULT_ALLOW_PARTIAL_CHUNKS": True,
             "DEFAULT_MAX_CHUNK_SIZE": 8192, "DEFAULT_VALIDATE_HEADERS": True,
             "DEFAULT_INITIAL_BUFFER_SIZE": 128, "DEFAULT_ALLOW_DUPLICATE_CONTENT_LENGTHS": False,
             "DEFAULT_STRICT_LINE_PARSING": True, "MAX_VALUE": 2 ** 31 - 1}
# asserts about Netty's own objects, not compared
IGNORED_ASSERT = re.compile(
    r"\.finish\(\)|finishAndReleaseAll|initialLineLength|headerSize\(\)|totalSize|refCnt|"
    r"HttpMessageDecoderResult|isInstanceOf\(\w+Exception|\w+Exception\.class|"
    r"\.cause\(\)\.getMessage|isFinished|outbound|Outbound|isNotInstanceOf|"
    r"ReferenceCountUtil|writeInbound|\.isOpen|isActive|\.release\(\)")


class NettySource(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, "codec-http")


# ------------------------------------------------------------------------ Java tokens


class Tok:
    __slots__ = ("kind", "val", "line")

    def __init__(self, kind, val, line):
        self.kind, self.val, self.line = kind, val, line

    def __repr__(self):
        return "%s:%r@%d" % (self.kind, self.val, self.line)


PUNCTS = sorted(""">>>= <<= >>= >>> ... -> :: ++ -- && || == != <= >= += -= *= /= &= |= ^= %= << >>
( ) { } [ ] ; , . @ = > < ! ~ ? : + - * / & | ^ %""".split(), key=len, reverse=True)


def unescape(body, line):
    """A Java literal's body decoded (an escape not understood is reported with its line)."""
    try:
        return java_unescape(body)
    except NotUnderstood as e:
        raise NotUnderstood("line %d: %s" % (line, e))


def tokenize(text):
    toks, i, line, n = [], 0, 1, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r\f":
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.index("*/", i + 2)
            line += text.count("\n", i, j)
            i = j + 2
        elif text.startswith('"""', i):
            raise NotUnderstood("line %d: text block" % line)
        elif c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            toks.append(Tok("str" if c == '"' else "char", unescape(text[i + 1:j], line), line))
            i = j + 1
        elif c.isalpha() or c in "_$":
            m = re.compile(r"[\w$]+").match(text, i)
            toks.append(Tok("id", m.group(0), line))
            i = m.end()
        elif c.isdigit():
            m = re.compile(r"0[xX][0-9a-fA-F_]+[lL]?|\d[\d_]*(?:\.\d+)?[lLfFdD]?").match(text, i)
            s = m.group(0).rstrip("lLfFdD").replace("_", "")
            toks.append(Tok("int", int(s, 16) if s[:2].lower() == "0x" else
                            (float(s) if "." in s else int(s)), line))
            i = m.end()
        else:
            for p in PUNCTS:
                if text.startswith(p, i):
                    toks.append(Tok("op", p, line))
                    i += len(p)
                    break
            else:
                raise NotUnderstood("line %d: character %r" % (line, c))
    return toks


def is_op(t, *vals):
    return t is not None and t.kind == "op" and t.val in vals


def closing(toks, i):
    """Index of the bracket closing toks[i]."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    o, c, depth = toks[i].val, pairs[toks[i].val], 0
    for j in range(i, len(toks)):
        if is_op(toks[j], o):
            depth += 1
        elif is_op(toks[j], c):
            depth -= 1
            if depth == 0:
                return j
    raise NotUnderstood("unbalanced %s at line %d" % (o, toks[i].line))


def split_top(toks, lo, hi, sep=","):
    parts, start, depth = [], lo, 0
    for j in range(lo, hi):
        t = toks[j]
        if is_op(t, "(", "[", "{"):
            depth += 1
        elif is_op(t, ")", "]", "}"):
            depth -= 1
        elif depth == 0 and is_op(t, sep):
            parts.append((start, j))
            start = j + 1
    if start < hi:
        parts.append((start, hi))
    return parts


def canon(toks, lo, hi):
    return " ".join(repr(t.val) if t.kind in ("str", "char") else str(t.val)
                    for t in toks[lo:hi])


class Method:
    def __init__(self, name, line, params, lo, hi, annotations):
        self.name, self.line, self.params, self.lo, self.hi = name, line, params, lo, hi
        self.annotations = annotations  # list of (name, lo, hi) of the argument tokens


class JavaFile:
    """The class's methods and static fields."""

    def __init__(self, name, text):
        self.name = name
        self.toks = toks = tokenize(text)
        self.methods, self.fields = {}, {}
        # the class body: after the first `class X ... {`
        i = next(k for k, t in enumerate(toks) if t.kind == "id" and t.val == "class")
        while not is_op(toks[i], "{"):
            i += 1
        end = closing(toks, i)
        i += 1
        annotations = []
        while i < end:
            t = toks[i]
            if is_op(t, "@"):
                name = toks[i + 1].val
                j = i + 2
                if is_op(toks[j], "("):
                    k = closing(toks, j)
                    annotations.append((name, j + 1, k))
                    j = k + 1
                else:
                    annotations.append((name, j, j))
                i = j
                continue
            # a member: up to `;` (field) or a `(`...`)` then `{` (method)
            j, depth = i, 0
            while j < end:
                if is_op(toks[j], "(") and depth == 0:
                    break
                if is_op(toks[j], "=", ";") and depth == 0:
                    break
                if is_op(toks[j], "{") and depth == 0:
                    break
                j += 1
            if is_op(toks[j], "("):
                name_tok = toks[j - 1]
                k = closing(toks, j)
                params = [(canon(toks, a, b - 1), toks[b - 1].val)
                          for a, b in split_top(toks, j + 1, k)]
                m = k + 1
                while not is_op(toks[m], "{", ";"):
                    m += 1
                if is_op(toks[m], ";"):
                    i = m + 1
                else:
                    close = closing(toks, m)
                    self.methods.setdefault(name_tok.val, []).append(Method(
                        name_tok.val, name_tok.line, params, m + 1, close, annotations))
                    i = close + 1
                annotations = []
            elif is_op(toks[j], "="):
                name = toks[j - 1].val
                k, depth = j + 1, 0
                while depth or not is_op(toks[k], ";"):
                    if is_op(toks[k], "(", "{", "["):
                        depth += 1
                    elif is_op(toks[k], ")", "}", "]"):
                        depth -= 1
                    k += 1
                self.fields[name] = (j + 1, k)
                i = k + 1
                annotations = []
            elif is_op(toks[j], "{"):  # inner class or initializer: skip
                i = closing(toks, j) + 1
                annotations = []
            else:
                i = j + 1
                annotations = []


# ------------------------------------------------------------------------ evaluation


class Unknown:
    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return "Unknown(%s)" % self.why


class Buf:
    """A ByteBuf being written."""

    def __init__(self, data=b""):
        self.data = bytearray(data)


class Decoder:
    def __init__(self, cls, option):
        self.cls, self.option = cls, option


class Channel:
    def __init__(self, role, option, line, notes):
        self.role, self.option, self.line, self.notes = role, option, line, notes
        self.writes, self.reads, self.asserts, self.problems = [], [], [], []
        self.methods = []


class Read:
    """An object read back from the channel."""

    def __init__(self, kind, msg):
        self.kind, self.msg = kind, msg  # kind: head, content, last, any


def to_bytes(v, charset="ISO_8859_1"):
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    if isinstance(v, Buf):
        return bytes(v.data)
    if isinstance(v, str):
        if charset == "UTF_8":
            return v.encode("utf-8")
        if charset == "US_ASCII":
            return bytes(ord(c) if ord(c) < 128 else 63 for c in v)
        return bytes(ord(c) if ord(c) < 256 else 63 for c in v)
    if isinstance(v, list):
        return bytes(x & 0xff if isinstance(x, int) else ord(x) for x in v)
    raise NotUnderstood("not bytes: %r" % (v,))


def java_str(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "".join(x if isinstance(x, str) else chr(x) for x in v)
    raise NotUnderstood("not a string: %r" % (v,))


class Return(Exception):
    def __init__(self, value):
        self.value = value


class Runner:
    """Executes one test invocation of a JavaFile, recording its channels."""

    def __init__(self, file):
        self.file = file
        self.toks = file.toks
        self.channels = []
        self.field_cache = {}
        self.depth = 0

    # -- expressions

    def field(self, name):
        if name not in self.field_cache:
            lo, hi = self.file.fields[name]
            self.field_cache[name] = self.eval(lo, hi, {})
        return self.field_cache[name]

    def eval(self, lo, hi, env):
        toks = self.toks
        if lo >= hi:
            raise NotUnderstood("empty expression")
        # conditional
        parts = split_top(toks, lo, hi, "?")
        if len(parts) > 1:
            c = self.eval(parts[0][0], parts[0][1], env)
            rest = split_top(toks, parts[1][0], hi, ":")
            if not isinstance(c, bool) or len(rest) != 2:
                raise NotUnderstood("line %d: ?:" % toks[lo].line)
            a, b = rest
            return self.eval(*(a if c else b), env)
        for ops in (("||",), ("&&",), ("==", "!="), ("+", "-"), ("*", "/", "%")):
            depth, cut = 0, None
            for j in range(lo, hi):
                t = toks[j]
                if is_op(t, "(", "[", "{"):
                    depth += 1
                elif is_op(t, ")", "]", "}"):
                    depth -= 1
                elif depth == 0 and t.kind == "op" and t.val in ops and j > lo and not (
                        toks[j - 1].kind == "op" and toks[j - 1].val not in (")", "]")):
                    cut = j
            if cut is not None:
                a = self.eval(lo, cut, env)
                b = self.eval(cut + 1, hi, env)
                return self.binary(toks[cut].val, a, b, toks[cut].line)
        return self.unary(lo, hi, env)

    def binary(self, op, a, b, line):
        if isinstance(a, Unknown):
            return a
        if isinstance(b, Unknown):
            return b
        if op == "+":
            if isinstance(a, str) or isinstance(b, str):
                return java_str(a) + java_str(b)
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a // b
        if op == "%":
            return a % b
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "&&":
            return a and b
        if op == "||":
            return a or b
        raise NotUnderstood("line %d: operator %s" % (line, op))

    def unary(self, lo, hi, env):
        toks = self.toks
        t = toks[lo]
        if is_op(t, "!"):
            v = self.eval(lo + 1, hi, env)
            return v if isinstance(v, Unknown) else not v
        if is_op(t, "-") and hi == lo + 2 and toks[lo + 1].kind == "int":
            return -toks[lo + 1].val
        if is_op(t, "(") and closing(toks, lo) + 1 < hi and toks[lo + 1].kind == "id" and \
                closing(toks, lo) == lo + 2 and toks[lo + 1].val in ("char", "byte", "int"):
            v = self.eval(lo + 3, hi, env)
            if isinstance(v, Unknown):
                return v
            if toks[lo + 1].val == "char":
                return chr(v) if isinstance(v, int) else v
            if toks[lo + 1].val == "byte":
                return v & 0xff if isinstance(v, int) else v
            return v
        if is_op(t, "(") and closing(toks, lo) + 1 < hi and toks[lo + 1].kind == "id" and \
                toks[lo + 1].val[0].isupper() and closing(toks, lo) == lo + 2:
            return self.eval(lo + 3, hi, env)  # a reference cast
        if is_op(t, "{"):
            k = closing(toks, lo)
            return [self.eval(a, b, env) for a, b in split_top(toks, lo + 1, k)]
        # primary, then selectors
        v, i = self.primary(lo, hi, env)
        while i < hi:
            if is_op(toks[i], "."):
                name = toks[i + 1].val
                if i + 2 < hi and is_op(toks[i + 2], "("):
                    k = closing(toks, i + 2)
                    args = [(a, b) for a, b in split_top(toks, i + 3, k)]
                    v = self.call_method(v, name, args, env, toks[i].line)
                    i = k + 1
                else:
                    v = self.attribute(v, name, toks[i].line)
                    i += 2
            elif is_op(toks[i], "["):
                k = closing(toks, i)
                idx = self.eval(i + 1, k, env)
                v = v[idx] if isinstance(v, (list, bytes, str)) else Unknown("index")
                i = k + 1
            else:
                raise NotUnderstood("line %d: %s" % (toks[i].line, canon(toks, lo, hi)[:80]))
        return v

    def primary(self, lo, hi, env):
        toks = self.toks
        t = toks[lo]
        if t.kind in ("str", "char", "int"):
            return t.val, lo + 1
        if is_op(t, "("):
            k = closing(toks, lo)
            return self.eval(lo + 1, k, env), k + 1
        if t.kind != "id":
            raise NotUnderstood("line %d: %s" % (t.line, canon(toks, lo, hi)[:80]))
        if t.val in ("true", "false"):
            return t.val == "true", lo + 1
        if t.val == "null":
            return None, lo + 1
        if t.val == "new":
            return self.new(lo + 1, hi, env)
        # a qualified name a.b.c, maybe a call
        names, i = [t.val], lo + 1
        while i + 1 < hi and is_op(toks[i], ".") and toks[i + 1].kind == "id" and \
                names[-1][0].isupper() and not (i + 2 < hi and is_op(toks[i + 2], "(")
                                                and names[0] in env):
            if names[0] in env:
                break
            names.append(toks[i + 1].val)
            i += 2
            if names[-1][0].islower() and i < hi and is_op(toks[i], "("):
                break
        if i < hi and is_op(toks[i], "(") and len(names) >= 1:
            k = closing(toks, i)
            args = split_top(toks, i + 1, k)
            return self.call_static(".".join(names), args, env, t.line), k + 1
        if len(names) == 1:
            n = names[0]
            if n in env:
                return env[n], i
            if n in self.file.fields:
                return self.field(n), i
            if n in CONSTANTS:
                return CONSTANTS[n], i
            if re.fullmatch(r"[A-Z][A-Z0-9_]+", n):  # a static import (HttpHeaderNames.*)
                return n.lower().replace("_", "-"), i
            return Unknown("name %s" % n), i
        return self.qualified(names, t.line), i

    def qualified(self, names, line):
        cls, member = names[-2], names[-1]
        if member in CONSTANTS:
            return CONSTANTS[member]
        if cls in ("HttpHeaderNames", "HttpHeaderValues"):
            return member.lower().replace("_", "-")
        if cls == "HttpMethod":
            return member
        if cls == "HttpVersion":
            return VERSION.get(member, Unknown(member))
        if cls == "HttpResponseStatus":
            return STATUS[member] if member in STATUS else Unknown(member)
        if cls == "CharsetUtil" or cls == "StandardCharsets":
            return ("charset", member)
        if cls == "LastHttpContent" and member == "EMPTY_LAST_CONTENT":
            return ("EMPTY_LAST_CONTENT",)
        if cls == "Unpooled" and member == "EMPTY_BUFFER":
            return b""
        if cls == "Integer" and member == "MAX_VALUE":
            return 2 ** 31 - 1
        return Unknown(".".join(names))

    def new(self, lo, hi, env):
        toks = self.toks
        cls = toks[lo].val
        i = lo + 1
        while i < hi and is_op(toks[i], ".") and toks[i + 1].kind == "id":
            cls = toks[i + 1].val
            i += 2
        if cls in ("byte", "char", "int") and is_op(toks[i], "["):
            k = closing(toks, i)
            if k == i + 1:  # initializer
                j = closing(toks, k + 1)
                vals = [self.eval(a, b, env) for a, b in split_top(toks, k + 2, j)]
                return vals, j + 1
            n = self.eval(i + 1, k, env)
            if not isinstance(n, int):
                return Unknown("array size"), k + 1
            if cls == "char":
                return ["\0"] * n, k + 1
            return [0] * n, k + 1
        if is_op(toks[i], "<"):  # generics: skip
            depth = 0
            while True:
                if is_op(toks[i], "<"):
                    depth += 1
                elif is_op(toks[i], ">"):
                    depth -= 1
                elif is_op(toks[i], ">>"):
                    depth -= 2
                i += 1
                if depth <= 0:
                    break
        if not is_op(toks[i], "("):
            raise NotUnderstood("line %d: new %s" % (toks[lo].line, cls))
        k = closing(toks, i)
        args = split_top(toks, i + 1, k)
        end = k + 1
        anonymous = end < hi and is_op(toks[end], "{")
        if anonymous:
            end = closing(toks, end) + 1
        if cls in DECODER_DEFAULTS:
            vals = [self.eval(a, b, env) for a, b in args]
            return Decoder(cls, self.option_of(cls, vals, args)), end
        if cls == "HttpDecoderConfig":
            return Decoder("config", None), end
        if cls == "EmbeddedChannel":
            return self.channel(args, env, toks[lo].line), end
        if cls in ("String",) and len(args) == 1:
            return java_str(self.eval(*args[0], env)), end
        if anonymous:
            return Unknown("anonymous %s" % cls), end
        return Unknown("new %s" % cls), end

    def option_of(self, cls, vals, args):
        if len(vals) == 1 and isinstance(vals[0], Decoder):
            return vals[0].option
        defaults = DECODER_DEFAULTS[cls]
        diff = []
        for n, (v, (a, b)) in enumerate(zip(vals, args)):
            if n >= len(defaults) or v != defaults[n]:
                diff.append(canon(self.toks, a, b))
        if not diff:
            return None
        return "new %s(%s)" % (cls, ", ".join(canon(self.toks, a, b) for a, b in args))

    def channel(self, args, env, line):
        role, option, notes = None, None, []
        for a, b in args:
            v = self.eval(a, b, env)
            if isinstance(v, Decoder) and v.cls in DECODER_DEFAULTS:
                role = "server" if v.cls in ("HttpRequestDecoder", "HttpServerCodec") else "client"
                option = v.option
            else:
                text = canon(self.toks, a, b)
                if "Aggregator" in text:
                    option = (option + "; " if option else "") + text
                else:
                    notes.append("another handler in the pipeline: %s" % text[:60])
        ch = Channel(role, option, line, notes)
        self.channels.append(ch)
        return ch

    def call_static(self, name, args, env, line):
        vals = lambda: [self.eval(a, b, env) for a, b in args]  # noqa: E731
        short = name.split(".")[-1]
        if name in ("Unpooled.copiedBuffer", "Unpooled.wrappedBuffer"):
            v = vals()
            if any(isinstance(x, Unknown) for x in v):
                return next(x for x in v if isinstance(x, Unknown))
            cs = [x[1] for x in v if isinstance(x, tuple) and x and x[0] == "charset"]
            v = [x for x in v if not (isinstance(x, tuple) and x and x[0] == "charset")]
            if len(v) == 3 and isinstance(v[1], int):
                return to_bytes(v[0])[v[1]:v[1] + v[2]]
            return b"".join(to_bytes(x, cs[0] if cs else "ISO_8859_1") for x in v)
        if name == "Unpooled.buffer":
            return Buf()
        if name == "Integer.toHexString":
            return "%x" % vals()[0]
        if name == "String.valueOf":
            return java_str(vals()[0])
        if name == "of":
            return vals()[0]
        if name == "Arrays.fill":
            v = vals()
            v[0][:] = [v[1]] * len(v[0])
            return None
        if short in self.file.methods and len(name.split(".")) == 1:
            return self.invoke(self.pick(short, vals(), line), vals(), line)
        return Unknown("call %s" % name)

    def attribute(self, v, name, line):
        if name == "length" and isinstance(v, (list, bytes, bytearray)):
            return len(v)
        return Unknown("attribute %s" % name)

    def call_method(self, v, name, args, env, line):
        vals = [self.eval(a, b, env) for a, b in args]
        if isinstance(v, Decoder) and v.cls == "config":
            if name in CONFIG_DEFAULTS:
                if vals[0] != CONFIG_DEFAULTS[name]:
                    opt = "%s(%s)" % (name, canon(self.toks, *args[0]))
                    return Decoder("config", (v.option + "." if v.option else "") + opt)
                return v
            return Decoder("config", (v.option + "." if v.option else "") + name)
        if isinstance(v, Unknown):
            return v
        if name == "getBytes":
            cs = vals[0][1] if vals and isinstance(vals[0], tuple) else "UTF_8"
            return to_bytes(v, cs)
        if name in ("toString", "toLowerCase") and isinstance(v, str):
            return v.lower() if name == "toLowerCase" else v
        if name == "length" and isinstance(v, str):
            return len(v)
        if name == "repeat" and isinstance(v, str):
            return v * vals[0]
        if isinstance(v, Buf):
            if name == "writeCharSequence":
                v.data += to_bytes(vals[0], vals[1][1])
                return v
            if name == "writeByte":
                v.data.append(vals[0] & 0xff)
                return v
            if name == "writeBytes":
                v.data += to_bytes(vals[0])
                return v
        return Unknown("method %s" % name)

    # -- statements

    def pick(self, name, args, line):
        """The overload of `name` for these argument values."""
        def fits(m):
            ps = m.params
            if ps and ps[-1][0].endswith("..."):
                return len(args) >= len(ps) - 1
            if len(ps) != len(args):
                return False
            for (t, _), v in zip(ps, args):
                t = t.split(" ")[-1]
                if t == "String" and not isinstance(v, str):
                    return False
                if t in ("ByteBuf",) and not isinstance(v, (bytes, bytearray, Buf)):
                    return False
                if t == "int" and not isinstance(v, int):
                    return False
                if t == "boolean" and not isinstance(v, bool):
                    return False
            return True
        ms = [m for m in self.file.methods.get(name, []) if fits(m)]
        if len(ms) != 1:
            raise NotUnderstood("line %d: %d overloads of %s fit" % (line, len(ms), name))
        return ms[0]

    def invoke(self, m, args, line):
        if self.depth > 8:
            raise NotUnderstood("recursion")
        ps = m.params
        if ps and ps[-1][0].endswith("..."):
            args = list(args[:len(ps) - 1]) + [list(args[len(ps) - 1:])]
        if len(args) != len(ps):
            raise NotUnderstood("line %d: %s with %d arguments" % (line, m.name, len(args)))
        self.depth += 1
        try:
            self.block(m.lo, m.hi, dict(zip([n for _, n in ps], args)), 0)
        except Return as r:
            return r.value
        finally:
            self.depth -= 1
        return None

    def block(self, lo, hi, env, loop):
        toks = self.toks
        i = lo
        while i < hi:
            t = toks[i]
            if is_op(t, "{"):
                k = closing(toks, i)
                self.block(i + 1, k, env, loop)
                i = k + 1
            elif is_op(t, ";"):
                i += 1
            elif t.kind == "id" and t.val == "if":
                k = closing(toks, i + 1)
                cond = self.eval(i + 2, k, env)
                body_lo, body_hi, i = self.substatement(k + 1, hi)
                else_range = None
                if i < hi and toks[i].kind == "id" and toks[i].val == "else":
                    a, b, i = self.substatement(i + 1, hi)
                    else_range = (a, b)
                if not isinstance(cond, bool):
                    raise NotUnderstood("line %d: if (%s)" % (t.line, canon(toks, i + 2, k)[:60]))
                if cond:
                    self.block(body_lo, body_hi, env, loop)
                elif else_range:
                    self.block(else_range[0], else_range[1], env, loop)
            elif t.kind == "id" and t.val in ("for", "while"):
                k = closing(toks, i + 1)
                a, b, i = self.substatement(k + 1, hi)
                self.loop_statement(a, b, env, loop + 1, t.line)
            elif t.kind == "id" and t.val == "try":
                j = i + 1
                if is_op(toks[j], "("):
                    j = closing(toks, j) + 1
                k = closing(toks, j)
                self.block(j + 1, k, env, loop)
                i = k + 1
                while i < hi and toks[i].kind == "id" and toks[i].val in ("catch", "finally"):
                    j = i + 1
                    if is_op(toks[j], "("):
                        j = closing(toks, j) + 1
                    k = closing(toks, j)
                    if toks[i].val == "finally":
                        self.block(j + 1, k, env, loop)
                    i = k + 1
            else:
                j, depth = i, 0
                while depth or not is_op(toks[j], ";"):
                    if is_op(toks[j], "(", "{", "["):
                        depth += 1
                    elif is_op(toks[j], ")", "}", "]"):
                        depth -= 1
                    j += 1
                self.statement(i, j, env, loop)
                i = j + 1

    def substatement(self, i, hi):
        if is_op(self.toks[i], "{"):
            k = closing(self.toks, i)
            return i + 1, k, k + 1
        j, depth = i, 0
        while depth or not is_op(self.toks[j], ";"):
            if is_op(self.toks[j], "(", "{", "["):
                depth += 1
            elif is_op(self.toks[j], ")", "}", "]"):
                depth -= 1
            j += 1
        return i, j + 1, j + 1

    def loop_statement(self, a, b, env, loop, line):
        text = canon(self.toks, a, b)
        m = re.fullmatch(r"(\w+) \[ i \] = \( byte \) i ;?", text.strip())
        if m and isinstance(env.get(m.group(1)), list):
            arr = env[m.group(1)]
            arr[:] = [i & 0xff for i in range(len(arr))]
            return
        if "writeInbound" in text or "readInbound" in text or "assert" in text:
            ch = self.channels[-1] if self.channels else None
            if ch is not None and ("writeInbound" in text or "readInbound" in text):
                ch.problems.append("writes or reads in a loop (line %d)" % line)
            elif "testDecode" in text or "test" in text:
                raise NotUnderstood("line %d: a loop over helper calls" % line)
        # data set up in loops (byte patterns) is not followed: names set there are unknown
        for j in range(a, b):
            t = self.toks[j]
            if t.kind == "id" and j + 1 < b and is_op(self.toks[j + 1], "[") and t.val in env:
                env[t.val] = Unknown("filled in a loop")

    def statement(self, lo, hi, env, loop):
        toks = self.toks
        text = canon(toks, lo, hi)
        ch = self.channels[-1] if self.channels else None
        if text.startswith("return"):
            raise Return(self.eval(lo + 1, hi, env) if hi > lo + 1 else None)
        is_assert = (re.match(r"(assert\w*|Assertions \. assert\w*) \(", text) or
                     text.startswith("fail (")) and toks[lo].val not in self.file.methods
        if re.search(r"\b(decoder|codec) \. reset \(|\. reset \( \)", text) and ch is not None:
            ch.problems.append("the decoder is reset mid-test (decoder.reset())")
        # writes anywhere in the statement
        for j in range(lo, hi):
            if toks[j].kind == "id" and toks[j].val in ("writeInbound", "writeOneInbound") and \
                    is_op(toks[j + 1], "("):
                k = closing(toks, j + 1)
                target = self.channels[-1] if self.channels else None
                if target is None:
                    raise NotUnderstood("line %d: a write with no channel" % toks[j].line)
                if loop:
                    target.problems.append("writes in a loop (line %d)" % toks[j].line)
                for a, b in split_top(toks, j + 2, k):
                    v = self.eval(a, b, env)
                    if isinstance(v, Unknown) or isinstance(v, (list, tuple)) and not v:
                        target.problems.append("line %d: write of %s (%s)" % (
                            toks[a].line, canon(toks, a, b)[:50], getattr(v, "why", v)))
                    else:
                        try:
                            target.writes.append(to_bytes(v))
                        except NotUnderstood as err:
                            target.problems.append("line %d: %s" % (toks[a].line, err))
            if toks[j].kind == "id" and toks[j].val == "writeOutbound" and ch is not None:
                m = re.findall(r"HttpMethod \. (\w+)", canon(toks, j, hi))
                ch.methods += m
        if is_assert:
            if ch is not None:
                self.assertion(lo, hi, env, ch)
            return
        # assignment
        eq = None
        depth = 0
        for j in range(lo, hi):
            if is_op(toks[j], "(", "[", "{"):
                depth += 1
            elif is_op(toks[j], ")", "]", "}"):
                depth -= 1
            elif depth == 0 and is_op(toks[j], "="):
                eq = j
                break
        if eq is not None:
            name = toks[eq - 1].val
            decl_type = toks[eq - 2].val if eq - 2 >= lo and toks[eq - 2].kind == "id" else None
            rhs = canon(toks, eq + 1, hi)
            if "readInbound" in rhs:
                self.read(ch, decl_type or env.get(("type", name)), name, env, rhs, toks[lo].line)
                if decl_type:
                    env[("type", name)] = decl_type
                return
            if decl_type:
                env[("type", name)] = decl_type
            m = re.fullmatch(r"(\w+) \. decoderResult \( \)", rhs)
            if m:
                env[name] = ("result of", m.group(1))
                return
            m = re.match(r"(\w+) \. (headers|trailingHeaders|getAll|content) ", rhs)
            if m and (isinstance(env.get(m.group(1)), Read) or
                      isinstance(env.get(m.group(1)), tuple) and env[m.group(1)][:1] == ("alias",)):
                env[name] = ("alias", rhs)
                return
            if "writeInbound" in rhs:
                return
            try:
                env[name] = self.eval(eq + 1, hi, env)
            except NotUnderstood as err:
                env[name] = Unknown(str(err))
            return
        if "readInbound" in text and ch is not None:
            return  # a read whose object is not kept: nothing asserted
        if "writeInbound" in text:
            return
        # an expression statement: calls of helpers, buffer writes
        try:
            self.eval(lo, hi, env)
        except NotUnderstood:
            if re.match(r"\w+ \(", text) and toks[lo].val in self.file.methods:
                raise

    def read(self, ch, decl_type, name, env, rhs, line):
        if ch is None:
            return
        kinds = {"HttpRequest": "head", "HttpResponse": "head", "HttpMessage": "head",
                 "FullHttpRequest": "full", "FullHttpResponse": "full",
                 "HttpContent": "content", "LastHttpContent": "last", "ByteBuf": "raw"}
        m = re.search(r"\( (\w+) \) \w+ \. readInbound", rhs)
        t = m.group(1) if m else decl_type
        kind = kinds.get(t)
        if kind is None:
            ch.problems.append("line %d: a read of type %s" % (line, t))
            return
        if kind in ("head", "full"):
            idx = sum(1 for r in ch.reads if r.kind in ("head", "full"))
        else:
            idx = max(0, sum(1 for r in ch.reads if r.kind in ("head", "full")) - 1)
        r = Read(kind, idx)
        ch.reads.append(r)
        env[name] = r

    def assertion(self, lo, hi, env, ch):
        toks = self.toks
        text = canon(toks, lo, hi)
        k = closing(toks, lo + 1) if is_op(toks[lo + 1], "(") else None
        fn = toks[lo].val
        args = split_top(toks, lo + 2, k) if k else []
        a = [self.expand(canon(toks, x, y), env) for x, y in args]
        text = self.expand(text, env)

        def ref(s):
            m = re.match(r"(\w+)", s)
            v = env.get(m.group(1)) if m else None
            if isinstance(v, tuple) and v and v[0] == "result of":
                v = env.get(v[1])
            return v if isinstance(v, Read) else None

        # reads asserted inline: assertInstanceOf(HttpRequest.class, ch.readInbound())
        if fn == "assertInstanceOf" and len(a) == 2 and "readInbound" in a[1]:
            kind = {"HttpRequest": "head", "HttpResponse": "head", "LastHttpContent": "last",
                    "HttpContent": "content", "FullHttpRequest": "full",
                    "FullHttpResponse": "full"}.get(a[0].split(" ")[0])
            if kind is None:
                ch.problems.append("unmapped assert: %s" % text[:100])
                return
            idx = sum(1 for r in ch.reads if r.kind in ("head", "full"))
            ch.reads.append(Read(kind, idx if kind in ("head", "full") else max(0, idx - 1)))
            return
        if fn == "assertNull" and a and re.fullmatch(r"\w+ \. readInbound \( \)", a[0]):
            return  # nothing more is read: not compared (Netty's object model)
        if fn == "assertEquals" and len(a) >= 2 and "readInbound" in a[1] and \
                "EMPTY_LAST_CONTENT" in a[0]:
            idx = max(0, sum(1 for r in ch.reads if r.kind in ("head", "full")) - 1)
            ch.reads.append(Read("last", idx))
            ch.asserts.append(("body_len", ch.reads[-1], 0, 0))
            return
        # decoder results
        m = re.fullmatch(r"(\w+)(?: \. decoderResult \( \))? \. (isFailure|isSuccess) \( \)",
                         a[0] if a else "")
        if m and fn in ("assertTrue", "assertFalse") and ref(m.group(1)):
            failed = (fn == "assertTrue") == (m.group(2) == "isFailure")
            ch.asserts.append(("failure" if failed else "success", ref(m.group(1))))
            return
        if fn == "assertNull" and a and re.fullmatch(r"\w+ \. decoderResult \( \) \. cause \( \)",
                                                   a[0]) and ref(a[0]):
            ch.asserts.append(("success", ref(a[0])))
            return
        if fn == "assertInstanceOf" and len(a) == 2 and \
                re.fullmatch(r"\w+ \. decoderResult \( \) \. cause \( \)", a[1]) and ref(a[1]):
            ch.asserts.append(("failure", ref(a[1])))
            if a[0].startswith("PrematureChannelClosureException"):
                ch.asserts.append(("premature", ref(a[1]), True))
            return
        if fn == "assertThat" and a and re.fullmatch(r"(\w+)(?: \. decoderResult \( \))? \. "
                                                    r"cause \( \)", a[0]) and ref(a[0]):
            if "isInstanceOf" in text:
                ch.asserts.append(("failure", ref(a[0])))
                return
        m = re.fullmatch(r"(\w+) \. content \( \) \. isReadable \( \)", a[0] if a else "")
        if m and ref(m.group(1)) and fn in ("assertFalse", "assertTrue"):
            if fn == "assertFalse":
                ch.asserts.append(("part_len", ref(m.group(1)), 0))
            return
        m = re.fullmatch(r"(\w+) \. (headers|trailingHeaders) \( \) \. getAll \( (.*) \)"
                         r"( \. size \( \))?", a[1] if len(a) > 1 else "")
        if m and ref(m.group(1)) and fn == "assertEquals" and m.group(4):
            name = self.literal(m.group(3), env)
            if isinstance(name, str) and isinstance(self.literal(a[0], env), int):
                ch.asserts.append(("count_of", ref(m.group(1)), m.group(2), name.lower(),
                                   self.literal(a[0], env)))
                return
        m = re.fullmatch(r"(\w+) \. (headers|trailingHeaders) \( \) \. getAll \( (.*) \) \. "
                         r"contains \( (.*) \)", a[0] if a else "")
        if not m and fn == "assertThat" and len(a) == 1:
            m = re.fullmatch(r"assertThat \( (\w+) \. (headers|trailingHeaders) \( \) \. getAll "
                             r"\( (.*) \) \) \. contains \( (.*) \)", text)
        if m and ref(m.group(1)) and fn in ("assertTrue", "assertThat"):
            name, value = self.literal(m.group(3), env), self.literal(m.group(4), env)
            if isinstance(name, str) and isinstance(value, str):
                ch.asserts.append(("has_value", ref(m.group(1)), m.group(2), name.lower(), value))
                return
        if IGNORED_ASSERT.search(text.replace(" ", "")):
            return
        if fn == "assertNotNull" and a and ref(a[0]):
            return
        # values
        if fn in ("assertEquals", "assertSame") and len(a) >= 2:
            want_s, got_s = a[0], a[1]
            r = ref(got_s)
            if r is None and ref(want_s):
                want_s, got_s, r = got_s, want_s, ref(want_s)
                args = [args[1], args[0]] + args[2:]
            if r is not None:
                try:
                    want = self.eval(args[0][0], args[0][1], env)
                except NotUnderstood:
                    want = Unknown("expected value")
                rest = got_s.split(" ", 1)[1] if " " in got_s else ""
                pats = [
                    (r"\. method \( \)", "method"), (r"\. uri \( \)", "target"),
                    (r"\. protocolVersion \( \)", "version"), (r"\. status \( \)", "status"),
                    (r"\. status \( \) \. code \( \)", "status"),
                    (r"\. headers \( \) \. size \( \)", "field_count"),
                    (r"\. headers \( \) \. names \( \) \. size \( \)", "name_count"),
                    (r"\. headers \( \) \. names \( \) \. size \( \)", "name_count"),
                    (r"\. trailingHeaders \( \) \. size \( \)", "trailer_count"),
                    (r"\. trailingHeaders \( \) \. names \( \) \. size \( \)", "trailer_names"),
                    (r"\. content \( \) \. readableBytes \( \)", "part_len"),
                    (r"\. content \( \) \. toString \( .* \)", "part"),
                ]
                for pat, key in pats:
                    if re.fullmatch(pat, rest) and not isinstance(want, Unknown):
                        ch.asserts.append((key, r, want))
                        return
                m = re.fullmatch(r"\. (headers|trailingHeaders) \( \) \. get \( (.*) \)", rest)
                if m and not isinstance(want, Unknown):
                    name = self.eval_text(m.group(2), env, args[1])
                    if isinstance(name, str):
                        ch.asserts.append(("trailer" if m.group(1) == "trailingHeaders"
                                           else "field", r, name.lower(), want))
                        return
        m = re.fullmatch(r"(\w+) \. (headers|trailingHeaders) \( \) \. names \( \) \. "
                         r"contains \( (.*) \)", a[0] if a else "")
        if m and ref(m.group(1)) and fn in ("assertTrue", "assertFalse"):
            name = self.literal(m.group(3), env)
            if isinstance(name, str):
                ch.asserts.append(("present", ref(m.group(1)), m.group(2), name.lower(),
                                   fn == "assertTrue"))
                return
        m = re.fullmatch(r"(\w+) \. headers \( \) \. contains \( ([^,]*) \)", a[0] if a else "")
        if m and ref(m.group(1)) and fn in ("assertTrue", "assertFalse"):
            name = self.literal(m.group(2), env)
            if isinstance(name, str):
                ch.asserts.append(("present", ref(m.group(1)), "headers", name.lower(),
                                   fn == "assertTrue"))
                return
        if fn == "assertTrue" and a:
            m = re.fullmatch(r"(\w+) \. headers \( \) \. contains \( (.*) \)", a[0])
            if m and ref(m.group(1)):
                j = args[0][0]
                while not (toks[j].kind == "id" and toks[j].val == "contains"):
                    j += 1
                cargs = [self.eval(x, y, env) for x, y in split_top(toks, j + 2,
                                                                    closing(toks, j + 1))]
                if len(cargs) == 3 and isinstance(cargs[0], str) and isinstance(cargs[1], str):
                    ch.asserts.append(("contains", ref(m.group(1)), cargs[0].lower(), cargs[1]))
                    return
        ch.problems.append("unmapped assert: %s" % text[:110])

    def literal(self, s, env):
        """The value of a small expression given as canonical text."""
        try:
            sub = Runner(self.file)
            sub.toks = tokenize(s.replace(" . ", "."))
            sub.field_cache = self.field_cache
            return sub.eval(0, len(sub.toks), env)
        except (NotUnderstood, IndexError, KeyError, ValueError, TypeError):
            return None

    def expand(self, s, env):
        """`s` with the names bound to views of a read (`headers = res.headers()`) spelled
        out, once (names after a `.` are members, not variables)."""
        def sub(m):
            v = env.get(m.group(2))
            if isinstance(v, tuple) and v[:1] == ("alias",):
                return m.group(1) + self.expand(v[1], {k: x for k, x in env.items()
                                                       if k != m.group(2)})
            return m.group(0)
        return re.sub(r"(^|[^.] )(\w+)\b", sub, s)

    def eval_text(self, s, env, rng):
        toks = self.toks
        a, b = rng
        for j in range(a, b):
            if toks[j].kind == "id" and toks[j].val == "get" and is_op(toks[j + 1], "("):
                k = closing(toks, j + 1)
                try:
                    return self.eval(j + 2, k, env)
                except NotUnderstood:
                    return None
        return None


# ------------------------------------------------------------------------ the tests


def parameter_sets(file, m):
    """The argument lists of a test method, or a reason it is not run."""
    toks = file.toks
    names = [n for n, _, _ in m.annotations]
    if "Test" in names and not m.params:
        return [[]], None
    if "ParameterizedTest" not in names:
        return None, None
    for n, a, b in m.annotations:
        if n == "ValueSource":
            k = a
            while k < b and not is_op(toks[k], "{"):
                k += 1
            if k == b:
                vals = [toks[x].val for x, y in split_top(toks, a + 2, b)]
            else:
                vals = [toks[x].val if toks[x].kind != "op" else -toks[x + 1].val
                        for x, y in split_top(toks, k + 1, closing(toks, k))]
            return [[v] for v in vals], None
        if n == "MethodSource":
            src = file.methods.get(toks[a].val if a < b else m.name, [None])[0]
            if src is None:
                return None, "@MethodSource not found"
            rows = []
            i = src.lo
            while i < src.hi:
                if is_op(toks[i], "{"):
                    k = closing(toks, i)
                    inner = toks[i + 1:k]
                    if inner and all(t.kind in ("id", "int", "str") or is_op(t, ",")
                                     for t in inner):
                        rows.append([t.val == "true" if t.val in ("true", "false") else t.val
                                     for t in inner if not is_op(t, ",")])
                        i = k + 1
                        continue
                i += 1
            if not rows:
                return None, "@MethodSource rows not read"
            return rows, None
    return None, "parameter source not read"


def cases_of(file, skipped):
    cases = []
    for m in sorted((x for ms in file.methods.values() for x in ms), key=lambda x: x.line):
        sets, why = parameter_sets(file, m)
        if sets is None:
            if why:
                skipped.append((file.name, m.line, m.name, why))
            continue
        for args in sets:
            label = m.name + ("(%s)" % ", ".join(repr(x) for x in args) if args else "")
            run = Runner(file)
            try:
                run.invoke(m, args, m.line)
            except (NotUnderstood, KeyError, IndexError, TypeError, ValueError,
                    AttributeError, StopIteration) as err:
                skipped.append((file.name, m.line, label, "NOT READ: %s: %s" % (
                    type(err).__name__, err)))
                continue
            chans = [c for c in run.channels]
            if not chans:
                skipped.append((file.name, m.line, label, "no EmbeddedChannel"))
                continue
            for n, ch in enumerate(chans):
                lab = label + (" #%d" % (n + 1) if len(chans) > 1 else "")
                why = None
                if ch.role is None:
                    why = "no HTTP/1 decoder in the pipeline"
                elif not ch.writes:
                    why = "no raw bytes written"
                elif ch.problems:
                    why = "; ".join(ch.problems)
                elif not any(r.kind in ("head", "full") for r in ch.reads):
                    why = "nothing read back from the decoder"
                elif len(set(ch.methods)) > 1:
                    why = "requests of different methods: %s" % ", ".join(ch.methods)
                if why:
                    skipped.append((file.name, m.line, lab, why))
                    continue
                cases.append(make_case(file, m, lab, ch))
    return cases


def make_case(file, m, label, ch):
    """The case's input and what Netty expects of it, message by message."""
    msgs = {}
    for r in ch.reads:
        e = msgs.setdefault(r.msg, {"fields": [], "trailers": [], "contains": [],
                                    "parts": [], "lens": [], "unmeasured": 0})
        if r.kind in ("last", "full"):
            e["last"] = True
        if r.kind in ("content", "last"):
            e.setdefault("reads", []).append(r)
    for a in ch.asserts:
        r = a[1]
        e = msgs[r.msg]
        kind = a[0]
        if kind == "failure":
            e["fail_at"] = "head" if r.kind in ("head", "full") else "content"
        elif kind == "success":
            e.setdefault("success", True)
        elif kind in ("field", "trailer"):
            e["fields" if kind == "field" else "trailers"].append((a[2], a[3]))
        elif kind == "contains":
            e["contains"].append((a[2], a[3]))
        elif kind == "part_len":
            e["lens"].append((id(r), a[2]))
        elif kind == "body_len":
            e["lens"].append((id(r), a[2]))
        elif kind == "part":
            e["parts"].append(a[2])
        elif kind in ("count_of", "has_value", "present"):
            e.setdefault(kind, []).append(list(a[2:]))
        else:
            e[kind] = a[2]
    for e in msgs.values():
        measured = {x for x, _ in e["lens"]}
        e["unmeasured"] = sum(1 for r in e.get("reads", []) if id(r) not in measured)
        e["body_len"] = sum(v for _, v in e["lens"])
        e.pop("reads", None)
        e.pop("lens", None)
    data = b"".join(ch.writes)
    method = ch.methods[0] if ch.methods else None
    return {"file": file.name, "line": m.line, "label": label, "role": ch.role,
            "method": method if ch.role == "client" else None, "input": data,
            "expect": [msgs[k] for k in sorted(msgs)], "option": ch.option,
            "notes": list(ch.notes)}


def netty_says(c):
    out = []
    for n, e in enumerate(c["expect"]):
        s = "message %d: " % (n + 1)
        if e.get("fail_at") == "head":
            s += "refused (decoderResult failure%s)" % (
                ": PrematureChannelClosureException" if e.get("premature") else "")
        else:
            bits = []
            for k in ("method", "target", "version", "status", "field_count", "name_count"):
                if k in e:
                    bits.append("%s %r" % (k, e[k]))
            bits += ["%s: %r" % f for f in e["fields"]]
            bits += ["has %s: %r" % f for f in e["contains"]]
            if e["parts"]:
                bits.append("content %r" % "".join(e["parts"])[:60])
            if e["body_len"] and not e["unmeasured"]:
                bits.append("%d content bytes" % e["body_len"])
            bits += ["trailer %s: %r" % f for f in e["trailers"]]
            bits += ["%s %s: %d value(s)" % tuple(x) for x in e.get("count_of", [])]
            bits += ["%s %s has %r" % tuple(x) for x in e.get("has_value", [])]
            bits += ["%s %s %s" % (w, n, "present" if p else "absent")
                     for w, n, p in e.get("present", [])]
            if e.get("last"):
                bits.append("ends")
            if e.get("fail_at") == "content":
                bits.append("then its content fails (decoderResult failure)")
            s += "delivered" + (" (%s)" % ", ".join(bits) if bits else "")
        out.append(s)
    return "; ".join(out)


# ------------------------------------------------------------------------ our side


def run(h1dump, role, method, data, split):
    try:
        return run_h1dump(h1dump, role, method, data, split), None
    except RuntimeError as err:
        text = re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1'", str(err))
        return "", [t.strip() for t in text.strip().split("\n")[:3] if t.strip()]
    except subprocess.TimeoutExpired:
        return "", ["h1dump did not finish (hang)"]


def finals(ev):
    """Messages as Netty's decoder reports them: every head (a 1xx is a message there)."""
    return ev["msgs"]


def describe(ev):
    msgs = ev["msgs"]
    parts = ["%d message(s)" % len(msgs)]
    for m in msgs[:3]:
        if m["kind"] == "request":
            parts.append("%s %s HTTP/%s%s" % (m["method"], m["target"].decode("latin-1"),
                                               m["version"], ", body %r" % m["body"][:40]
                                               if m["body"] else ""))
        else:
            parts.append("HTTP/%s %d%s" % (m["version"], m["status"], ", body %r" %
                                           m["body"][:40] if m["body"] else ""))
    if ev["switch_at"] is not None:
        parts.append("switch at %d" % ev["switch_at"])
    if ev["failure"]:
        parts.append("then error: %s" % ev["failure"])
    return "ours: " + ", ".join(parts)


def compare(e, m, ended, hosted):
    diffs = []
    headers = [f for f in m["headers"] if not (hosted and f == HOST_FIELD)]
    if "method" in e and e["method"] != m["method"]:
        diffs.append("method: Netty %r, ours %r" % (e["method"], m["method"]))
    if "target" in e and e["target"].encode("latin-1") != m["target"]:
        diffs.append("uri: Netty %r, ours %r" % (e["target"], m["target"]))
    if "version" in e and e["version"] != m["version"]:
        diffs.append("version: Netty %r, ours %r" % (e["version"], m["version"]))
    if "status" in e and e["status"] != m["status"]:
        diffs.append("status: Netty %r, ours %r" % (e["status"], m["status"]))
    if "field_count" in e and e["field_count"] != len(headers):
        diffs.append("field count: Netty %d, ours %d" % (e["field_count"], len(headers)))
    if "name_count" in e and e["name_count"] != len({n for n, _ in headers}):
        diffs.append("distinct names: Netty %d, ours %d" % (
            e["name_count"], len({n for n, _ in headers})))
    for name, value in e["fields"]:
        got = next((v for n, v in headers if n == name.encode("latin-1")), None)
        if got != h1dump_io.latin1(value):
            diffs.append("field %s: Netty %r, ours %r" % (name, value, got))
    for name, value in e["contains"]:
        vals = [v.lower() for n, v in headers if n == name.encode("latin-1")]
        items = [x.strip() for v in vals for x in v.split(b",")]
        if h1dump_io.latin1(value.lower()) not in items:
            diffs.append("field %s contains %r: Netty yes, ours %r" % (name, value, vals))
    if "trailer_count" in e and e["trailer_count"] != len(m["trailers"]):
        diffs.append("trailer count: Netty %d, ours %d" % (e["trailer_count"],
                                                           len(m["trailers"])))
    if "trailer_names" in e and e["trailer_names"] != len({n for n, _ in m["trailers"]}):
        diffs.append("trailer names: Netty %d, ours %d" % (
            e["trailer_names"], len({n for n, _ in m["trailers"]})))
    for name, value in e["trailers"]:
        got = next((v for n, v in m["trailers"] if n == name.encode("latin-1")), None)
        if got != h1dump_io.latin1(value):
            diffs.append("trailer %s: Netty %r, ours %r" % (name, value, got))
    for where, name, n in e.get("count_of", []):
        fields = m["headers"] if where == "headers" else m["trailers"]
        got = sum(1 for k, _ in fields if k == name.encode("latin-1"))
        if got != n:
            diffs.append("%s %s: Netty %d value(s), ours %d" % (where, name, n, got))
    for where, name, want in e.get("present", []):
        fields = m["headers"] if where == "headers" else m["trailers"]
        got = any(k == name.encode("latin-1") for k, _ in fields)
        if got != want:
            diffs.append("%s %s present: Netty %s, ours %s" % (where, name, want, got))
    for where, name, value in e.get("has_value", []):
        fields = m["headers"] if where == "headers" else m["trailers"]
        if (name.encode("latin-1"), h1dump_io.latin1(value)) not in fields:
            diffs.append("%s %s: Netty has %r, ours %r" % (where, name, value, [
                v for k, v in fields if k == name.encode("latin-1")]))
    if e["parts"]:
        want = h1dump_io.latin1("".join(e["parts"]))
        if want not in m["body"]:
            diffs.append("content: Netty %r, ours %r" % (want[:60], m["body"][:60]))
    if e.get("last") and not e["unmeasured"] and e["body_len"] != len(m["body"]):
        diffs.append("content length: Netty %d, ours %d" % (e["body_len"], len(m["body"])))
    if e.get("last") and not ended:
        diffs.append("Netty ends the message (LastHttpContent); ours does not")
    return diffs


def ended_flags(output, data):
    """For each message of the output, whether its end came."""
    flags = []
    for line in output.splitlines():
        ev = json.loads(line)
        if ev["event"] in ("request", "response", "informational"):
            flags.append(ev["event"] == "informational")
        elif ev["event"] == "end" and flags:
            flags[-1] = True
        elif ev["event"] == "switched" and flags:
            flags[-1] = True
    return flags


def judge(h1dump, c, data, hosted):
    role, method = c["role"], c["method"]
    whole, crash = run(h1dump, role, method, data, 0)
    bytewise, crash1 = run(h1dump, role, method, data, 1)
    ev = read_events(whole, data)
    msgs = finals(ev)
    ended = ended_flags(whole, data)
    diffs, late = [], None
    expect = c["expect"]
    fail = next((n for n, e in enumerate(expect) if e.get("fail_at")), None)
    if crash or crash1:
        agree = False
    elif fail is not None and expect[fail]["fail_at"] == "head":
        # messages before it delivered, then refused before delivering it
        agree = len(msgs) == fail and ev["error"] is not None
        if expect[fail].get("premature"):  # Netty's failure is the close: ours, the end of input
            agree = len(msgs) == fail and ev["error"] is None and ev["eof"] is not None
        elif not agree and ev["error"] is None and ev["eof"] and len(msgs) == fail:
            probe = read_events(run(h1dump, role, method, h1dump_io.end_head(data), 0)[0],
                                data)
            late = probe["error"] or "accepted"
            agree = probe["error"] is not None and "missing Host" not in late and \
                len(probe["msgs"]) == fail
        for n in range(min(fail, len(msgs))):
            diffs += compare(expect[n], msgs[n], ended[n], hosted)
        agree = agree and not diffs
    elif fail is not None:
        agree = len(msgs) == fail + 1 and not ended[fail] and ev["error"] is not None
        if not agree and ev["error"] is None and ev["eof"] and "trailer section" in ev["eof"]:
            probe = read_events(run(h1dump, role, method, h1dump_io.end_head(data), 0)[0],
                                data)
            late = probe["error"] or "accepted"
            agree = probe["error"] is not None
        for n in range(min(fail + 1, len(msgs))):
            diffs += compare(dict(expect[n], last=False), msgs[n], ended[n], hosted)
        agree = agree and not diffs
    else:
        n = len(expect)
        agree = len(msgs) >= n
        errored = ev["error"] is not None
        if agree:
            for k in range(n):
                diffs += compare(expect[k], msgs[k], ended[k], hosted)
            # an error is a disagreement when it cut a message Netty reads whole
            last_needed = max((k for k in range(n) if expect[k].get("last")), default=None)
            if errored and (len(msgs) == n and not all(ended[:n]) and last_needed is not None):
                diffs.append("refused before the messages Netty reads end")
            if errored and len(msgs) == n and last_needed is None and not ended[n - 1] and \
                    any(expect[k].get("success") for k in range(n)):
                diffs.append("refused inside a message Netty decodes without failure")
        else:
            diffs.append("Netty delivers %d message(s); ours %d" % (n, len(msgs)))
        agree = agree and not diffs
    return {"agree": bool(agree), "late": late, "ours": describe(ev), "diffs": diffs,
            "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("netty", "Netty checkout or bare git directory"))
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = NettySource(args.netty, args.rev)
    cases, skipped, unread = [], [], []
    for name in FILES:
        try:
            file = JavaFile(name, src.read_bytes(DIR + name).decode("utf-8"))
        except (NotUnderstood, subprocess.CalledProcessError, OSError, UnicodeDecodeError,
                StopIteration) as err:
            unread.append("%s: %s: %s" % (name, type(err).__name__, err))
            continue
        cases += cases_of(file, skipped)

    results = []
    for c in cases:
        data = c["input"]
        plain = judge(h1dump, c, data, False)
        if c["role"] == "server":
            fed, points = h1dump_io.add_host(data, HOST)
        else:
            fed, points = data, []
        hosted = judge(h1dump, c, fed, True) if points else plain
        results.append(dict(c, input=data.decode("latin-1"), plain=plain, hosted=hosted,
                            host_added=bool(points), expect=h1dump_io.jsonable(c["expect"]),
                            netty=netty_says(c)))

    counted = [r for r in results if not r["option"]]
    print("netty: %s (%s at %s)" % (src.commit(), args.netty, args.rev))
    for name in FILES:
        rows = [r for r in results if r["file"] == name]
        print("  %s: %d cases (%d depend on a non-default option), %d tests not run" % (
            name, len(rows), sum(1 for r in rows if r["option"]),
            sum(1 for s in skipped if s[0] == name)))
    for u in unread:
        print("NOT READ: %s" % u)
    print()
    print("tests not run (%d):" % len(skipped))
    for f, line, name, why in skipped:
        print("  %s:%d %s: %s" % (f, line, name, why))
    print()
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "%s:%d %s" % (r["file"], r["line"], r["label"]))

    def show(r, quiet_ok):
        p, h = r["plain"], r["hosted"]
        quiet = p["agree"] and h["agree"] and not p["late"]
        if quiet and not quiet_ok:
            return
        print("  %s %s:%d %s%s" % (h1dump_io.mark(p, h), r["file"], r["line"], r["label"],
                                   "  (--method %s)" % r["method"] if r["method"] else ""))
        if quiet:
            return
        shown = r["input"].encode("latin-1")
        h1dump_io.print_input(shown)
        print("      netty: %s" % r["netty"])
        if r["option"]:
            print("      netty's option: %s" % r["option"])
        h1dump_io.print_ours(p, h, r["host_added"])
        for n in r["notes"]:
            print("      note: %s" % n)

    h1dump_io.print_disagreements(counted, show, args.verbose, (
        "cases that depend on a non-default option of Netty's (not counted):", [r for r in results if r["option"]]))
    row = h1dump_io.summary_table(42)

    for name in FILES:
        row(name, [r for r in counted if r["file"] == name])
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
