#!/usr/bin/env python3
"""Run Apache httpd's strict-parsing test (t/apache/http_strict.t of httpd-tests) through
h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/apache_corpus.py HTTPD_TESTS [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

HTTPD_TESTS is an httpd-tests checkout (a directory with t/apache/http_strict.t) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the test's `@test_cases` table is read at run time (Perl double-quoted strings
with their escapes, joined by `.`). Each row is a request httpd is sent whole, then the end
of input, and what it must answer in two configurations: `HttpProtocolOptions Unsafe` and
`Strict` (the default since 2.4.25), the second column when the row has one:

  1     any success (2xx or 3xx)           0     any error (4xx or 5xx)
  NNN   that status                         90    an HTTP/0.9 answer
  undef the connection dropped with no answer

How that maps to ours (the input through `h1dump --role server`, whole and with --split 1,
then the end of input; its first request judged): a success is a request delivered with no
error before its end; an error is a refusal, and where a status is named our status hint
must be it; a dropped connection is a refusal (we answer it, httpd does not: counted as
agreeing, and listed). An input that stops inside a head is refused by httpd at the byte
that breaks the request line; the core judges the head once it is complete, so such an
input is judged with the missing part of CRLF CRLF added, as in the other corpus scripts.
The rows that test httpd's response fields (`R...`, its CGI output) and its own regressions
(`/regression-header`) are not about parsing requests, and are not run.

The figure is given for each configuration, with a `Host` field supplied to the HTTP/1.1
requests that have none (the core refuses those, RFC 9112 §3.2; every row but one is
HTTP/1.0, where Host is optional). Whole and byte-by-byte outputs of h1dump must be
identical, and h1dump must not fail; any case where either happens is listed first.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events  # noqa: E402

PATH = "t/apache/http_strict.t"
HOST = b"Host: apache.invalid\r\n"
HOST_FIELD = (b"host", b"apache.invalid")
COLUMNS = ("unsafe", "strict")
ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "f": b"\f", "\\": b"\\",
           '"': b'"', "@": b"@", "$": b"$"}


def perl_string(body):
    """The bytes of a Perl double-quoted string's body."""
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("latin-1")
            i += 1
        elif body[i + 1] == "x":
            m = re.match(r"[0-9A-Fa-f]{1,2}", body[i + 2:])
            out.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        else:
            out += ESCAPES[body[i + 1]]
            i += 2
    return bytes(out)


def rows(source):
    """The `@test_cases` rows: (line, request bytes, [expectations], condition or None)."""
    start = source.index("my @test_cases = (")
    block = source[start:source.index("\n);", start)]
    first = source[:start].count("\n") + 1
    out = []
    for m in re.finditer(r"\[(.*?)\],", block, re.S):
        text = m.group(1)
        line = first + block[:m.start()].count("\n")
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', text.split("=>")[0])
        data = b"".join(perl_string(s) for s in strings)
        values = [v.strip() for v in text.split("=>", 1)[1].split(",")]
        expect = [None if v == "undef" else int(v) if re.fullmatch(r"\d+", v) else v
                  for v in values if v]
        cond = expect[2] if len(expect) > 2 else None
        out.append((line, data, expect[:2], cond))
    return out


def outcome(expect):
    if expect is None:
        return "drops the connection"
    return {0: "an error", 1: "a success", 90: "an HTTP/0.9 answer"}.get(
        expect, "status %s" % expect)


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    first = read_events(whole, fed, first_only=True)
    late, hint = None, h1dump_io.status_hint(ours)
    refused = not first["ended"] and bool(ours["error"])
    if ours["crash"]:
        answer = None
    elif ours["msgs"] and first["ended"]:
        answer = "success"
    elif refused:
        answer = hint
    else:
        # The input stops inside the head (or its body): judged once the head is ended.
        probe = read_events(h1dump_io.run_or_crash(
            h1dump, "server", h1dump_io.end_head(fed), 0)[0], fed, first_only=True)
        late = probe["error"] or "accepted"
        answer = "success" if probe["ended"] else h1dump_io.status_hint(probe)
    agree = {}
    for column, expect in zip(COLUMNS, case["expect"]):
        if answer is None:
            agree[column] = False
        elif expect in (1, 90):
            agree[column] = answer == "success"
        elif expect is None or expect == 0:
            agree[column] = answer != "success"
        else:
            agree[column] = answer == expect if expect != 200 else answer == "success"
    out = h1dump_io.verdict(agree["strict"], late, ours, [], runs, {"hint": hint})
    out["agree_unsafe"] = agree["unsafe"]
    return out


def label(r, j=None):
    return "http_strict.t:%d" % r["line"]


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("httpd_tests", "httpd-tests checkout or bare "
                                              "git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.httpd_tests, args.rev, PATH)
    results, skipped = [], []
    for line, data, expect, cond in rows(corpus.read_bytes(PATH).decode("latin-1")):
        if data.startswith(b"R") or b"/regression-header" in data:
            skipped.append((line, data))
            continue
        expect = expect + [expect[0]] if len(expect) == 1 else expect
        case = {"input": data, "expect": expect}
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, case, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"line": line, "input": data.decode("latin-1"), "expect": expect,
                        "condition": cond, "apache": "unsafe: %s; strict: %s" % (
                            outcome(expect[0]), outcome(expect[1])),
                        "plain": plain, "hosted": hosted, "host_added": host_added})

    print("httpd-tests: %s (%s)" % (corpus.commit(), args.httpd_tests))
    print("rows not run (%d): the response-field rows (R...) and /regression-header" %
          len(skipped))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(results, h1dump_io.show_case(label, "apache"), args.verbose)
    dropped = [r for r in results if r["expect"][1] is None and r["hosted"]["agree"]]
    if dropped:
        print("httpd drops the connection, we refuse with a status (counted as agreeing):")
        for r in dropped:
            print("  %s: %r, %s" % (label(r), r["input"][:60], r["hosted"]["ours"]))
        print()
    unsafe = [r for r in results if r["hosted"]["agree_unsafe"]]
    print("cases: %d; Host supplied in %d" % (len(results), sum(r["host_added"] for r in
                                                                 results)))
    row = h1dump_io.summary_table(27, "configuration")
    row("HttpProtocolOptions Strict", results)
    print("HttpProtocolOptions Unsafe: %d of %d agree with Host supplied (%.1f%%)" % (
        len(unsafe), len(results), 100.0 * len(unsafe) / len(results)))
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
