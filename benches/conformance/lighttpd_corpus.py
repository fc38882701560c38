#!/usr/bin/env python3
"""Run lighttpd's request-parsing unit test (src/t/test_request.c) through h1dump and
count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/lighttpd_corpus.py LIGHTTPD [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

LIGHTTPD is a lighttpd1.4 checkout (a directory with src/t/test_request.c) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: each `run_http_request_parse(r, __LINE__, STATUS, "what", CONST_STR_LEN(...))`
call is read at run time, its C string literals joined and decoded (the decoder of
http_parser_corpus.py). The test runs them with lighttpd's strict options
(HTTP_PARSEOPT_HEADER_STRICT, HOST_STRICT, HOST_NORMALIZE) and expects STATUS: 0 for a
request parsed, or the status lighttpd answers (400, 411, 431, 501...).

How that maps to ours (the head through `h1dump --role server`, whole and with --split 1,
then the end of input): 0 agrees with a request delivered and ended with no error (a
request head that announces a body the input does not hold is judged by its head); any
other status with a refusal of the head. A refusal with another status than lighttpd's is
listed, not counted against us. lighttpd's own checks of the parsed host, target and field
values (`assert(...)` after a call) are not compared: most concern its normalisation
(`%2e` decoded, the host lower-cased) which the core leaves to the application.

The figure is given as is and with a `Host` field supplied to the HTTP/1.1 requests that
have none (the core refuses those, RFC 9112 §3.2; the added field is left out). Whole and
byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any case where
either happens is listed first, as a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source, read_events  # noqa: E402
from http_parser_corpus import decode_c_string  # noqa: E402

PATH = "src/t/test_request.c"
HOST = b"Host: lighttpd.invalid\r\n"
HOST_FIELD = (b"host", b"lighttpd.invalid")
CALL = re.compile(rb'run_http_request_parse\(r, __LINE__, (\d+)(?: /\*\s*(\d+)\s*\*/)?,\s*'
                  rb'"((?:[^"\\]|\\.)*)",\s*(?:/\*.*?\*/\s*)?CONST_STR_LEN\(((?:\s*"(?:[^"\\]|\\.)*")+)\s*\)\);')
LITERAL = re.compile(rb'"((?:[^"\\]|\\.)*)"')


def cases(source):
    """Each call's line, expected status (and the status a comment gives instead), what it
    tests, and its request bytes."""
    out = []
    for m in CALL.finditer(source):
        out.append({"line": source[:m.start()].count(b"\n") + 1,
                    "status": int(m.group(1)),
                    "comment_status": int(m.group(2)) if m.group(2) else None,
                    "what": decode_c_string(m.group(3)).decode("latin-1"),
                    "input": b"".join(decode_c_string(s) for s in
                                      LITERAL.findall(m.group(4)))})
    return out


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    first = read_events(whole, fed, first_only=True)
    hint = h1dump_io.status_hint(ours)
    if ours["crash"]:
        agree = False
    elif case["status"] == 0:
        # The head is what lighttpd parses: a request whose body is not in the input
        # agrees once its head is delivered.
        agree = bool(ours["msgs"]) and (first["ended"] or not ours["error"])
    else:
        agree = not ours["msgs"] and bool(ours["error"])
    return h1dump_io.verdict(agree, None, ours, [], runs, {"hint": hint})


def lighttpd_says(case):
    if case["status"] == 0:
        return "parses it (%s)" % case["what"]
    other = " (a comment says %d)" % case["comment_status"] if case["comment_status"] else ""
    return "answers %d%s (%s)" % (case["status"], other, case["what"])


def label(r, j=None):
    return "test_request.c:%d" % r["line"]


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("lighttpd", "lighttpd1.4 checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.lighttpd, args.rev, PATH)
    source = corpus.read_bytes(PATH)
    found = cases(source)
    calls = source.count(b"run_http_request_parse(r, __LINE__")
    results = []
    for c in found:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"line": c["line"], "input": c["input"].decode("latin-1"),
                        "status": c["status"], "lighttpd": lighttpd_says(c), "plain": plain,
                        "hosted": hosted, "host_added": host_added})

    print("lighttpd: %s (%s)" % (corpus.commit(), args.lighttpd))
    print("calls read: %d of %d" % (len(found), calls))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(results, h1dump_io.show_case(label, "lighttpd"), args.verbose)
    codes = [r for r in results if r["status"] and r["hosted"]["agree"]
             and r["hosted"]["hint"] != r["status"]]
    if codes:
        print("refused by both, with another status (not counted):")
        for r in codes:
            print("  %s: lighttpd %d, ours %s" % (label(r), r["status"], r["hosted"]["hint"]))
        print()
    print("cases: %d; Host supplied in %d" % (len(results), sum(r["host_added"]
                                                                 for r in results)))
    row = h1dump_io.summary_table(24, "expected")
    row("parsed (0)", [r for r in results if r["status"] == 0])
    row("refused", [r for r in results if r["status"] != 0])
    row("all", results)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results)
    return 1 if broken or len(found) != calls else 0


if __name__ == "__main__":
    sys.exit(main())
