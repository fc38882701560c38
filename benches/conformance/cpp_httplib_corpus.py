#!/usr/bin/env python3
"""Run the raw requests of cpp-httplib's test/test.cc through h1dump and count where the
core agrees with the status cpp-httplib's server is expected to answer.

    cargo build --example h1dump
    python3 benches/conformance/cpp_httplib_corpus.py CPP_HTTPLIB [--rev REV]
                    [--h1dump PATH] [--verbose] [--json OUT]

CPP_HTTPLIB is a cpp-httplib checkout (a directory with test/test.cc) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: test/test.cc is read at run time, and every call of its helpers that write a
raw request over a socket to a cpp-httplib `Server` (`send_request(TIMEOUT, REQ, &OUT)`,
`test_raw_request(REQ, &OUT)`, `send_request_and_read_response(REQ, OUT)`) is a case. The
request REQ is evaluated from the C++ source of its TEST: string literals (escapes, adjacent
literals), `+`, `std::string(S)`, `std::string(N, 'c')`, `std::string(S, N)` (the first N
bytes), `std::to_string(...)` of a length or a port, `X.size()`, the test's own string
variables, `HOST` (`localhost`), httplib.h's `#define`d sizes, and a range-for over a list
of literals (a case per element). What cannot be evaluated is listed.

The verdict is the status the test expects of the answer (`"HTTP/1.1 400 Bad Request"`
compared with the first bytes or line of OUT, `OUT.substr(9, 3)` compared with `"200"`,
`OUT.find("HTTP/1.1 200 OK") == 0`, `OUT.find("404")` found) or, failing that, whether the
handler must run (`ASSERT_TRUE(handled)` / `ASSERT_FALSE(handled)`):

  4xx or 5xx the parser's answer (400, 413, 414, 431, 501, 505): a refusal; we must refuse
             the request (an error, or the input ending, before it is complete).
  another    (200, 204, 404: the handler's or the router's answer, or the handler ran): the
             request is read; we must deliver it and its end.

A call whose TEST expects no status (a test that the server survives, or that looks only
at what the handler saw) is run, for crashes and hangs, and listed, not counted; so is a
request to a server the test configured with a limit of its own (`set_payload_max_length`,
in the TEST or its fixture) or an `Expect` probe judged on a `100 Continue` answer.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (RFC 9112 §3.2; cpp-httplib does not require one). Whole and byte-by-byte outputs of
h1dump must be identical, and h1dump must not fail; any case where either happens is
listed first.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402
from source_text import CHAR, C_RAW, C_STRING, CPP, NotUnderstood, c_unescape  # noqa: E402

PATH = "test/test.cc"
HEADER = "httplib.h"
HOST = b"Host: a\r\n"
HOST_FIELD = (b"host", b"a")
CALLS = r"\b(send_request|test_raw_request|send_request_and_read_response)\s*\("
CONSTANTS = {"HOST": "localhost"}
PORT_TEXT = "1234"  # the test's port is chosen at run time; any will do in a Host field


# ------------------------------------------------------------------------ C++ source

def one_line(text):
    """A statement's lines made one (the spaces around each line break folded)."""
    return re.sub(r"\s*\n\s*", " ", text)


class Env:
    """A TEST's string and number variables, and httplib.h's defines."""

    def __init__(self, defines):
        self.strings = dict(CONSTANTS)
        self.numbers = dict(defines)
        self.loops = {}
        self.lazy = {}  # variables that depend on a range-for's element, kept as source

    def number(self, expr):
        expr = expr.strip()
        def size(m):
            v = self.string(m.group(1))
            return str(len(v))
        e = re.sub(r"([\w:]+(?:\([^()]*\))?)\.(?:size|length)\(\)", size, expr)
        e = re.sub(r"static_cast<\w+>\(", "(", e)
        e = re.sub(r"\b(\d+)(?:ULL|UL|LL|U|L|u|ull|ul)\b", r"\1", e)
        e = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: str(self.numbers[m.group(0)])
                   if m.group(0) in self.numbers else m.group(0), e)
        if not re.fullmatch(r"[\d\s+\-*/()]+", e):
            raise NotUnderstood("number %s" % expr[:60])
        return int(eval(e.replace("/", "//"), {"__builtins__": {}}))  # digits only

    def string(self, expr):
        expr = expr.strip()
        if expr.startswith("std::string(") and CPP.matching(expr, 11) == len(expr) - 1:
            args = CPP.split_top(expr[12:-1])
            if len(args) == 1:
                return self.string(args[0])
            if re.fullmatch(CHAR, args[1]):
                return c_unescape(args[1][1:-1]) * self.number(args[0])
            return self.string(args[0])[:self.number(args[1])]
        if expr.startswith("std::to_string(") and CPP.matching(expr, 14) == len(expr) - 1:
            inner = expr[15:-1].strip()
            if re.fullmatch(r"(?:PORT|port|port_)(?:\s*\+\s*\d+)?", inner):
                return PORT_TEXT
            return str(self.number(inner))
        out, rest = [], expr
        parts = CPP.split_top(expr, "+")
        if len(parts) > 1:
            return "".join(self.string(p) for p in parts)
        # adjacent literals
        pos, found = 0, False
        while pos < len(rest):
            m = re.compile(r"\s*(?:%s|%s)" % (C_RAW, C_STRING), re.S).match(rest, pos)
            if not m:
                break
            lit = m.group(0).strip()
            if lit.startswith("R"):
                out.append(re.match(C_RAW, lit, re.S).group(2))
            else:
                out.append(c_unescape(lit[lit.index('"') + 1:-1]))
            pos, found = m.end(), True
        if found and not rest[pos:].strip():
            return "".join(out)
        if re.fullmatch(CHAR, expr):
            return c_unescape(expr[1:-1])
        if expr in self.strings:
            return self.strings[expr]
        if expr in self.loops:
            raise LoopValue(expr)
        if expr in self.lazy:
            return self.string(self.lazy[expr])
        raise NotUnderstood("string %s" % expr[:60])


class LoopValue(Exception):
    pass


def evaluate(env, expr):
    """The values of `expr`: one, or one per element of the range-for it depends on."""
    try:
        return [env.string(expr)]
    except LoopValue as e:
        name = str(e)
        out = []
        for v in env.loops[name]:
            env.strings[name] = v
            out.append(env.string(expr))
        del env.strings[name]
        return out


# ------------------------------------------------------------------------ cases

STATUS_PATTERNS = [
    # EXPECT_EQ("HTTP/1.1 400 Bad Request", out.substr(0, 24)), or to the first line
    (r'(?:EXPECT|ASSERT)_EQ\(\s*"HTTP/1\.[01] (\d{3})[^"]*"\s*,\s*(\w+)\.substr\(', "eq"),
    (r'(?:EXPECT|ASSERT)_EQ\(\s*"(\d{3})"\s*,\s*(\w+)\.substr\(9,\s*3\)\)', "eq"),
    (r'EXPECT_TRUE\((\w+)\.find\("HTTP/1\.[01] (\d{3})[^"]*"\)\s*==\s*0\)', "find0"),
    (r'EXPECT_NE\(std::string::npos,\s*(\w+)\.find\("(?:HTTP/1\.[01] )?(\d{3})[^"]*"\)\)',
     "found"),
]


def status_in(st):
    """(output variable, status) a statement expects, or None."""
    for pat, kind in STATUS_PATTERNS:
        m = re.search(pat, st)
        if m:
            if kind == "eq":
                return m.group(2), int(m.group(1))
            return m.group(1), int(m.group(2))
    return None


def fixture_texts(text):
    """The class bodies of the test fixtures, by name."""
    out = {}
    for m in re.finditer(r"\bclass\s+(\w+)\s*:\s*public\s+::testing::Test\s*\{", text):
        try:
            out[m.group(1)] = text[m.end():CPP.matching(text, m.end() - 1)]
        except NotUnderstood:
            pass
    return out


def tests(text):
    """(kind, fixture, name, line, body, body's first line) of each TEST and TEST_F."""
    out = []
    for m in re.finditer(r"^(TEST|TEST_F|TEST_P)\((\w+),\s*(\w+)\)\s*\{", text, re.M):
        start = m.end() - 1
        end = CPP.matching(text, start)
        out.append((m.group(1), m.group(2), m.group(3), text[:m.start()].count("\n") + 1,
                    text[start + 1:end], text[:start + 1].count("\n") + 1))
    return out


def cases_of(text, defines):
    fixtures = fixture_texts(text)
    cases, skipped = [], []
    for kind, fixture, name, line, body, body_line in tests(text):
        if not re.search(CALLS, body):
            if re.search(r"\bprobe_expect\(", body):
                skipped.append((line, "%s.%s" % (fixture, name), "an Expect probe: judged "
                                "on a 100 Continue answer, the application's to send"))
            continue
        label = "%s.%s" % (fixture, name)
        configured = None
        where = body + (fixtures.get(fixture, "") if kind == "TEST_F" else "")
        m = re.search(r"set_payload_max_length\(", where)
        if m:
            configured = "set_payload_max_length"
        env = Env(defines)
        found = []
        for sline, st in CPP.statements(body, body_line, one_line):
            m = re.match(r"for\s*\(\s*(?:const\s+)?auto\s*&?\s*(\w+)\s*:\s*\{(.*)\}\s*\)$", st)
            if m:
                env.loops[m.group(1)] = [env.string(x) for x in CPP.split_top(m.group(2))]
                continue
            m = re.match(r"(?:static\s+)?(?:constexpr\s+)?(?:const\s+)?(?:std::string|auto|"
                         r"const char\s*\*|char)\s*(?:\*\s*)?(\w+)(?:\[\])?\s*(=|\()(.*)$",
                         st, re.S)
            if m and not re.search(CALLS, st):
                var, how, rhs = m.groups()
                if how == "(":
                    rhs = "std::string(" + rhs
                try:
                    env.strings[var] = env.string(rhs)
                except LoopValue:
                    env.lazy[var] = rhs
                except NotUnderstood:
                    try:
                        env.numbers[var] = env.number(rhs)
                    except (NotUnderstood, KeyError, SyntaxError):
                        pass
                continue
            m = re.match(r"(?:size_t|int|auto|const\s+size_t|const\s+auto)\s+(\w+)\s*=\s*(.*)$",
                         st, re.S)
            if m and not re.search(CALLS, st):
                try:
                    env.numbers[m.group(1)] = env.number(m.group(2))
                except (NotUnderstood, KeyError, SyntaxError):
                    pass
                continue
            m = re.search(CALLS, st)
            if m:
                args = CPP.split_top(st[m.end():CPP.matching(st, m.end() - 1)])
                helper = m.group(1)
                req_expr = args[1] if helper == "send_request" else args[0]
                out_var = None
                rest = args[2:] if helper == "send_request" else args[1:]
                for a in rest:
                    a = a.lstrip("&").strip()
                    if re.fullmatch(r"\w+", a) and a not in ("port", "port_", "PORT"):
                        out_var = a
                        break
                try:
                    values = evaluate(env, req_expr)
                except (NotUnderstood, KeyError, ValueError, IndexError) as e:
                    skipped.append((sline, label, "request not evaluated: %s" % e))
                    continue
                for n, v in enumerate(values):
                    found.append({"file": PATH, "line": sline, "name": label,
                                  "input": v.encode("latin-1"), "out": out_var,
                                  "status": None, "handled": None, "option": configured,
                                  "loop": n + 1 if len(values) > 1 else None})
                continue
            s = status_in(st)
            if s and found:
                var, code = s
                for c in reversed(found):
                    if c["status"] is None and (c["out"] == var or c["out"] is None):
                        c["status"] = code
                        if c["loop"] is None or c["loop"] == 1:
                            break
                continue
        m = re.search(r"ASSERT_(TRUE|FALSE)\(handled\)", body)
        for c in found:
            if c["status"] is None and m:
                c["handled"] = m.group(1) == "TRUE"
        for n, c in enumerate(found):
            c["n"], c["count"] = n + 1, len(found)
            cases.append(c)
    return cases, skipped


# ------------------------------------------------------------------------ comparison


def expects(c):
    """'read' or 'refuse' (or None: no verdict)."""
    if c["status"] is not None:
        return "refuse" if c["status"] in (400, 413, 414, 431, 501, 505) else "read"
    if c["handled"] is not None:
        return "read" if c["handled"] else "refuse"
    return None


def says(c):
    if c["status"] is not None:
        return "answers %d" % c["status"]
    if c["handled"] is not None:
        return "runs the handler" if c["handled"] else "does not run the handler"
    return "no status expected"


def judge(h1dump, c, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    first = h1dump_io.read_events(whole, fed, first_only=True)
    want = expects(c)
    diffs = []
    if ours["crash"]:
        diffs.append("h1dump failed")
    elif want == "read" and not first["ended"]:
        diffs.append("we refuse: %s" % (ours["failure"] or "no request"))
    elif want == "refuse" and first["ended"]:
        diffs.append("cpp-httplib refuses, we read the request")
    return h1dump_io.verdict(not diffs, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def label(r, j=None):
    return "test.cc:%d %s%s" % (r["line"], r["name"],
                                " #%d" % r["n"] if r["count"] > 1 else "")


def defines_of(src):
    try:
        text = src.read_bytes(HEADER).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - without httplib.h, no define is known
        return {}
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"#define\s+(CPPHTTPLIB_\w+)\s+\(?(\d+)[uUlL]*\)?\s*$", text, re.M)}


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("cpp_httplib", "cpp-httplib checkout or bare "
                                              "git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = Source(args.cpp_httplib, args.rev, PATH)
    text = CPP.strip_comments(src.read_bytes(PATH).decode("utf-8", "replace"))
    all_cases, skipped = cases_of(text, defines_of(src))

    results = []
    for c in all_cases:
        case = dict(c)
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, case, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"],
                        "n": c["n"], "count": c["count"], "option": c["option"],
                        "verdict": expects(c), "input": c["input"].decode("latin-1"),
                        "cpp_httplib": says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})
    counted = [r for r in results if r["verdict"] and not r["option"]]
    optional = [r for r in results if not r["verdict"] or r["option"]]

    def note(r):
        return "[%s]" % r["option"] if r["option"] else None

    print("cpp-httplib: %s (%s)" % (src.commit(), args.cpp_httplib))
    print("calls not run (%d):" % len(skipped))
    for line, name, why in skipped:
        print("  test.cc:%d %s: %s" % (line, name, why))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(
        counted, h1dump_io.show_case(label, "cpp_httplib", note), args.verbose,
        ("requests with no status expected, or to a server with limits the test set (run "
         "for crashes and hangs, not counted):", optional))
    print("cases: %d (%d not counted: no status expected, or a configured server); Host "
          "supplied in %d" % (len(results), len(optional),
                              sum(r["host_added"] for r in counted)))
    row = h1dump_io.summary_table(28, "cpp-httplib's verdict")
    row("read (2xx, 404, handler ran)", [r for r in counted if r["verdict"] == "read"])
    row("refused (400, 413, ...)", [r for r in counted if r["verdict"] == "refuse"])
    row("all counted", counted)
    row("not counted", optional)
    return h1dump_io.finish(args, results, skipped, broken)


if __name__ == "__main__":
    sys.exit(main())
