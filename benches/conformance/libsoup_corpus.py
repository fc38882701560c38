#!/usr/bin/env python3
"""Run libsoup's header-parsing tables (tests/header-parsing-test.c) through h1dump.

    cargo build --example h1dump
    python3 benches/conformance/libsoup_corpus.py LIBSOUP [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

LIBSOUP is a libsoup checkout (a directory with tests/header-parsing-test.c) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the C file is read at run time and its two tables, reqtests[] and
resptests[], decoded with the C tokenizer of http_parser_corpus.py (imported).

What is run. Each entry of reqtests[] is one call of soup_headers_parse_request() on the
entry's literal (sized with strlen, or with the entry's length when it gives one: embedded
NULs and the char arrays of the file are taken whole); each entry of resptests[] is one
call of soup_headers_parse_response(). Those functions parse a head that libsoup's I/O
layer has already cut out of the stream: soup_message_io_data_read_headers() reads lines
up to the empty one and hands over what came before it, the last line's LF included and
the empty line left out (or, when the peer closes first, whatever came). So:

  * an input that ends with LF is fed followed by CRLF (the empty line libsoup's reader
    took off); request entries with `h1dump --role server`, response entries with
    `--role client` (the request answered is a GET that offers an upgrade to h2c, as
    h1dump's client role does);
  * an input that does not end with LF ("No terminating CRLF", a truncated status line or
    field) is what libsoup parses when the peer closes mid-head: it is fed as is, and the
    end of input follows.

One entry, "Header fileds too large", gives a length ((18 + 256) * 1024 bytes) far beyond
its literal (`GET / HTTP/1.1\\r\\n`): libsoup refuses it on the length alone, before reading
(MAX_HEADERS_BUFFER_SIZE). It is fed as the literal followed by well-formed fields
(`X-Filler-N: aaa...\\r\\n`, about 1 KiB each) up to that length, then the empty line.
Likewise for the response entry of that name. Three entries with a NUL in the request line
give a length two bytes longer than their literal (which libsoup refuses for the NUL, the
bytes past it being whatever memory follows): they are fed as the literal alone.

How a verdict maps to ours (each input whole and with --split 1, then the end of input):

  request, status 2xx (SOUP_STATUS_OK)
        we deliver exactly one request head, with no error before it; its method, target
        and version (SOUP_HTTP_1_0 is "1.0", SOUP_HTTP_1_1 "1.1") match the entry's, and
        its fields match the entry's header list as check_headers() reads it: the set of
        distinct names (case-insensitively) is the same, and for each name the values
        of its lines joined with ", " (soup_message_headers_get_list) is the entry's value;
        a name listed with a NULL value must be absent. Content-Length lines are compared
        by their decimal value (libsoup keeps one value for identical ones, `04` and `4`;
        the core reports every line and frames by the common value). The order of names is not compared
        (check_headers compares it with libsoup's own storage order, which puts its known
        headers first). A body the head announces and the input lacks is not judged (the
        corpus is about heads): the end of input inside it is not a refusal.
  request, any other status (400, 417, 505)
        we refuse the input: an error before any request is delivered, or the end of
        input in the middle of the head (what libsoup parses then is a truncated head).
        The status hint of our error is shown next to libsoup's status; a different code
        (400 vs 505, 417) is listed in the summary but does not make a disagreement.
  response, reason_phrase non-NULL (parses)
        we deliver a response (or an informational 1xx) head with no error before it; its
        version, status, reason and fields match as above.
  response, reason_phrase NULL (must not parse)
        we deliver no response head: an error, or the end of input inside the head.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; the added field is left out of the
comparison), and also to an HTTP/1.x request with x > 1, which the core processes as
HTTP/1.1 (RFC 9110 §2.5), so that "HTTP 1.2 request" is judged on its version. Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must
not fail; any case where either happens is listed first, as a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
import http_parser_corpus as hp  # noqa: E402  (its C tokenizer: hp.tokenize)
from h1dump_io import Source, read_events  # noqa: E402

FILE = "tests/header-parsing-test.c"
HOST = b"Host: libsoup.invalid\r\n"
HOST_FIELD = (b"host", b"libsoup.invalid")
STATUS = {"SOUP_STATUS_OK": 200, "SOUP_STATUS_BAD_REQUEST": 400,
          "SOUP_STATUS_HTTP_VERSION_NOT_SUPPORTED": 505,
          "SOUP_STATUS_EXPECTATION_FAILED": 417, "SOUP_STATUS_SWITCHING_PROTOCOLS": 101}
VERSION = {"SOUP_HTTP_1_0": "1.0", "SOUP_HTTP_1_1": "1.1"}


class Corpus(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, FILE)


# ---------------------------------------------------------------------------- corpus


def group(toks, i):
    """The brace initializer whose '{' is toks[i]: a list of elements, each a nested list
    (a brace group) or a token list; and the index after its '}'."""
    assert toks[i][1] == "{", toks[i]
    items, cur = [], []
    i += 1
    while True:
        kind, value, _ = toks[i]
        if kind == "p" and value == "{":
            sub, i = group(toks, i)
            cur = sub
            continue
        if kind == "p" and value in (",", "}"):
            if cur != []:
                items.append(cur)
            cur = []
            i += 1
            if value == "}":
                return items, i
            continue
        cur.append(toks[i])
        i += 1


def table(toks, name):
    for i in range(len(toks) - 4):
        if toks[i][:2] == ("id", name) and [t[1] for t in toks[i + 1:i + 4]] == ["[", "]", "="]:
            return group(toks, i + 4)[0], toks[i][2]
    raise ValueError("%s changed: no table %s" % (FILE, name))


def char_arrays(toks):
    """The `static char NAME[] = { 'c', ... };` arrays, as bytes."""
    out = {}
    for i in range(len(toks) - 5):
        if toks[i][:2] == ("id", "char") and toks[i + 1][0] == "id" and \
                [t[1] for t in toks[i + 2:i + 5]] == ["[", "]", "="] and toks[i + 5][1] == "{":
            items, _ = group(toks, i + 5)
            if all(len(x) == 1 and x[0][0] == "chr" for x in items):
                out[toks[i + 1][1]] = b"".join(x[0][1] for x in items)
    return out


def literal(expr, arrays, what):
    """A string expression: adjacent literals, an array name, or NULL (None)."""
    if isinstance(expr, list) and expr and all(t[0] == "str" for t in expr):
        return b"".join(t[1] for t in expr)
    if len(expr) == 1 and expr[0][0] == "id":
        if expr[0][1] == "NULL":
            return None
        if expr[0][1] in arrays:
            return arrays[expr[0][1]]
    raise ValueError("%s not understood: %r" % (what, expr))


def integer(expr, arrays, what):
    """An integer expression: numbers, + - * ( ), sizeof (array)."""
    text = ""
    i = 0
    while i < len(expr):
        kind, value, _ = expr[i]
        if kind == "id" and value == "sizeof":
            name = expr[i + 2][1]
            text += str(len(arrays[name]))
            i += 4
            continue
        if kind == "num" or (kind == "p" and value in "()+-*"):
            text += str(value)
        else:
            raise ValueError("%s not understood: %r" % (what, expr))
        i += 1
    return eval(text, {"__builtins__": {}})  # digits and operators only


def symbol(expr, table_, what):
    text = "".join(str(t[1]) for t in expr)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text in table_:
        return table_[text]
    raise ValueError("%s not understood: %s" % (what, text))


def header_list(items, arrays):
    out = []
    for h in items:
        if not isinstance(h, list) or not h or not isinstance(h[0], list):
            raise ValueError("header entry not understood: %r" % (h,))
        name = literal(h[0], arrays, "header name")
        if name is None:
            break
        value = literal(h[1], arrays, "header value") if len(h) > 1 else None
        out.append((name, value))
    return out


def filler(start, length):
    """`start` followed by well-formed fields up to `length` bytes (see the docstring)."""
    out, n = bytearray(start), 0
    while len(out) < length:
        head = b"X-Filler-%d: " % n
        room = length - len(out) - len(head) - 2
        if room < 1:
            out += b"\r\n" * ((length - len(out)) // 2) + b" " * ((length - len(out)) % 2)
            break
        out += head + b"a" * min(1000, room) + b"\r\n"
        n += 1
    return bytes(out[:length])


def sized(data, length):
    if length == -1:
        return data.split(b"\0")[0]
    if length <= len(data):
        return data[:length]
    if length - len(data) < 64:
        return data  # a miscounted length: the bytes past the literal are not the test's
    return filler(data, length)


def cases(src):
    toks = hp.tokenize(src, False)
    arrays = char_arrays(toks)
    out = []
    req, _ = table(toks, "reqtests")
    for e in req:
        if len(e) < 9:
            raise ValueError("reqtests entry not understood: %r" % (e,))
        data = literal(e[2], arrays, "request")
        length = integer(e[3], arrays, "length")
        status = symbol(e[4], STATUS, "status")
        out.append({
            "table": "request", "line": e[0][0][2],
            "name": literal(e[0], arrays, "description").decode("utf-8", "replace"),
            "raw": data, "length": length, "data": sized(data, length), "status": status,
            "method": literal(e[5], arrays, "method"), "path": literal(e[6], arrays, "path"),
            "version": symbol(e[7], VERSION, "version"),
            "headers": header_list(e[8], arrays), "accept": 200 <= status < 300,
            "role": "server"})
    resp, _ = table(toks, "resptests")
    for e in resp:
        if len(e) < 8:
            raise ValueError("resptests entry not understood: %r" % (e,))
        data = literal(e[2], arrays, "response")
        length = integer(e[3], arrays, "length")
        reason = literal(e[6], arrays, "reason_phrase")
        out.append({
            "table": "response", "line": e[0][0][2],
            "name": literal(e[0], arrays, "description").decode("utf-8", "replace"),
            "raw": data, "length": length, "data": sized(data, length),
            "version": symbol(e[4], VERSION, "version"),
            "status": symbol(e[5], STATUS, "status code"), "reason": reason,
            "headers": header_list(e[7], arrays), "accept": reason is not None,
            "role": "client"})
    for c in out:
        d = c["data"]
        c["truncated"] = not d.endswith(b"\n")
        c["input"] = d if c["truncated"] else d + b"\r\n"
    return out


# ------------------------------------------------------------------- expectations


def soup_says(c):
    if c["table"] == "request":
        if not c["accept"]:
            return "refuses (%d)" % c["status"]
        return "%d: %s %r HTTP/%s, fields %r" % (c["status"], c["method"].decode(), c["path"],
                                                   c["version"], c["headers"])
    if not c["accept"]:
        return "does not parse"
    return "parses: HTTP/%s %d %r, fields %r" % (c["version"], c["status"], c["reason"],
                                                  c["headers"])


def joined(headers):
    names, vals = [], {}
    for n, v in headers:
        if n not in vals:
            names.append(n)
            vals[n] = []
        vals[n].append(v)
    return {n: b", ".join(v) for n, v in vals.items()}


def compare(c, msg):
    diffs = []
    if c["table"] == "request":
        if (msg["method"] or "").encode("latin-1") != c["method"]:
            diffs.append("method %r vs %r" % (c["method"], msg["method"]))
        if msg["target"] != c["path"]:
            diffs.append("target %r vs %r" % (c["path"], msg["target"]))
    else:
        if msg["status"] != c["status"]:
            diffs.append("status %r vs %r" % (c["status"], msg["status"]))
        if msg["reason"] != c["reason"]:
            diffs.append("reason %r vs %r" % (c["reason"], msg["reason"]))
    if msg["version"] != c["version"]:
        diffs.append("version %r vs %r" % (c["version"], msg["version"]))
    ours = joined(msg["headers"])
    want = {n.lower(): v for n, v in c["headers"]}
    cls = [v for n, v in msg["headers"] if n == b"content-length"]
    if cls and want.get(b"content-length") and all(v.isdigit() for v in cls) and \
            len({int(v) for v in cls + [want[b"content-length"]]}) == 1:
        ours[b"content-length"] = want[b"content-length"]  # the same decimal value
    for n, v in want.items():
        if v is None:
            if n in ours:
                diffs.append("field %r should be absent, ours %r" % (n, ours[n]))
        elif n not in ours:
            diffs.append("field %r missing (libsoup %r)" % (n, v))
        elif ours[n] != v:
            diffs.append("field %r: %r vs %r" % (n, v, ours[n]))
    extra = [n for n in ours if n not in want]
    if extra:
        diffs.append("fields libsoup does not have: %r" % {n: ours[n] for n in extra})
    return diffs


# ------------------------------------------------------------------------ our side


def judge(h1dump, c, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, c["role"], fed, points, HOST_FIELD)
    msgs, diffs, late, hint = ours["msgs"], [], None, h1dump_io.status_hint(ours)
    if ours["crash"]:
        agree = False
    elif c["accept"]:
        agree = len(msgs) >= 1 and not (ours["error"] and len(msgs) == 0)
        if msgs:
            diffs = compare(c, msgs[0])
            agree = agree and not diffs
        else:
            agree = False
    else:
        agree = not msgs and bool(ours["error"] or ours["eof"])
        if not msgs and ours["eof"] and not ours["error"]:
            probe = read_events(h1dump_io.run_or_crash(
                h1dump, c["role"], h1dump_io.end_head(fed), 0)[0], fed)
            late = probe["error"] or "accepted"
    return h1dump_io.verdict(agree, late, ours, diffs, runs, {"hint": hint})


HTTP1X_LINE = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [!-~]+ HTTP/1\.[1-9]\r?\n")


def add_host(data):
    """h1dump_io.add_host, and also after an HTTP/1.x request line with x > 1 (processed
    as HTTP/1.1, so it needs a Host too: "HTTP 1.2 request")."""
    out, points = h1dump_io.add_host(data, HOST)
    if points or re.search(rb"(?i)(^|\n)host[ \t]*:", data):
        return out, points
    m = HTTP1X_LINE.match(data)
    if m:
        return data[:m.end()] + HOST + data[m.end():], [m.end()]
    return data, []


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("libsoup", "libsoup checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.libsoup, args.rev)
    all_cases = cases(corpus.read_bytes(FILE))

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, add_host if c["role"] == "server" else lambda d: (d, []))
        results.append({
            "line": c["line"], "table": c["table"], "name": c["name"], "role": c["role"],
            "input": c["input"].decode("latin-1"), "truncated": c["truncated"],
            "libsoup": soup_says(c), "accept": c["accept"],
            "status": c["status"] if c["table"] == "request" else None,
            "plain": plain, "hosted": hosted, "host_added": host_added})

    print("libsoup: %s (%s)" % (corpus.commit(), args.libsoup))
    print()
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "%s:%d [%s] %s" % (FILE, r["line"], r["table"], r["name"]))

    def label(r):
        return "header-parsing-test.c:%d [%s] %s" % (r["line"], r["table"], r["name"])

    def note(r):
        return "(no LF at the end: libsoup parses it at a close mid-head)" if r["truncated"] else None

    show = h1dump_io.show_case(label, "libsoup", note)

    h1dump_io.print_disagreements(results, show, args.verbose)

    codes = [r for r in results if r["table"] == "request" and not r["accept"]
             and r["hosted"]["agree"] and r["hosted"]["hint"] is not None
             and r["hosted"]["hint"] != r["status"]]
    if codes:
        print("refused by both, with another status (with Host supplied; not counted):")
        for r in codes:
            print("  %s:%d %s: libsoup %d, ours %d" % ("header-parsing-test.c", r["line"],
                                                      r["name"], r["status"],
                                                      r["hosted"]["hint"]))
        print()

    print("cases: %d; Host supplied in %d" % (len(results),
                                              sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(10, "table")
    for t in ("request", "response"):
        row(t, [r for r in results if r["table"] == t])
    row("all", results)
    h1dump_io.print_verdict_counts(results, lambda r: r["accept"], ((True, "accepts"), (False, "refuses")),
                                   "libsoup", 8)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
