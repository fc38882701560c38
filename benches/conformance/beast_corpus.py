#!/usr/bin/env python3
"""Run Boost.Beast's HTTP parser tests (test/beast/http/basic_parser.cpp) through h1dump
and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/beast_corpus.py BEAST [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

BEAST is a Boost.Beast checkout (a directory with test/beast/http/basic_parser.cpp) or a
bare git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in
this repository: the C++ file is read at run time, tokenized with the C tokenizer of
http_parser_corpus.py (imported), and each test function is replayed by a small evaluator
of the C++ it is written in: `using P = test_parser<true>;`, lambdas that build a message
(`auto const m = [](std::string const& s) { return "GET / HTTP/1.1\\r\\n" + s + "\\r\\n"; };`),
lambdas that run a check (`check("x", "x")`, whose body calls parsegrind), local
std::string variables, and string expressions (literals, `+`, `std::string(n, 'c')`).
A call whose message the evaluator cannot build (buffer sequences, streams, loops) is not
run; the functions with such calls are listed.

What is run. Each `parsegrind<Parser>(message[, test[, skip]])` and each
`failgrind<Parser>(message, error)` is one case: the message through h1dump whole and with
--split 1 (parsegrind and failgrind themselves split the message in two at every point),
then the end of input; `h1dump --role server` for a request parser (test_parser<true>,
request_parser), `--role client` for a response parser (test_parser<false>,
response_parser; the request answered is a GET offering an upgrade to h2c).

How a verdict maps to ours:

  parsegrind  Beast parses the whole message with no error, the end of input given when
              it needs one (a body until close), and is done. We deliver exactly the one
              message and it ends with no error before its end (with `skip` true, the
              body is skipped: the head alone is judged; a 1xx response, a whole message
              to Beast, is to us an informational one, after which the end of input
              finds the request unanswered: that end is not a refusal). Then what the test asserts is
              compared: expect_status (status), expect_version (10 is HTTP/1.0, 11
              HTTP/1.1), expect_body (the body), and, in a test lambda, `p.get()["name"] ==
              v` (the field's value, repeated lines joined with ","), `*p.content_length()
              == v` (Content-Length) and `p.body == v`. expect_flags and expect_keepalive
              (Beast's keep-alive, upgrade and chunked flags) are not compared.
  failgrind   Beast reports the error (at the latest at the end of input). We refuse: an
              error before the message ends, or the end of input in the middle of it.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; Beast's parser does not look for it; the
added field is left out of the comparison). Whole and byte-by-byte outputs of h1dump must
be identical, and h1dump must not fail; any case where either happens is listed first, as
a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
import http_parser_corpus as hp  # noqa: E402  (its C tokenizer: hp.tokenize)
from h1dump_io import Source, read_events  # noqa: E402
from source_text import closing_token, split_tokens  # noqa: E402

FILE = "test/beast/http/basic_parser.cpp"
HOST = b"Host: beast.invalid\r\n"
HOST_FIELD = (b"host", b"beast.invalid")


class Skip(Exception):
    pass


class Corpus(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, FILE)


# ----------------------------------------------------------------- C++, evaluated


def split_top(toks, sep):
    return split_tokens(toks, sep, "p")


def matching(toks, i):
    """The index of the bracket closing toks[i]."""
    j = closing_token(toks, i, "p")
    if j is None:
        raise Skip("unbalanced %s" % toks[i][1])
    return j


def functions(toks):
    """(name, line, body tokens) of each `void testX()` member function."""
    out = []
    for i in range(len(toks) - 4):
        if toks[i][:2] == ("id", "void") and toks[i + 1][0] == "id" and \
                toks[i + 1][1].startswith("test") and toks[i + 2][1] == "(" and \
                toks[i + 3][1] == ")" and toks[i + 4][1] == "{":
            j = matching(toks, i + 4)
            out.append((toks[i + 1][1], toks[i + 1][2], toks[i + 5:j]))
    return out


def statements(body):
    """Statements split at `;` (a lambda's or block's braces kept whole)."""
    return split_tokens(body, ";", "p", empty_last=False)


def role_of(toks):
    text = "".join(str(t[1]) for t in toks)
    if re.fullmatch(r"test_parser<true>|request_parser<.*>", text):
        return "server"
    if re.fullmatch(r"test_parser<false>|response_parser<.*>", text):
        return "client"
    return None


class Fn:
    def __init__(self, name):
        self.name = name
        self.roles = {}
        self.lambdas = {}
        self.cases = []
        self.unrun = []

    def run(self, body, env):
        for s in statements(body):
            self.stmt(s, env)

    def stmt(self, s, env):
        if not s:
            return
        text = [t[1] for t in s]
        line = s[0][2]
        if text[0] == "using" and len(s) >= 4 and text[2] == "=":
            r = role_of(s[3:])
            if r:
                self.roles[text[1]] = r
            return
        # auto const NAME = [..](params) { body }
        if text[:2] == ["auto", "const"] and len(s) > 4 and text[3] == "=" and text[4] == "[":
            j = matching(s, 4)
            if s[j + 1][1] != "(":
                return
            k = matching(s, j + 1)
            params = []
            for p in split_top(s[j + 2:k], ","):
                ids = [t[1] for t in p if t[0] == "id"]
                if ids:
                    params.append(ids[-1])
            if s[k + 1][1] != "{":
                return
            self.lambdas[text[2]] = (params, s[k + 2:matching(s, k + 1)])
            return
        # std::string NAME = EXPR / const std::string NAME = EXPR / std::string NAME(EXPR)
        m = [i for i, t in enumerate(s) if t[1] == "="]
        if m and "string" in text[:m[0]] and text[m[0] - 1] not in ("string",) and \
                not any(x in text for x in ("parsegrind", "failgrind")):
            try:
                env[text[m[0] - 1]] = self.value(s[m[0] + 1:], env)
            except Skip:
                env[text[m[0] - 1]] = None
            return
        if text[0] in ("parsegrind", "failgrind") and text[1] == "<":
            if ">>" in text:  # the tokenizer's `>>`: two closing angle brackets
                k = text.index(">>")
                s = s[:k] + [("p", ">", s[k][2]), ("p", ">", s[k][2])] + s[k + 1:]
                text = [t[1] for t in s]
            depth, j = 0, 2
            while True:  # the template argument list
                if text[j] == "<":
                    depth += 1
                elif text[j] == ">":
                    if depth == 0:
                        break
                    depth -= 1
                j += 1
            role = self.roles.get(text[2]) if j == 3 else role_of(s[2:j])
            if role is None:
                self.unrun.append((line, "parser type %s" % "".join(
                    str(t[1]) for t in s[2:j])))
                return
            args = split_top(s[j + 2:matching(s, j + 1)], ",")
            try:
                data = self.value(args[0], env)
                if not isinstance(data, bytes):
                    raise Skip("message is not a string")
                checks, skip = [], False
                if text[0] == "parsegrind":
                    if len(args) > 1:
                        checks = self.checks(args[1], env)
                    if len(args) > 2 and [t[1] for t in args[2]] == ["true"]:
                        skip = True
                    verdict = "parse"
                else:
                    verdict = "fail"
                    checks = ["".join(str(t[1]) for t in args[1])]
            except Skip as e:
                self.unrun.append((line, str(e)))
                return
            self.cases.append({"line": line, "role": role, "input": data,
                               "verdict": verdict, "checks": checks, "skip": skip})
            return
        # a check lambda: NAME(args) whose body parses
        if s[0][0] == "id" and text[0] in self.lambdas and len(s) > 1 and text[1] == "(":
            params, body = self.lambdas[text[0]]
            if any(t[1] in ("parsegrind", "failgrind") for t in body):
                args = split_top(s[2:matching(s, 1)], ",")
                local = dict(env)
                try:
                    for p, a in zip(params, args):
                        local[p] = self.value(a, env)
                except Skip as e:
                    self.unrun.append((line, str(e)))
                    return
                self.run(body, local)
            return
        if any(t[1] in ("parsegrind", "failgrind") for t in s):
            self.unrun.append((line, "statement not understood: %s" % " ".join(
                str(t[1]) for t in s[:8])))

    def value(self, toks, env):
        """A string (bytes) or integer expression."""
        toks = [t for t in toks]
        terms = split_top(toks, "+")
        if len(terms) > 1:
            vals = [self.value(t, env) for t in terms]
            if all(isinstance(v, bytes) for v in vals):
                return b"".join(vals)
            if all(isinstance(v, int) for v in vals):
                return sum(vals)
            raise Skip("+ of mixed values")
        if not toks:
            raise Skip("empty expression")
        if all(t[0] == "str" for t in toks):
            return b"".join(t[1] for t in toks)
        text = [t[1] for t in toks]
        if len(toks) == 1 and toks[0][0] == "num":
            return toks[0][1]
        if len(toks) == 1 and toks[0][0] == "id":
            if toks[0][1] in env:
                v = env[toks[0][1]]
                if v is None:
                    raise Skip("value of %s unknown" % toks[0][1])
                return v
            raise Skip("unknown name %s" % toks[0][1])
        if text[:3] == ["std", "::", "string"] and text[3] == "(":
            args = split_top(toks[4:matching(toks, 3)], ",")
            if len(args) == 1:
                return self.value(args[0], env)
            if len(args) == 2 and len(args[1]) == 1 and args[1][0][0] == "chr":
                n = self.value(args[0], env)
                return args[1][0][1] * n
        if text[0] == "(" and matching(toks, 0) == len(toks) - 1:
            return self.value(toks[1:-1], env)
        if toks[0][0] == "id" and text[0] in self.lambdas and text[1] == "(" and \
                matching(toks, 1) == len(toks) - 1:
            params, body = self.lambdas[text[0]]
            args = split_top(toks[2:-1], ",")
            local = dict(env)
            for p, a in zip(params, args):
                local[p] = self.value(a, env)
            sts = statements(body)
            if len(sts) == 1 and sts[0] and sts[0][0][1] == "return":
                return self.value(sts[0][1:], local)
            raise Skip("lambda %s is not a single return" % text[0])
        if len(toks) == 3 and text[1] == "-" and all(t[0] == "num" for t in (toks[0], toks[2])):
            return toks[0][1] - toks[2][1]
        raise Skip("expression not understood: %s" % " ".join(str(x) for x in text[:8]))

    def checks(self, toks, env):
        text = [t[1] for t in toks]
        if text[0] in ("expect_status", "expect_version", "expect_body"):
            args = split_top(toks[2:-1], ",")
            v = self.value(args[1], env)
            return [(text[0][7:], v)]
        if text[0] in ("expect_flags", "expect_keepalive"):
            return [("not compared", text[0])]
        if text[0] == "[":
            j = matching(toks, 0)
            k = matching(toks, j + 1)
            body = toks[k + 2:matching(toks, k + 1)]
            out = []
            for i in range(len(body) - 1):
                if body[i][1] == "BEAST_EXPECT" and body[i + 1][1] == "(":
                    e = body[i + 2:matching(body, i + 1)]
                    out.append(self.expectation(e, env))
            return out
        raise Skip("test %s not understood" % text[0])

    def expectation(self, e, env):
        text = "".join(str(t[1]) if t[0] not in ("str",) else "$" for t in e)
        strs = [t[1] for t in e if t[0] == "str"]
        m = re.fullmatch(r"p\.get\(\)\[\$\]==(\w+)", text)
        if m:
            return ("field", strs[0].lower(), self.value([("id", m.group(1), 0)], env))
        m = re.fullmatch(r"(?:p\.content_length\(\)&&)?\*p\.content_length\(\)==(\w+)", text)
        if m:
            return ("content_length", self.value([("id", m.group(1), 0)], env))
        m = re.fullmatch(r"p\.body==(\w+|\$)", text)
        if m:
            return ("body", strs[0] if m.group(1) == "$" else
                    self.value([("id", m.group(1), 0)], env))
        return ("not compared", text[:60])


def cases(src):
    toks = hp.tokenize(src, False)
    out, unrun = [], []
    for name, line, body in functions(toks):
        fn = Fn(name)
        try:
            fn.run(body, {})
        except (Skip, IndexError, ValueError) as e:
            unrun.append((name, line, "not understood (%s)" % e))
            continue
        for c in fn.cases:
            c["function"] = name
            out.append(c)
        for ln, why in fn.unrun:
            unrun.append((name, ln, why))
    return out, unrun


# ------------------------------------------------------------------------ our side


def compare(case, msg):
    diffs = []
    for c in case["checks"]:
        kind = c[0]
        if kind == "status" and msg["status"] != c[1]:
            diffs.append("status %r vs %r" % (c[1], msg["status"]))
        elif kind == "version" and msg["version"] != {10: "1.0", 11: "1.1"}.get(c[1]):
            diffs.append("version %r vs %r" % (c[1], msg["version"]))
        elif kind == "body" and msg["body"] != c[1]:
            diffs.append("body %r vs %r" % (c[1], msg["body"]))
        elif kind == "field":
            vals = [v for n, v in msg["headers"] if n == c[1]]
            got = b",".join(vals) if vals else None
            if got != c[2]:
                diffs.append("field %r: %r vs %r" % (c[1], c[2], got))
        elif kind == "content_length":
            vals = {int(v) for n, v in msg["headers"] if n == b"content-length" and v.isdigit()}
            if vals != {c[1]}:
                diffs.append("content-length %r vs %r" % (c[1], vals))
    return diffs


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, case["role"], fed, points, HOST_FIELD)
    first = read_events(whole, fed, first_only=True)
    msgs, diffs = ours["msgs"], []
    if ours["crash"]:
        agree = False
    elif case["verdict"] == "parse":
        if case["skip"]:
            agree = bool(msgs) and not (ours["error"] and not msgs)
        elif msgs and msgs[0]["kind"] == "informational":
            # a 1xx is a whole message to Beast; to us an interim one, after which the
            # request still waits for its final response (the end of input says so)
            agree = len(msgs) == 1 and not ours["error"]
        else:
            agree = len(msgs) == 1 and first["ended"] and not ours["error"] and \
                not ours["eof"]
        if msgs:
            diffs = compare(case, msgs[0])
            agree = agree and not diffs
    else:
        agree = not first["ended"] and bool(ours["error"] or ours["eof"])
    return h1dump_io.verdict(agree, None, ours, diffs, runs, bodies=True)


def beast_says(case):
    if case["verdict"] == "fail":
        return "fails with %s" % case["checks"][0]
    shown = [c for c in case["checks"] if c[0] != "not compared"]
    return "parses%s%s" % (" (skip: head only)" if case["skip"] else "",
                           "; asserts %r" % (shown,) if shown else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("beast", "Boost.Beast checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.beast, args.rev)
    all_cases, unrun = cases(corpus.read_bytes(FILE))

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c,
            (lambda d: h1dump_io.add_host(d, HOST)) if c["role"] == "server"
            else (lambda d: (d, [])))
        results.append({"function": c["function"], "line": c["line"], "role": c["role"],
                        "input": c["input"].decode("latin-1"), "verdict": c["verdict"],
                        "beast": beast_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})

    print("beast: %s (%s)" % (corpus.commit(), args.beast))
    print("calls not run (%d):" % len(unrun))
    for name, line, why in unrun:
        print("  basic_parser.cpp:%d %s: %s" % (line, name, why))
    print()

    def label(r, j=None):
        return "basic_parser.cpp:%d %s (%s)" % (r["line"], r["function"], r["role"])

    broken = h1dump_io.report_broken(results, "hosted", label)

    show = h1dump_io.show_case(label, "beast")

    h1dump_io.print_disagreements(results, show, args.verbose)
    print("cases: %d (%d calls not run); Host supplied in %d" % (
        len(results), len(unrun), sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(10, "parser")
    for role, label_ in (("server", "request"), ("client", "response")):
        row(label_, [r for r in results if r["role"] == role])
    row("all", results)
    h1dump_io.print_verdict_counts(
        results, lambda r: r["verdict"], (("parse", "parses"), ("fail", "fails")), "beast", 9)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "not_run": unrun})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
