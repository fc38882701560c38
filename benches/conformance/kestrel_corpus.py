#!/usr/bin/env python3
"""Run the HTTP/1.1 request-parsing test data of ASP.NET Core's Kestrel through h1dump.

    cargo build --example h1dump
    python3 benches/conformance/kestrel_corpus.py PATH/TO/aspnetcore [--rev REV] [--verbose]

PATH/TO/aspnetcore is a checkout (or bare git directory) of dotnet/aspnetcore, or any
directory holding these files at their repository paths (HttpParsingData.cs is required, the
two test files are read when present):

    src/Servers/Kestrel/shared/test/HttpParsingData.cs
    src/Servers/Kestrel/Core/test/HttpParserTests.cs
    src/Servers/Kestrel/test/InMemory.FunctionalTests/BadHttpRequestTests.cs

Nothing of Kestrel is copied here: the C# string literals are read at run time with a small
C# literal reader (regular, verbatim and interpolated strings; `\\xH..HHHH` is variable-length
as in C#), and each data set is turned into raw requests the way the Kestrel tests that use
it do (named next to each set below). Each case carries the test's verdict: accepted (with
the method, target, version and field values asserted), refused (with the status the test
asserts: 400, 405, 505), or incomplete (the parser asks for more bytes).

Server role only. Agreement: both accept and every asserted value matches; both refuse; or
an incomplete input is neither delivered nor refused before the end of input. Kestrel's
parser tests feed only a request line or a header block, and refuse at the offending byte;
the core judges a head once it is complete, so when the core only reports the end of input
inside a head, the head is ended with CRLF CRLF and the case agrees if the core then refuses
it for a reason other than a missing Host (as in llhttp_corpus.py). Refusals are also
compared by status (a second figure). Every input runs whole and one byte at a time.
"""

import re
import sys

import h1dump_io
from h1dump_io import Source, add_host, end_head, find_h1dump, run_h1dump, read_events

DATA = "src/Servers/Kestrel/shared/test/HttpParsingData.cs"
PARSER_TESTS = "src/Servers/Kestrel/Core/test/HttpParserTests.cs"
BAD_TESTS = "src/Servers/Kestrel/test/InMemory.FunctionalTests/BadHttpRequestTests.cs"
HOST = b"Host: a\r\n"


# ---------------------------------------------------------------- C# literal reader

def cs_literals(text):
    """(value, start) of each literal; see cs_spans."""
    return [(v, a) for v, a, _ in cs_spans(text)]


def cs_spans(text):
    """The string literals of C# source `text`, in order, as (value, start offset): regular
    and interpolated strings with their escapes decoded (interpolation holes kept as
    `{name}`), verbatim strings as written. Comments and char literals are skipped."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i) + 2
            continue
        if c == "'":
            j = i + 1
            while text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        prefix = ""
        while c in "$@" and i + 1 < n and text[i + 1] in '$@"':
            prefix += c
            i += 1
            c = text[i]
        if c != '"':
            i += 1
            continue
        start = i - len(prefix)
        i += 1
        buf = []
        if "@" in prefix:
            while True:
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
        else:
            while text[i] != '"':
                ch = text[i]
                if ch == "\\":
                    e = text[i + 1]
                    if e == "x":
                        m = re.match(r"[0-9A-Fa-f]{1,4}", text[i + 2:])
                        buf.append(chr(int(m.group(0), 16)))
                        i += 2 + len(m.group(0))
                        continue
                    if e == "u":
                        buf.append(chr(int(text[i + 2:i + 6], 16)))
                        i += 6
                        continue
                    buf.append({"r": "\r", "n": "\n", "t": "\t", "0": "\0", "\\": "\\",
                                '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f",
                                "v": "\v"}[e])
                    i += 2
                    continue
                buf.append(ch)
                i += 1
            i += 1
        out.append(("".join(buf), start, i))
    return out


def member(text, name):
    """The source of the static member `name` of HttpParsingData (or a test class): from
    its declaration to the next member declaration at the same indentation."""
    m = re.search(r"^( +)public static [^\n]*\b%s\b" % re.escape(name), text, re.M)
    if not m:
        raise KeyError(name)
    nxt = re.compile(r"^%s(?:public|private|internal|\[)" % m.group(1), re.M).search(text, m.end())
    return text[m.start():nxt.start() if nxt else len(text)]


def strings(src):
    return [s for s, _ in cs_literals(src)]


def local_array(src, var):
    """The literals of `var X = new[] { ... };` inside `src`."""
    m = re.search(r"var %s = new\[\]\s*\{" % var, src)
    end = src.find("};", m.end())
    return strings(src[m.end():end])


def rows(src):
    """Each `new[] { ... }` row (or `{ a, b }` initializer, or `data.Add(a, b)`) of `src`,
    as the list of its string literals, in order."""
    out = []
    for m in re.finditer(r"(?:new\[\]\s*\{|data\.Add\(|^\s*\{ )([^\n]*)$", src, re.M):
        lits = strings(m.group(1))
        if lits:
            out.append(lits)
    return out


def method_source(text, name):
    """A test method `name` with the attributes above it."""
    m = re.search(r"public (?:async )?(?:void|Task|async Task) %s\(" % re.escape(name), text)
    if not m:
        return None, None
    attr_start = text.rfind("}", 0, m.start())
    attr_start = 0 if attr_start < 0 else attr_start
    body_end = text.find("\n    }", m.end())
    return text[attr_start:m.start()], text[m.start():body_end]


def inline_rows(text, name):
    """The `[InlineData(...)]` rows of test `name` (string literals and nulls, in order)."""
    attrs, _ = method_source(text, name)
    if attrs is None:
        return []
    out = []
    for m in re.finditer(r"\[InlineData\((.*)\)\]\s*$", attrs, re.M):
        args = m.group(1)
        spans = cs_spans(args)
        blank = list(args)
        for _, a, b in spans:
            blank[a:b] = " " * (b - a)
        items = [(a, v) for v, a, _ in spans]
        items += [(k.start(), None) for k in re.finditer(r"\bnull\b", "".join(blank))]
        out.append([v for _, v in sorted(items, key=lambda x: x[0])])
    return out


def send_all(lines):
    """InMemoryConnection.SendAll: the lines joined with CRLF."""
    return "\r\n".join(lines)


# ---------------------------------------------------------------- the cases

def case(cases, cid, group, data, expect, status=None, method=None, target=None,
         version=None, headers=None, requests=1, note=None, optional=None):
    if isinstance(data, str):
        data = data.encode("latin-1")
    cases.append({"id": cid, "group": group, "input": data, "expect": expect,
                  "status": status, "method": method, "target": target,
                  "version": version, "headers": headers, "requests": requests,
                  "note": note, "optional": optional})


def build(src):
    data = src.read_bytes(DATA).decode("utf-8")
    cases = []

    # RequestLineValidData: HttpParserTests.ParsesRequestLine (LF allowed parser) and
    # Http1ConnectionTests.TakeStartLine...: the line alone parses; here it ends the head.
    body = member(data, "RequestLineValidData")
    methods, versions = local_array(body, "methods"), local_array(body, "httpVersions")
    paths = local_array(body, "paths")[0::2]
    queries = local_array(body, "queryStrings")
    for m in methods:
        for p in paths:
            for q in queries:
                for v in versions:
                    line = "%s %s%s %s\r\n" % (m, p, q, v)
                    case(cases, "RequestLineValidData %r" % line, "RequestLineValidData",
                         line + "\r\n", "accept", method=m, target=p + q, version=v.strip())

    # RequestLineDotSegmentData: the raw target is kept.
    for r in rows(member(data, "RequestLineDotSegmentData")):
        case(cases, "RequestLineDotSegmentData %r" % r[0], "RequestLineDotSegmentData",
             r[0] + "\r\n", "accept", target=r[1], method=r[0].split(" ")[0])

    # RequestLineIncompleteData: ParseRequestLineReturnsFalseWhenGivenIncompleteRequestLines.
    for s in strings(member(data, "RequestLineIncompleteData")):
        case(cases, "RequestLineIncompleteData %r" % s, "RequestLineIncompleteData", s,
             "incomplete")

    nontoken = strings(member(data, "MethodWithNonTokenCharData")) + \
        strings(member(data, "MethodWithNullCharData"))
    # RequestLineInvalidData (+ the non-token methods with HTTP/1.0):
    # BadHttpRequestTests.TestInvalidRequestLines, 400.
    for s in strings(member(data, "RequestLineInvalidData")) + \
            ["%s / HTTP/1.0\r\n" % m for m in nontoken]:
        case(cases, "RequestLineInvalidData %r" % s, "RequestLineInvalidData", s, "reject", 400)
    # ParseRequestLineThrowsOnNonTokenCharsInCustomMethod, 400.
    for m in nontoken:
        s = "%s / HTTP/1.1\r\n" % m
        case(cases, "MethodWithNonTokenCharData %r" % s, "MethodWithNonTokenCharData", s,
             "reject", 400)
    # RequestLineInvalidDataLineFeedTerminator: refused with LF terminators disabled
    # (ParseRequestLineThrowsOnInvalidRequestLineLineFeedTerminator), accepted otherwise.
    for s in strings(member(data, "RequestLineInvalidDataLineFeedTerminator")):
        case(cases, "RequestLineInvalidDataLineFeedTerminator %r" % s,
             "RequestLineInvalidDataLineFeedTerminator", s, "reject", 400)
        case(cases, "RequestLineInvalidDataLineFeedTerminator (LF allowed) %r" % s,
             "RequestLineInvalidDataLineFeedTerminator", s + "\n", "accept",
             method=s.split(" ")[0], optional="LF terminators allowed (quirk mode)")
    # UnrecognizedHttpVersionData: TestInvalidRequestLinesWithUnrecognizedVersion, 505.
    for v in strings(member(data, "UnrecognizedHttpVersionData")):
        s = "GET / %s\r\n" % v
        case(cases, "UnrecognizedHttpVersionData %r" % s, "UnrecognizedHttpVersionData", s,
             "reject", 505)
    # TargetWithEncodedNullCharData, TargetWithNullCharData (+ QueryStringWithNullCharData):
    # TestInvalidRequestLines, 400.
    for name in ("TargetWithEncodedNullCharData", "TargetWithNullCharData",
                 "QueryStringWithNullCharData"):
        for t in strings(member(data, name)):
            s = "GET %s HTTP/1.1\r\n" % t
            case(cases, "%s %r" % (name, s), name, s, "reject", 400)
    # TargetInvalidData: Http1ConnectionTests (its TargetInvalidData theories), 400.
    for m, t in rows(member(data, "TargetInvalidData")):
        s = "%s %s HTTP/1.1\r\n" % (m, t)
        case(cases, "TargetInvalidData %r" % s, "TargetInvalidData", s, "reject", 400)
    # MethodNotAllowedRequestLine: Http1ConnectionTests (MethodNotAllowedTargetData), 405.
    body = member(data, "MethodNotAllowedRequestLine")
    ms = local_array(body, "methods")
    for m in ms:
        if m != "OPTIONS":
            s = "%s * HTTP/1.1\r\n" % m
            case(cases, "MethodNotAllowedRequestLine %r" % s, "MethodNotAllowedRequestLine",
                 s, "reject", 405)
    for m in ms:
        if m != "CONNECT":
            s = "%s www.example.com:80 HTTP/1.1\r\n" % m
            case(cases, "MethodNotAllowedRequestLine %r" % s, "MethodNotAllowedRequestLine",
                 s, "reject", 405)
    # RequestHeaderInvalidData: BadHttpRequestTests.TestInvalidHeaders, 400.
    for name in ("RequestHeaderInvalidData", "RequestHeaderInvalidDataLineFeedTerminator"):
        for r in rows(member(data, name)):
            s = "GET / HTTP/1.1\r\n" + r[0]
            case(cases, "%s %r" % (name, r[0]), name, s, "reject", 400,
                 note="LF terminators disabled" if "LineFeed" in name else None)
    # HostHeaderData: valid Host values for their targets (accepted).
    for t, h in rows(member(data, "HostHeaderData")):
        s = "%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (t, h)
        case(cases, "HostHeaderData %r" % s, "HostHeaderData", s, "accept",
             method=t.split(" ")[0], target=t.split(" ")[1])
    # HostHeaderInvalidData: BadRequestIfHostHeaderDoesNotMatchRequestTarget, 400.
    for t, h in _host_invalid(data):
        s = "%s HTTP/1.1\r\nHost: %s\r\n\r\n" % (t, h)
        case(cases, "HostHeaderInvalidData %r" % s, "HostHeaderInvalidData", s, "reject", 400)

    # The two test files are read when present.
    for path, add in ((PARSER_TESTS, parser_cases), (BAD_TESTS, bad_request_cases)):
        try:
            text = src.read_bytes(path).decode("utf-8")
        except Exception:
            text = None
        if text:
            add(cases, text)
    return cases


def _host_invalid(data):
    """HostHeaderInvalidData: each value of `invalidHostValues` with the two targets of the
    loop, then the `data.Add` rows after it."""
    body = member(data, "HostHeaderInvalidData")
    hosts = local_array(body, "invalidHostValues")
    loop_targets = [r[0] for r in rows(body[:body.find("foreach")] + body[body.find("foreach"):body.find("port mismatch")])]
    out = [(t, h) for h in hosts for t in loop_targets]
    out += [tuple(r) for r in rows(body[body.find("port mismatch"):])]
    return out


def parser_cases(cases, text):
    """The InlineData theories of HttpParserTests.cs. Header blocks follow a request line
    `GET / HTTP/1.1` (the Host check is then the core's, as for every other corpus)."""
    line = "GET / HTTP/1.1\r\n"
    g = "HttpParserTests"
    for r in inline_rows(text, "ParseHeadersReturnsFalseWhenGivenIncompleteHeaders"):
        case(cases, "ParseHeadersReturnsFalseWhenGivenIncompleteHeaders %r" % r[0], g,
             line + r[0], "incomplete")

    def pairs(r):
        return [(n, v) for n, v in ((r[1], r[2]), (r[3], r[4])) if n is not None]
    for name, expect, opt in (
            ("ParseHeadersCanParseEmptyHeaderValues", "accept", None),
            ("ParseHeadersCantParseSingleLineFeedWihtoutLineFeedTerminatorEnabled", "reject", None),
            ("ParseHeadersCantEndWithLineFeedTerminator", "reject", None),
            ("ParseHeadersCanParseSingleLineFeedWithLineFeedTerminatorEnabled", "accept",
             "LF terminators allowed (quirk mode)"),
            ("ParseHeadersCanEndAfterLineFeedTerminator", "accept",
             "LF terminators allowed (quirk mode)")):
        for r in inline_rows(text, name):
            case(cases, "%s %r" % (name, r[0]), g, line + r[0], expect,
                 400 if expect == "reject" else None,
                 headers=pairs(r) if expect == "accept" else None, optional=opt)
    # VerifyHeader: `Header:{raw}\r\n` gives `Header` = the expected value.
    for name, same in (("ParseHeadersDoesNotIncludeLeadingWhitespaceInHeaderValue", False),
                       ("ParseHeadersDoesNotIncludeTrailingWhitespaceInHeaderValue", False),
                       ("ParseHeadersPreservesWhitespaceWithinHeaderValue", True)):
        for r in inline_rows(text, name):
            case(cases, "%s %r" % (name, r[0]), g, line + "Header:%s\r\n\r\n" % r[0], "accept",
                 headers=[("Header", r[0] if same else "value")])
    for r in inline_rows(text, "ParseHeadersWithGratuitouslySplitBuffers"):
        case(cases, "ParseHeadersWithGratuitouslySplitBuffers %r" % r[0], g, line + r[0],
             "accept")
    for r in inline_rows(text, "ParseHeaderLineIncompleteData"):
        case(cases, "ParseHeaderLineIncompleteData %r" % r[0], g, line + r[0], "incomplete")
    for r in inline_rows(text, "ParseHeadersWithGratuitouslySplitBuffersQuirkMode"):
        case(cases, "ParseHeadersWithGratuitouslySplitBuffersQuirkMode %r" % r[0], g,
             line + r[0], "accept", optional="LF terminators allowed (quirk mode)")
    _, body = method_source(text, "StartOfPathNotFound")
    if body:
        case(cases, "StartOfPathNotFound", g, strings(body)[0], "reject", 400)
    _, body = method_source(text, "ExceptionDetailNotIncludedWhenLogLevelInformationNotEnabled")
    if body:
        lits = [s for s in strings(body) if s.endswith("\n")]
        case(cases, "ExceptionDetail... %r" % lits[0], g, lits[0], "reject", 400)
        case(cases, "ExceptionDetail... %r" % lits[1], g, lits[1], "reject", 505)
        case(cases, "ExceptionDetail... %r" % lits[2], g, line + lits[2], "reject", 400)
    _, body = method_source(text, "ParseRequestLineTlsOverHttp")
    if body:
        m = re.search(r"new byte\[\] \{([^}]*)\}", body)
        raw = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]+)", m.group(1)))
        case(cases, "ParseRequestLineTlsOverHttp", g, raw, "reject", 400)


def bad_request_cases(cases, text):
    """BadHttpRequestTests.cs: the whole requests TestBadRequest sends (interpolation holes
    filled from the InlineData rows), and the SendAll sequences of the tests that expect
    them to be read."""
    g = "BadHttpRequestTests"

    def fill(template, names, values):
        for n, v in zip(names, values):
            template = template.replace("{%s}" % n, v)
        return template

    for name in ("BadRequestIfMethodRequiresLengthButNoContentLengthInHttp10Request",
                 "BadRequestIfContentLengthInvalid", "RejectsIncorrectMethods",
                 "BadRequestIfHostHeaderMissing", "BadRequestIfMultipleHostHeaders",
                 "BadRequestFor10BadHostHeaderFormat", "BadRequestFor11BadHostHeaderFormat",
                 "BadRequestForAbsoluteFormTargetWithNonAsciiChars"):
        attrs, body = method_source(text, name)
        if body is None:
            continue
        names = re.findall(r"string (\w+)", body[:body.find(")")])
        call = body[body.find("TestBadRequest("):]
        lits = strings(call)
        template, status = lits[0], int(lits[1].split(" ")[0])
        for vals in inline_rows(text, name) or [[]]:
            s = fill(template, names, vals)
            case(cases, "%s %r" % (name, s), g, s, "reject", status)
    # BadRequestWhenHeaderNameContainsNonASCIIOrNullCharacters: each BadHeaderData header.
    try:
        hdrs = [r[1] for r in rows(member(text, "BadHeaderData"))]
    except KeyError:
        hdrs = []
    for h in hdrs:
        s = "GET / HTTP/1.1\r\n%s\r\n\r\n" % h
        case(cases, "BadRequestWhenHeaderNameContainsNonASCIIOrNullCharacters %r" % h, g, s,
             "reject", 400)
    _, body = method_source(text, "TestRequestSplitting")
    if body:
        call = body[body.find("SendAll("):body.find(");")]
        case(cases, "TestRequestSplitting", g, send_all(strings(call)), "reject", 400)
    # Extra empty lines (and bare CR / LF) between and after requests: both requests read.
    for name, n in (("ExtraLinesBetweenRequestsIgnored", 2),
                    ("ExtraLinesAtEndOfConnectionIgnored", 1)):
        _, body = method_source(text, name)
        if body is None:
            continue
        sends = [m.start() for m in re.finditer(r"SendAll\(", body)]
        for (extra,) in inline_rows(text, name):
            data = ""
            for k in sends[:n]:
                lits = [extra if s == "extraLines" else s for s in
                        _args(body[k:body.find(");", k)])]
                data += send_all(lits)
            case(cases, "%s %r" % (name, extra), g, data, "accept", requests=n, method="POST")
    _, body = method_source(text, "ExtraLinesIgnoredBetweenAdjacentRequests")
    if body:
        data = ""
        for k in [m.start() for m in re.finditer(r"SendAll\(", body)]:
            data += send_all(strings(body[k:body.find(");", k)]))
        case(cases, "ExtraLinesIgnoredBetweenAdjacentRequests", g, data, "accept", requests=2,
             method="POST")


def _args(call):
    """The arguments of a SendAll call: string literals, and the identifier `extraLines`."""
    out = []
    lits = {s: v for v, s in cs_literals(call)}
    i = call.find("(") + 1
    for tok in re.finditer(r'[$@]*"|\bextraLines\b', call[i:]):
        p = tok.start() + i
        if tok.group(0) == "extraLines":
            out.append("extraLines")
        elif p in lits:
            out.append(lits[p])
    # drop literals that sit inside other literals (the reader gives each once, by start)
    return out


# ---------------------------------------------------------------- running and judging

def judge(c, h1dump, data):
    whole = run_h1dump(h1dump, "server", None, data, 0)
    byte = run_h1dump(h1dump, "server", None, data, 1)
    ev = read_events(whole, data)
    late = None
    reqs = [m for m in ev["msgs"] if m["kind"] == "request"]
    if not reqs and ev["eof"] and not ev["error"]:
        ended = end_head(data)
        lw = run_h1dump(h1dump, "server", None, ended, 0)
        lb = run_h1dump(h1dump, "server", None, ended, 1)
        le = read_events(lw, ended)
        late = le["failure"] or "accepted"
        if lw != lb:
            byte = whole + "!late differs"
        late_ev = le
    else:
        late_ev = None
    diffs = []
    if c["expect"] == "incomplete":
        agree = not reqs and not ev["error"]
        verdict = "incomplete" if agree else ("accepted" if reqs else "refused")
    elif c["expect"] == "reject":
        refused = bool(ev["error"]) and len(reqs) == 0 or bool(
            ev["error"] and len(reqs) < c["requests"])
        if not refused and late_ev is not None and late_ev["error"] and \
                "missing Host" not in late_ev["error"]:
            refused = True
        agree = refused
        verdict = "refused" if refused else ("accepted" if reqs else "incomplete")
    else:
        ok = len(reqs) == c["requests"] and not ev["error"] and not ev["eof"]
        if ok:
            r = reqs[0]
            if c["method"] and r["method"] != c["method"]:
                diffs.append("method %r" % r["method"])
            if c["target"] is not None and r["target"] != c["target"].encode("latin-1"):
                diffs.append("target %r" % r["target"])
            if c["version"] and "HTTP/" + r["version"] != c["version"]:
                diffs.append("version %r" % r["version"])
            for n, v in c["headers"] or []:
                got = [hv for hn, hv in r["headers"] if hn == n.lower().encode()]
                if got != [v.encode("latin-1")]:
                    diffs.append("%s: %r" % (n, got))
        agree = ok and not diffs
        verdict = "accepted" if reqs and not ev["error"] and not ev["eof"] else (
            "refused" if ev["error"] else "incomplete")
    status = None
    if ev["error"]:
        status = int(re.search(r"\((\d+)\)$", ev["failure"]).group(1))
    elif late_ev is not None and late_ev["error"]:
        status = int(re.search(r"\((\d+)\)$", late_ev["failure"]).group(1))
    return {"agree": agree, "verdict": verdict, "ours": ev["failure"] or verdict,
            "late": late, "diffs": diffs, "status": status, "whole": whole,
            "split_consistent": whole == byte, "crash": None}


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("aspnetcore", "dotnet/aspnetcore checkout, "
                                              "git dir, or directory with the files"))
    args = ap.parse_args()
    h1dump = find_h1dump(args.h1dump)
    src = Source(args.aspnetcore, args.rev, DATA)
    cases = build(src)
    print("aspnetcore: %s" % src.commit())
    for c in cases:
        c["plain"] = judge(c, h1dump, c["input"])
        hosted, points = add_host(c["input"], HOST)
        c["host_added"] = bool(points)
        c["hosted"] = judge(c, h1dump, hosted) if points else c["plain"]
    counted = [c for c in cases if not c["optional"]]
    optional = [c for c in cases if c["optional"]]
    groups = []
    for c in counted:
        if c["group"] not in groups:
            groups.append(c["group"])
    row = h1dump_io.summary_table(44, "set")
    for g in groups:
        row(g, [c for c in counted if c["group"] == g])
    row("all", counted)
    row("(not counted) LF-terminator quirk mode", optional)
    both = [c for c in counted if c["expect"] == "reject" and c["hosted"]["agree"]]
    same = [c for c in both if c["hosted"]["status"] == c["status"]]
    print("refused by both (Host supplied): %d, with Kestrel's status: %d" % (len(both), len(same)))
    for c in both:
        if c["hosted"]["status"] != c["status"]:
            print("  status: Kestrel %s, ours %s: %s" % (c["status"], c["hosted"]["status"], c["id"]))
    bad = h1dump_io.print_consistency(cases)
    print()

    def show(c, verbose):
        if c["plain"]["agree"] and c["hosted"]["agree"] and not verbose:
            return
        print("  %s %s  [Kestrel: %s%s]" % (h1dump_io.mark(c["plain"], c["hosted"]), c["id"],
                                            c["expect"], " %s" % c["status"] if c["status"] else ""))
        h1dump_io.print_ours(c["plain"], c["hosted"], c["host_added"])
    h1dump_io.print_disagreements(counted, show, args.verbose,
                                  ("LF-terminator quirk mode cases (not counted):", optional))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
