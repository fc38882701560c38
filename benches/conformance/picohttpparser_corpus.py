#!/usr/bin/env python3
"""Run h2o/picohttpparser's test.c vectors through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/picohttpparser_corpus.py PICOHTTPPARSER [--rev REV]
                    [--h1dump PATH] [--verbose] [--json OUT]

PICOHTTPPARSER is a picohttpparser checkout (a directory with test.c) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: test.c is read at run time and its C literals decoded with the tokenizer of
http_parser_corpus.py (imported, as h11_differential.py imports it).

What is run. picohttpparser parses heads only; its functions return the length of a complete
head (> 0), -1 (error) or -2 (incomplete). Four tables, one case per call in test.c (the
case is named by its line there):

  request   every PARSE() of test_request(): phr_parse_request() on the literal, which
            test.c sizes with sizeof (embedded NULs included). `h1dump --role server`.
  response  every PARSE() of test_response(): phr_parse_response(). `--role client`
            (the request answered is a GET).
  headers   every PARSE() of test_headers(): phr_parse_headers() on a field section with no
            start line (sized with strlen). Run twice, after `GET / HTTP/1.1\\r\\n` in the
            server role and after `HTTP/1.1 200 OK\\r\\n` in the client role.
  chunked   phr_decode_chunked(): each call of test_chunked() and
            test_chunked_consume_trailer() (one case per vector, not per runner: the
            at-once and per-byte runners are our whole and --split 1 runs), each
            test_chunked_failure() (with size_t of 64 bits), as the body of
            `HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n` in the client role;
            and test_chunked_leftdata(), as the body of a chunked POST (with a Host) in the
            server role: the bytes picohttpparser leaves are the next request, which has
            no Host (and gets none supplied, the input having one); the core's refusal of
            it, after the POST has ended, shows that it was read as the next request.
            Not run: test_chunked_overhead(), whose inputs are written by code and whose
            -1 is picohttpparser's own limit on the ratio of framing to data, a policy and
            not a parsing verdict.

How a verdict maps to ours (each input whole and with --split 1, then the end of input):

  > 0 (complete head)  we give exactly one message and no error, and it matches what
                       test.c asserts about it after the call (`ok(...)`): method, path,
                       minor version (0 is HTTP/1.0, 1 is HTTP/1.1), status, reason
                       (and its length), the number of header fields and each asserted
                       name (case-insensitively) and value. Only what test.c asserts is
                       compared. A continuation line (an entry whose name test.c asserts
                       NULL) is joined to the field before it, and that field's value is
                       compared with runs of SP/HTAB made one SP (RFC 9112 §5.2 replaces
                       an obs-fold by one or more SP).
  -1 (error)           we refuse the input. When the input stops inside a head (we check
                       a head once it is complete), the head is ended (the missing part
                       of CRLF CRLF added) and the case agrees if we then refuse it for a
                       reason other than the missing Host, as in the other corpus scripts.
  -2 (incomplete)      we neither deliver the head nor refuse anything before the end of
                       input: no message, and the only error is the end of input in the
                       middle of a head ("peer closed connection ..."). test.c's
                       assertions on the partial state are not compared.

  chunked cases: expected >= 0 with consume_trailer 0: the data we deliver is the decoded
  string and nothing is refused before the end of input (picohttpparser stops after the
  last-chunk line and leaves the trailer section to its caller, so our message either ends
  or is left waiting in the trailer section); with consume_trailer 1 (and leftdata): the
  message ends, with that data; -2: the data so far is the decoded string (when test.c
  gives one), the message does not end and nothing is refused before the end of input;
  -1: we refuse.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; the added field is left out of the
comparison). Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must
not fail; any case where either happens is listed first, as a bug of ours.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
import http_parser_corpus as hp  # noqa: E402  (its C tokenizer: hp.tokenize)
from h1dump_io import Source, read_events, run_h1dump  # noqa: E402

HOST = b"Host: picohttpparser.invalid\r\n"
HOST_FIELD = (b"host", b"picohttpparser.invalid")
HEADERS_PREFIX = {"server": b"GET / HTTP/1.1\r\n", "client": b"HTTP/1.1 200 OK\r\n"}
CHUNKED_RESPONSE = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_REQUEST = (b"POST / HTTP/1.1\r\nHost: picohttpparser.invalid\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
VERDICT = {-1: "error (-1)", -2: "incomplete (-2)"}


# ---------------------------------------------------------------------------- corpus


class Corpus(Source):
    """picohttpparser's sources, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, "test.c")


def function_tokens(toks, name):
    """The tokens of the body of the function `name` (its definition, not a call)."""
    for i in range(len(toks) - 1):
        if toks[i] == ("id", name, toks[i][2]) and toks[i + 1][1] == "(":
            j, depth = i + 1, 0
            while True:
                depth += {"(": 1, ")": -1}.get(toks[j][1], 0) if toks[j][0] == "p" else 0
                j += 1
                if depth == 0:
                    break
            if toks[j][1] != "{":
                continue
            start, depth = j, 0
            while True:
                if toks[j][0] == "p":
                    depth += {"{": 1, "}": -1}.get(toks[j][1], 0)
                j += 1
                if depth == 0:
                    return toks[start + 1:j - 1]
    raise ValueError("test.c changed: no function %s" % name)


def call_args(toks, i):
    """The arguments (token lists) of the call whose '(' is toks[i], and the index of ')'."""
    args, cur, depth = [], [], 0
    i += 1
    while True:
        t = toks[i]
        if t[0] == "p" and t[1] == "(":
            depth += 1
        elif t[0] == "p" and t[1] == ")":
            if depth == 0:
                args.append(cur)
                return args, i
            depth -= 1
        if t[0] == "p" and t[1] == "," and depth == 0:
            args.append(cur)
            cur = []
        else:
            cur.append(t)
        i += 1


def canon(arg):
    """A token list as text, string literals as $0, $1 ...; and the literals."""
    text, strings = "", []
    for kind, value, _ in arg:
        if kind == "str":
            if text.endswith("$%d" % (len(strings) - 1)) and strings:
                strings[-1] += value  # adjacent literals concatenate
                continue
            text += "$%d" % len(strings)
            strings.append(value)
        else:
            text += str(value)
    return text, strings


def int_expr(arg, what):
    """An integer argument: N, -N, or sizeof("...") - 1 (the length of the literal)."""
    text, strings = canon(arg)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text == "sizeof($0)-1":
        return len(strings[0])
    raise ValueError("line %d: %s not understood: %s" % (arg[0][2], what, text))


def string_arg(arg, what):
    text, strings = canon(arg)
    if text != "$0":
        raise ValueError("line %d: %s is not a string literal: %s" % (arg[0][2], what, text))
    return strings[0]


ASSERTIONS = [  # (pattern over canon(), kind)
    (re.compile(r"(num_headers|minor_version|status)==(-?\d+)"), "int"),
    (re.compile(r"(method|path|msg)==NULL"), "null"),
    (re.compile(r"(headers\[\d+\]\.name)==NULL"), "null"),
    (re.compile(r"bufis\((method|path|msg|headers\[\d+\]\.(?:name|value)),\1_len,\$0\)"), "str"),
    (re.compile(r"(msg_len)==sizeof\(\$0\)-1"), "len"),
]


def assertion(arg):
    """One `ok(...)` after a PARSE(): (subject, kind, value)."""
    text, strings = canon(arg)
    for pattern, kind in ASSERTIONS:
        m = pattern.fullmatch(text)
        if m:
            value = {"int": lambda: int(m.group(2)), "null": lambda: None,
                     "str": lambda: strings[0], "len": lambda: len(strings[0])}[kind]()
            return m.group(1), kind, value
    raise ValueError("line %d: assertion not understood: ok(%s)" % (arg[0][2], text))


def parse_macro(src, func):
    """What the PARSE macro of `func` calls, and how it sizes its input (checked, so that a
    change of test.c is noticed)."""
    body = src[src.index(b"static void %s(void)" % func.encode()):]
    m = re.search(rb"#define PARSE\(s, last_len, exp, comment\)(.*?)\n\s*\} while \(0\)",
                  body, re.S)
    text = re.sub(rb"\s+", b"", m.group(1).replace(b"\\\n", b"")) if m else b""
    shapes = {
        "test_request": (b"slen=sizeof(s)-1;", b"phr_parse_request(inputbuf-slen,slen,",
                         b"==(exp==0?(int)slen:exp)"),
        "test_response": (b"slen=sizeof(s)-1;", b"phr_parse_response(inputbuf-slen,slen,",
                          b"==(exp==0?(int)slen:exp)"),
        "test_headers": (b"phr_parse_headers(s,strlen(s),",
                         b"==(exp==0?(int)strlen(s):exp)"),
    }
    for piece in shapes[func]:
        if piece not in text:
            raise ValueError("test.c changed: the PARSE macro of %s lacks %r" % (func, piece))
    return "strlen" if func == "test_headers" else "sizeof"


def head_cases(src, toks):
    """One case (or two, for test_headers) per PARSE() call."""
    cases = []
    for func, table in (("test_request", "request"), ("test_response", "response"),
                        ("test_headers", "headers")):
        sizing = parse_macro(src, func)
        body = function_tokens(toks, func)
        current = None
        i = 0
        while i < len(body):
            kind, value, line = body[i]
            if kind == "id" and value == "PARSE" and body[i + 1][1] == "(":
                args, i = call_args(body, i + 1)
                if len(args) != 4:
                    raise ValueError("line %d: PARSE with %d arguments" % (line, len(args)))
                data = string_arg(args[0], "PARSE's input")
                if sizing == "strlen":
                    data = data.split(b"\0")[0]
                current = {"line": line, "table": table, "name":
                           string_arg(args[3], "comment").decode("utf-8", "replace"),
                           "data": data, "slowloris": canon(args[1])[0] != "0",
                           "exp": int_expr(args[2], "expected"), "checks": []}
                cases.append(current)
            elif kind == "id" and value == "ok" and body[i + 1][1] == "(":
                args, i = call_args(body, i + 1)
                if current is None or len(args) != 1:
                    raise ValueError("line %d: ok() not after a PARSE()" % line)
                current["checks"].append(assertion(args[0]))
            i += 1
    out = []
    for c in cases:
        c["verdict"] = "complete" if c["exp"] == 0 else {-1: "error", -2: "incomplete"}[c["exp"]]
        if c["exp"] not in (0, -1, -2):
            raise ValueError("line %d: expected value %d" % (c["line"], c["exp"]))
        if c["table"] == "headers":
            for role in ("server", "client"):
                d = dict(c, role=role, input=HEADERS_PREFIX[role] + c["data"],
                         label="headers (%s)" % role)
                out.append(d)
        else:
            out.append(dict(c, role="server" if c["table"] == "request" else "client",
                            input=c["data"], label=c["table"]))
    return out


def chunked_cases(src, toks):
    """The vectors of the chunked decoder's tests (see the docstring)."""
    cases = []
    for func in ("test_chunked", "test_chunked_consume_trailer"):
        body = function_tokens(toks, func)
        for i in range(len(body) - 1):
            kind, value, line = body[i]
            if kind != "id" or body[i + 1][1] not in ("(", "["):
                continue
            if value == "chunked_test_runners":
                if canon(body[i + 1:i + 4])[0] != "[i]" or body[i + 4][1] != "(":
                    continue  # the loop's condition, not a call
                args, _ = call_args(body, i + 4)
                if len(args) != 5 or canon(args[0])[0] != "__LINE__":
                    raise ValueError("line %d: runner call not understood" % line)
                consume = int_expr(args[1], "consume_trailer")
                cases.append({"line": line, "func": func, "consume_trailer": consume,
                              "encoded": string_arg(args[2], "encoded"),
                              "decoded": string_arg(args[3], "decoded"),
                              "exp": int_expr(args[4], "expected")})
            elif value == "test_chunked_failure":
                args, _ = call_args(body, i + 1)
                if len(args) != 3 or canon(args[0])[0] != "__LINE__":
                    raise ValueError("line %d: failure call not understood" % line)
                cases.append({"line": line, "func": value, "consume_trailer": 0,
                              "encoded": string_arg(args[1], "encoded"), "decoded": None,
                              "exp": int_expr(args[2], "expected")})
    # test_chunked_leftdata(): one decoder call on a literal followed by a macro.
    body = src[src.index(b"static void test_chunked_leftdata(void)"):]
    body = body[:body.index(b"\n}\n")]
    m = re.search(rb'#define NEXT_REQ "((?:[^"\\]|\\.)*)"\n.*?dec\.consume_trailer = 1;\s*'
                  rb'char buf\[\] = "((?:[^"\\]|\\.)*)" NEXT_REQ;.*?'
                  rb'ok\(memcmp\(buf, "((?:[^"\\]|\\.)*)", (\d+)\) == 0\);\s*'
                  rb'ok\(ret == sizeof\(NEXT_REQ\) - 1\);', body, re.S)
    if not m:
        raise ValueError("test.c changed: test_chunked_leftdata not understood")
    line = src.count(b"\n", 0, src.index(b"char buf[] = ", src.index(
        b"static void test_chunked_leftdata(void)"))) + 1
    rest = hp.decode_c_string(m.group(1))
    decoded = hp.decode_c_string(m.group(3))[:int(m.group(4))]
    cases.append({"line": line, "func": "test_chunked_leftdata", "consume_trailer": 1,
                  "encoded": hp.decode_c_string(m.group(2)) + rest, "decoded": decoded,
                  "exp": len(rest)})
    out = []
    for c in cases:
        if c["exp"] >= 0:
            c["verdict"] = "complete"
        else:
            c["verdict"] = {-1: "error", -2: "incomplete"}[c["exp"]]
        left = c["func"] == "test_chunked_leftdata"
        c.update(table="chunked", label="chunked", role="server" if left else "client",
                 input=(CHUNKED_REQUEST if left else CHUNKED_RESPONSE) + c["encoded"],
                 name="%s, consume_trailer=%d" % (c["func"], c["consume_trailer"]))
        out.append(c)
    return out


# ------------------------------------------------------------------- expectations


def pico_says(case):
    """picohttpparser's verdict and what test.c asserts, for a report."""
    if case["table"] == "chunked":
        if case["verdict"] == "complete":
            what = "complete, data %r, %d byte(s) left after it" % (case["decoded"], case["exp"])
            if not case["consume_trailer"]:
                what += " (consume_trailer 0: trailer section left to the caller)"
            return what
        if case["verdict"] == "incomplete" and case["decoded"] is not None:
            return "incomplete (-2), data so far %r" % case["decoded"]
        return VERDICT[case["exp"]]
    if case["verdict"] != "complete":
        return VERDICT[case["exp"]]
    return "complete (%d bytes)%s" % (len(case["data"]), "; asserts " + ", ".join(
        "%s %s" % (s, "NULL" if v is None else repr(v) if isinstance(v, bytes) else v)
        for s, _, v in case["checks"]) if case["checks"] else "; asserts nothing more")


def expected_fields(checks):
    """test.c's assertions on header entries, as our fields: {our index: (name, value,
    folded)} and the expected number of our fields (None when not asserted)."""
    entries = {}
    count = None
    for subject, _, value in checks:
        m = re.fullmatch(r"headers\[(\d+)\]\.(name|value)", subject)
        if m:
            entries.setdefault(int(m.group(1)), {})[m.group(2)] = value
        elif subject == "num_headers":
            count = value
    conts = sorted(i for i, e in entries.items() if "name" in e and e["name"] is None)
    fields = {}
    for i in sorted(entries):
        if i in conts:
            continue
        ours = i - sum(1 for c in conts if c < i)
        name, value = entries[i].get("name"), entries[i].get("value")
        folded = False
        j = i + 1
        while j in conts:
            folded = True
            if value is not None:
                value = value + b" " + entries[j].get("value", b"")
            j += 1
        fields[ours] = (name, value, folded)
    if count is not None:
        count -= len(conts)
    return fields, count


def squeeze(v):
    return re.sub(rb"[ \t]+", b" ", v)


def compare_head(case, msg):
    """Differences between test.c's assertions and our message."""
    diffs = []
    version = {0: "1.0", 1: "1.1"}
    for subject, kind, value in case["checks"]:
        if subject == "method" and value != (msg["method"] or "").encode("latin-1"):
            diffs.append("method %r vs %r" % (value, msg["method"]))
        elif subject == "path" and value != msg["target"]:
            diffs.append("path %r vs %r" % (value, msg["target"]))
        elif subject == "minor_version" and version.get(value) != msg["version"]:
            diffs.append("minor version %d vs HTTP/%s" % (value, msg["version"]))
        elif subject == "status" and value != msg["status"]:
            diffs.append("status %r vs %r" % (value, msg["status"]))
        elif subject == "msg" and value != msg["reason"]:
            diffs.append("reason %r vs %r" % (value, msg["reason"]))
        elif subject == "msg_len" and value != len(msg["reason"]):
            diffs.append("reason length %d vs %d" % (value, len(msg["reason"])))
    want, count = expected_fields(case["checks"])
    got = msg["headers"]  # an added Host field is already left out
    if count is not None and count != len(got):
        diffs.append("field count %d vs %d (%r)" % (count, len(got), got))
    for i, (name, value, folded) in sorted(want.items()):
        if i >= len(got):
            diffs.append("field %d missing" % i)
            continue
        n, v = got[i]
        if name is not None and name.lower() != n:
            diffs.append("field %d name %r vs %r" % (i, name, n))
        if value is not None and (squeeze(value) != squeeze(v) if folded else value != v):
            diffs.append("field %d value %r vs %r%s" % (i, value, v, " (folded: whitespace "
                                                       "runs compared as one SP)" if folded
                                                       else ""))
    return diffs


# ------------------------------------------------------------------------ our side


def run(h1dump, role, data, split):
    """h1dump's output, or the failure of h1dump itself (a bug of ours)."""
    try:
        return run_h1dump(h1dump, role, None, data, split), None
    except RuntimeError as e:  # a panic: its first lines, without the thread's id
        text = re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1'", str(e))
        return "", [t.strip() for t in text.strip().split("\n")[0:3] if t.strip()]


def describe(ours, ended):
    if ours["crash"]:
        return "h1dump FAILED: %s" % " / ".join(ours["crash"])
    parts = ["%d message(s)" % len(ours["msgs"])]
    if ours["msgs"] and ours["msgs"][0]["body"]:
        parts.append("first body %r" % ours["msgs"][0]["body"][:80])
    if ours["msgs"]:
        parts.append("first message %s" % ("ended" if ended else "not ended"))
    if ours["switch_at"] is not None:
        parts.append("switch at %d" % ours["switch_at"])
    if ours["error"]:
        return "ours refuses: %s (%s)" % (ours["error"], ", ".join(parts))
    if ours["eof"]:
        parts.append("then end of input: %s" % ours["eof"])
    if ours["closed"]:
        parts.append("then closed")
    return "ours: " + ", ".join(parts)


def judge(h1dump, case, fed, points):
    """One input through h1dump (whole and byte by byte), compared with picohttpparser."""
    whole, crash = run(h1dump, case["role"], fed, 0)
    bytewise, crash1 = run(h1dump, case["role"], fed, 1)
    ours = read_events(whole, fed)
    ended = read_events(whole, fed, first_only=True)["ended"]
    ours["crash"] = crash or crash1
    if points:
        for m in ours["msgs"]:
            if HOST_FIELD in m["headers"]:
                m["headers"].remove(HOST_FIELD)
    verdict, diffs, late = case["verdict"], [], None
    msgs, error, eof = ours["msgs"], ours["error"], ours["eof"]
    if ours["crash"]:
        agree = False
    elif case["table"] != "chunked":
        if verdict == "complete":
            agree = not error and not eof and len(msgs) == 1
            if len(msgs) == 1:
                diffs = compare_head(case, msgs[0])
                agree = agree and not diffs
        elif verdict == "error":
            agree = bool(error)
            if not error and not msgs and eof and "head" in eof:
                probe = read_events(run(h1dump, case["role"], h1dump_io.end_head(fed), 0)[0], fed)
                late = probe["error"] or "accepted"
                agree = late != "accepted" and "missing Host" not in late
        else:
            agree = not error and not msgs and bool(eof) and "head" in eof
    else:
        body = msgs[0]["body"] if msgs else None
        if verdict == "error":
            agree = bool(error)
        elif verdict == "incomplete":
            agree = not error and len(msgs) == 1 and not ended and \
                (case["decoded"] is None or body == case["decoded"])
        elif case["func"] == "test_chunked_leftdata":
            # The message ends with the data, and what is left is read as the next request:
            # a second request, or a refusal of it (the first has ended by then).
            agree = ended and body == case["decoded"] and (len(msgs) == 2 or bool(error))
        elif case["consume_trailer"]:
            agree = not error and not eof and ended and len(msgs) == 1 \
                and body == case["decoded"]
        else:
            agree = not error and len(msgs) == 1 and body == case["decoded"] and \
                (ended or bool(eof and "trailer section" in eof))
        if body is not None and case["decoded"] is not None and body != case["decoded"]:
            diffs.append("data %r vs %r" % (case["decoded"], body))
    return {"agree": bool(agree), "late": late, "ours": describe(ours, ended), "diffs": diffs,
            "crash": ours["crash"],
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


def add_host(data):
    return h1dump_io.add_host(data, HOST)


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("picohttpparser", "picohttpparser checkout or bare git directory"))
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.picohttpparser, args.rev)
    src = corpus.read_bytes("test.c")
    toks = hp.tokenize(src, False)
    cases = head_cases(src, toks) + chunked_cases(src, toks)

    results = []
    for case in cases:
        plain = judge(h1dump, case, case["input"], [])
        fed, points = add_host(case["input"]) if case["role"] == "server" else (case["input"], [])
        hosted = judge(h1dump, case, fed, points) if points else plain
        results.append({
            "line": case["line"], "table": case["label"], "name": case["name"],
            "role": case["role"], "input": case["input"].decode("latin-1"),
            "picohttpparser": pico_says(case), "verdict": case["verdict"],
            "plain": plain, "hosted": hosted, "host_added": bool(points),
        })

    print("picohttpparser: %s (%s)" % (corpus.commit(), args.picohttpparser))
    print("not run: test_chunked_overhead() (generated inputs; its -1 is a limit on framing "
          "overhead, a policy)")
    print()
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "test.c:%d [%s] %s" % (r["line"], r["table"], r["name"]))

    tables = ["request", "response", "headers (server)", "headers (client)", "chunked"]
    for table in tables:
        print("%s: disagreements (as is; [host] = agrees once a Host field is supplied)%s:" % (
            table, "" if not args.verbose else " and agreements"))
        for r in (r for r in results if r["table"] == table):
            p, h = r["plain"], r["hosted"]
            quiet = p["agree"] and h["agree"] and not p["late"]
            if quiet and not args.verbose:
                continue
            print("  %s test.c:%d  %s" % (h1dump_io.mark(p, h), r["line"], r["name"]))
            if quiet:
                continue
            shown = r["input"].encode("latin-1")
            print("      input: %r" % shown)
            print("      picohttpparser: %s" % r["picohttpparser"])
            h1dump_io.print_ours(p, h, r["host_added"])
        print()

    print("cases: %d (test.c calls: %d); Host supplied in %d" % (
        len(results), len({(r["line"], r["name"]) for r in results}),
        sum(r["host_added"] for r in results)))
    print("%-17s %6s %13s %16s" % ("table", "cases", "as is", "Host supplied"))
    for table in tables + ["all"]:
        rows = [r for r in results if table == "all" or r["table"] == table]
        a = sum(r["plain"]["agree"] for r in rows)
        b = sum(r["hosted"]["agree"] for r in rows)
        n = len(rows)
        print("%-17s %6d %5d %6.1f%% %8d %6.1f%%" % (table, n, a, 100.0 * a / n, b,
                                                    100.0 * b / n))
    for verdict in ("complete", "error", "incomplete"):
        rows = [r for r in results if r["verdict"] == verdict]
        print("  picohttpparser %-10s %4d cases: %d agree as is, %d with Host supplied" % (
            verdict, len(rows), sum(r["plain"]["agree"] for r in rows),
            sum(r["hosted"]["agree"] for r in rows)))
    late = [r for r in results if r["plain"]["agree"] and r["plain"]["late"]]
    print("agreements only once the head is ended (as is): %d%s" % (
        len(late), "".join(" test.c:%d" % r["line"] for r in late)))
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.drop_whole(results)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
