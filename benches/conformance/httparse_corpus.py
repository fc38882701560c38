#!/usr/bin/env python3
"""Run httparse's own test vectors through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/httparse_corpus.py HTTPARSE [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

HTTPARSE is a checkout of https://github.com/seanmonstar/httparse (a directory with
src/lib.rs) or a bare git directory of one (read at HEAD, or at --rev). Nothing of httparse
is kept in this repository: its tests are read at run time with the Rust tokenizer of
`hyper_corpus.py`, and a test that cannot be read is listed as not run, never guessed.

What is read:

  src/lib.rs, tests/uri.rs, every `req! { name, bytes, [result,] |r| { asserts } }` and
    `res! { ... }` (a request parsed by `Request::parse`, a response by `Response::parse`,
    with `NUM_OF_HEADERS` slots). The bytes are a byte-string literal or a const/static;
    the result is `Ok(Status::Complete(n))` (by default the whole input),
    `Ok(Status::Partial)` or `Err(Error::Kind)`; the asserts give the method, path,
    version, code, reason, the number of fields and each field's name and value.
  src/lib.rs, the other `#[test]` functions: each call of `Request::parse`,
    `Response::parse` or `ParserConfig::default()[.option(true)...].parse_request /
    parse_response` with the `assert_eq!(result, ...)` after it and the asserts on the
    parsed head up to the next call; a call ending in `.unwrap()` expects Complete. The
    loop of `partial_permutations` (every proper prefix of a request is Partial) is
    unrolled; the other loops, and `parse_chunk_size` (not a head), are listed as not run.

Options. A call with a ParserConfig option that applies to its role (httparse passes the
`*_in_requests` and request-line options to requests only, the `*_in_responses` and
status-line options to responses only, `allow_space_before_first_header_name` to both) is
run and listed, but left out of the figures: they measure httparse's defaults. An option
that does not apply to the role is noted and the case counted.

How httparse's expectation maps to ours (server role for requests, client role with
`--method GET` for responses; each input whole and with `--split 1`, then the end of
input):

  Complete   our first message (request, response or 1xx) is delivered and nothing is
             refused, with what the test asserts of it (field names compared without case;
             with a Host supplied, that field is left out of the count and indices; a
             reason httparse gives as "" matches one of ours that is not UTF-8, which
             httparse's `&str` cannot hold: its documented fallback).
  Partial    httparse parses heads only and wants more: we neither deliver a message nor
             refuse anything before the end of input.
  Err(..)    we refuse the input before delivering a message. When the input stops inside
             the head, which the core judges once it is complete, it is ended (the missing
             part of CRLF CRLF) and the case agrees if we then refuse it for a reason
             other than the missing Host.

The figures are given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; httparse checks no Host). Whole and
byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any case where
either happens is listed first, as a bug of ours (exit status 1, as when a file could not
be read).
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
from hyper_corpus import NotUnderstood, canon, closing, split_top, tokenize  # noqa: E402

FILES = ("src/lib.rs", "tests/uri.rs")
HOST = b"Host: httparse.invalid\r\n"
HOST_FIELD = (b"host", b"httparse.invalid")
REQUEST_ONLY = {"allow_multiple_spaces_in_request_line_delimiters",
                "ignore_invalid_headers_in_requests"}
RESPONSE_ONLY = {"allow_spaces_after_header_name_in_responses",
                 "allow_obsolete_multiline_headers_in_responses",
                 "allow_multiple_spaces_in_response_status_delimiters",
                 "ignore_invalid_headers_in_responses"}
BOTH = {"allow_space_before_first_header_name"}


class HttparseSource(Source):
    """httparse's tree, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, os.path.join("src", "lib.rs"))


# ------------------------------------------------------------------ reading the tests


class TestFile:
    """One Rust file of httparse's: tokens and its consts and statics (by position)."""

    def __init__(self, name, text):
        self.name = name
        self.toks = tokenize(text)
        self.defs = []  # (index, name, value) of `const|static NAME: T = literal;`
        t = self.toks
        for i in range(len(t) - 2):
            if t[i].is_id("const", "static") and t[i + 1].kind == "id" and t[i + 2].is_p(":"):
                j = i + 3
                while j < len(t) and not t[j].is_p("=", ";"):
                    j += 1
                if j + 2 < len(t) and t[j].is_p("=") and t[j + 2].is_p(";") and \
                        t[j + 1].kind in ("str", "num"):
                    self.defs.append((i, t[i + 1].val, t[j + 1].val))

    def const(self, name, pos):
        """The value of const `name` as seen at token `pos` (its last definition before,
        else the first one after: a module-level static defined further down)."""
        before = [v for i, n, v in self.defs if n == name and i < pos]
        if before:
            return before[-1]
        after = [v for i, n, v in self.defs if n == name]
        if after:
            return after[0]
        raise NotUnderstood("line %d: unknown constant %s" % (self.toks[pos].line, name))

    def text(self, lo, hi):
        return canon(self.toks, lo, hi)

    def value(self, lo, hi):
        """A literal argument: bytes, a number or a constant (`&b".."[..]`, `crate::X`,
        `X.len()` unwrapped), or NotUnderstood."""
        t = self.toks
        while lo < hi and t[lo].is_p("&"):
            lo += 1
        txt = self.text(lo, hi)
        if t[lo].kind in ("str", "num") and (hi == lo + 1 or txt in ("$[..]",)):
            return t[lo].val
        m = re.fullmatch(r"(?:\w+::)*(\w+)(\.len\(\))?", txt)
        if m:
            v = self.const(m.group(1), lo)
            return len(v) if m.group(2) else v
        raise NotUnderstood("line %d: value %s" % (t[lo].line, canon(t, lo, hi, True)))


def parse_result(f, lo, hi, data):
    """httparse's expected result from `Ok(Status::Complete(n))`, `Ok(Status::Partial)`,
    `Err(Error::Kind)` (any path before the names)."""
    txt = re.sub(r"\b(?:crate|httparse|super)::", "", f.text(lo, hi))
    if txt == "Ok(Status::Partial)":
        return {"kind": "partial"}
    m = re.fullmatch(r"Err\((?:Error::)?(\w+)\)", txt)
    if m:
        return {"kind": "error", "error": m.group(1)}
    m = re.fullmatch(r"Ok\(Status::Complete\((.*)\)\)", txt)
    if m:
        t = f.toks
        inner = [i for i in range(lo, hi) if t[i].is_id("Complete")][0] + 1
        arg = m.group(1)
        if arg == "$buf.len()":
            n = len(data)
        else:
            n = f.value(inner + 1, closing(t, inner))
        return {"kind": "complete", "len": n}
    raise NotUnderstood("line %d: result %s" % (f.toks[lo].line, txt))


FIELD = re.compile(r"(\w+)\.(method|path|version|code|reason)\.unwrap\(\)|(\w+)\.headers\.len\(\)"
                   r"|(\w+)\.headers\[(\d+)\]\.(name|value)")


def head_assert(f, a, b, expect, notes):
    """Records `assert_eq!(a, b)` on a parsed head in `expect["head"]`; False when `a` is
    not one."""
    m = FIELD.fullmatch(f.text(*a))
    if not m:
        return False
    try:
        v = f.value(*b)
    except NotUnderstood as err:
        notes.append("assert not read: %s" % err)
        return True
    head = expect.setdefault("head", {})
    if m.group(2):
        head[m.group(2)] = v
    elif m.group(3):
        head["count"] = v
    else:
        head.setdefault("fields", {}).setdefault(int(m.group(5)), {})[m.group(6)] = v
    return True


def asserts(f, lo, hi):
    """The `assert_eq!(a, b)` in toks[lo:hi], top level or nested: (index, a, b)."""
    t = f.toks
    out = []
    for i in range(lo, hi - 2):
        if t[i].is_id("assert_eq") and t[i + 1].is_p("!") and t[i + 2].is_p("("):
            args = split_top(t, i + 3, closing(t, i + 2))
            out.append((i, args[0], args[1]))
    return out


def macro_cases(f, skipped):
    """The `req!` and `res!` invocations of file `f`."""
    t = f.toks
    cases = []
    for i in range(len(t) - 3):
        if not (t[i].kind == "id" and t[i].val in ("req", "res") and t[i + 1].is_p("!")
                and t[i + 2].is_p("{") and t[i + 3].kind == "id"):
            continue
        end = closing(t, i + 2)
        items = split_top(t, i + 3, end)
        name = f.text(*items[0])
        try:
            if len(items) not in (3, 4) or not t[items[-1][0]].is_p("|"):
                raise NotUnderstood("line %d: %d items" % (t[i].line, len(items)))
            data = f.value(*items[1])
            if not isinstance(data, bytes):
                raise NotUnderstood("line %d: input is not bytes" % t[i].line)
            expect = parse_result(f, *items[2], data) if len(items) == 4 else \
                {"kind": "complete", "len": len(data)}
            notes = []
            for _, a, b in asserts(f, *items[-1]):
                if not head_assert(f, a, b, expect, notes):
                    notes.append("assert not read: %s" % f.text(*a))
        except NotUnderstood as err:
            skipped.append((f.name, t[i].line, name, str(err)))
            continue
        cases.append(new_case(f, t[i].line, name, "%s!" % t[i].val,
                              "server" if t[i].val == "req" else "client", data, expect, [], [],
                              notes))
    return cases


def new_case(f, line, test, how, role, data, expect, options, unused, notes):
    if expect and expect["kind"] == "complete" and expect["len"] != len(data):
        notes.append("httparse's head is the first %d of %d bytes" % (expect["len"], len(data)))
    return {"file": f.name, "line": line, "test": test, "how": how, "role": role,
            "input": data, "expect": expect, "option": ", ".join(options),
            "unused_options": unused, "notes": notes}


def test_functions(f):
    """The `#[test] fn name() { body }` of file `f`: (name, line, body lo, body hi)."""
    t = f.toks
    out = []
    for i in range(len(t) - 3):
        if t[i].is_p("#") and t[i + 1].is_p("[") and t[i + 2].is_id("test") and \
                t[i + 3].is_p("]"):
            j = i + 4
            while t[j].is_p("#") and t[j + 1].is_p("["):
                j = closing(t, j + 1) + 1
            if t[j].is_id("fn") and t[j + 1].kind == "id":
                k = j + 2
                while not t[k].is_p("{"):
                    k += 1
                out.append((t[j + 1].val, t[j].line, k + 1, closing(t, k)))
    return out


PARSE = re.compile(r"(?:let (\w+)=)?(?:(\w+)\.parse\(|(?:crate::|httparse::)?ParserConfig::default\(\)"
                   r"((?:\.\w+\(true\))*)\.parse_(request|response)\(&mut (\w+),)")


def function_cases(f, skipped):
    """The parse calls of the `#[test]` functions that are not `req!`/`res!` ones."""
    t = f.toks
    cases = []
    for name, line, lo, hi in test_functions(f):
        body = f.text(lo, hi)
        if "$name" in body:
            continue
        if "parse_chunk_size" in body:
            skipped.append((f.name, line, name, "parse_chunk_size: a chunk-size line, not a head"))
            continue
        if "parse" not in body:
            continue
        if re.search(r"\bfor \w+ in\b", body):
            got = prefix_loop(f, name, lo, hi)
            if got is None:
                skipped.append((f.name, line, name, "a loop (not unrolled)"))
            cases += got or []
            continue
        roles, current, by_var = {}, None, {}
        try:
            for s_lo, s_hi in split_top(t, lo, hi, ";"):
                s = f.text(s_lo, s_hi)
                m = re.match(r"let (?:mut )?(\w+)=(Request|Response)::new\(", s)
                if m:
                    roles[m.group(1)] = "server" if m.group(2) == "Request" else "client"
                    continue
                m = PARSE.match(s)
                if m:
                    call = [i for i in range(s_lo, s_hi) if t[i].is_id("parse", "parse_request",
                                                                        "parse_response")][0]
                    args = split_top(t, call + 2, closing(t, call + 1))
                    data = f.value(*args[-1])
                    var = m.group(2) or m.group(5)
                    role = roles.get(var) if m.group(2) else \
                        ("server" if m.group(4) == "request" else "client")
                    if role is None:
                        raise NotUnderstood("line %d: parser %s" % (t[call].line, var))
                    options = re.findall(r"\.(\w+)\(true\)", m.group(3) or "")
                    mine = RESPONSE_ONLY if role == "server" else REQUEST_ONLY
                    used = [o for o in options if o not in mine]
                    unused = [o for o in options if o in mine]
                    for o in used:
                        if o not in REQUEST_ONLY | RESPONSE_ONLY | BOTH:
                            raise NotUnderstood("line %d: option %s" % (t[call].line, o))
                    how = "ParserConfig" if m.group(4) else "%s.parse" % var
                    if s.endswith(".unwrap()"):
                        expect = {"kind": "complete", "len": len(data)}
                    else:
                        expect = None
                    notes = ["option %s does not apply to %s (httparse passes it to the other "
                             "role only): counted as default" % (o, "requests" if role == "server"
                                                                 else "responses")
                             for o in unused]
                    current = new_case(f, t[call].line, name, how, role, data, expect, used,
                                       unused, notes)
                    current["result_var"] = m.group(1)
                    current["var"] = var
                    cases.append(current)
                    by_var[var] = current
                    continue
                for _, a, b in asserts(f, s_lo, s_hi):
                    first = f.text(*a)
                    if current is not None and first == current.get("result_var"):
                        current["expect"] = e = parse_result(f, *b, current["input"])
                        if e["kind"] == "complete" and e["len"] != len(current["input"]):
                            current["notes"].append("httparse's head is the first %d of %d "
                                                    "bytes" % (e["len"], len(current["input"])))
                        continue
                    m = FIELD.fullmatch(first)
                    var = m and (m.group(1) or m.group(3) or m.group(4))
                    if var in by_var and by_var[var]["expect"] is not None:
                        head_assert(f, a, b, by_var[var]["expect"], by_var[var]["notes"])
        except NotUnderstood as err:
            skipped.append((f.name, line, name, str(err)))
            cases = [c for c in cases if c["test"] != name]
            continue
        for c in [c for c in cases if c["test"] == name]:
            if c["expect"] is None:
                skipped.append((f.name, c["line"], name, "a parse call with no result asserted"))
                cases.remove(c)
    for c in cases:
        c.pop("result_var", None)
        c.pop("var", None)
    return cases


def prefix_loop(f, name, lo, hi):
    """`partial_permutations`: `for i in 0..S.len()` asserting that `parse(&S.as_bytes()
    [..i])` is Partial, unrolled (one case per prefix); None for any other loop."""
    t = f.toks
    body = f.text(lo, hi)
    m = re.fullmatch(r"let (\w+)=\$;let mut headers=\[EMPTY_HEADER;\w+\];let mut (\w+)=Request::new"
                     r"\(&mut headers\[\.\.\]\);for (\w+) in 0\.\.\1\.len\(\)\{let (\w+)=\2\.parse"
                     r"\(&\1\.as_bytes\(\)\[\.\.\3\]\);assert_eq!\(\4,Ok\(Status::Partial\),.*\);\}",
                     body)
    if not m:
        return None
    text = [t[i] for i in range(lo, hi) if t[i].kind == "str"][0].val
    line = [t[i] for i in range(lo, hi) if t[i].is_id("parse")][0].line
    return [new_case(f, line, "%s[..%d]" % (name, i), "Request.parse", "server", text[:i],
                     {"kind": "partial"}, [], [], []) for i in range(len(text))]


# ------------------------------------------------------------------------- judging


def run(h1dump, role, data, split):
    """h1dump's output, or its failure (a bug of ours): (output, failure lines)."""
    try:
        return run_h1dump(h1dump, role, "GET" if role == "client" else None, data, split,
                          timeout=60), None
    except RuntimeError as err:
        return "", [x.strip() for x in str(err).strip().split("\n")[:3] if x.strip()]
    except subprocess.TimeoutExpired:
        return "", ["h1dump did not finish (hang)"]


def expect_text(e):
    """httparse's expectation, for a report."""
    if e["kind"] == "partial":
        return "Ok(Partial)"
    if e["kind"] == "error":
        return "Err(%s)" % e["error"]
    head = e.get("head", {})
    parts = []
    for k in ("method", "path", "version", "code", "reason"):
        if k in head:
            v = head[k]
            parts.append("%s %s" % (k, v.decode("utf-8", "replace") if isinstance(v, bytes)
                                    else v))
    if "count" in head:
        parts.append("%d field(s)" % head["count"])
    for i, fv in sorted(head.get("fields", {}).items()):
        parts.append("[%d] %r: %r" % (i, fv.get("name", b"?"), fv.get("value", b"?")))
    return "Ok(Complete(%d))%s" % (e["len"], ": " + ", ".join(parts) if parts else "")


def describe(ev):
    msgs = ev["msgs"]
    parts = []
    if msgs:
        m = msgs[0]
        if m["kind"] == "request":
            parts.append("delivered %s %r HTTP/%s" % (m["method"], m["target"], m["version"]))
        else:
            parts.append("delivered %sHTTP/%s %d %r" % (
                "1xx " if m["kind"] == "informational" else "", m["version"], m["status"],
                m["reason"]))
        parts[-1] += " with %d field(s) %s" % (len(m["headers"]), [
            "%s: %s" % (n.decode("latin-1"), v.decode("latin-1")) for n, v in m["headers"]][:6])
    else:
        parts.append("no message")
    if ev["switch_at"] is not None:
        parts.append("switch at %d" % ev["switch_at"])
    if ev["error"]:
        return "ours refuses: %s (%s)" % (ev["error"], ", ".join(parts))
    if ev["eof"]:
        parts.append("then end of input: %s" % ev["eof"])
    return "ours: " + ", ".join(parts)


def compare(e, m, hosted):
    """How our first message differs from what the test asserts of it."""
    head = e.get("head", {})
    fields = list(m["headers"])
    if hosted and fields and fields[0] == HOST_FIELD:
        fields = fields[1:]
    diffs = []

    def differ(what, theirs, ours):
        if theirs != ours:
            diffs.append("%s: httparse %r, ours %r" % (what, theirs, ours))

    if "method" in head:
        differ("method", head["method"].decode("latin-1"), m["method"])
    if "path" in head:
        differ("path", head["path"], m["target"])
    if "version" in head:
        differ("version", {0: "1.0", 1: "1.1"}.get(head["version"], head["version"]),
               m["version"])
    if "code" in head:
        differ("code", head["code"], m["status"])
    if "reason" in head:
        try:
            m["reason"].decode("utf-8")
            differ("reason", head["reason"], m["reason"])
        except UnicodeDecodeError:  # httparse's reason is a &str, "" when it is not UTF-8
            if head["reason"] != b"":
                differ("reason", head["reason"], m["reason"])
    if "count" in head:
        differ("number of fields", head["count"], len(fields))
    for i, fv in sorted(head.get("fields", {}).items()):
        if i >= len(fields):
            diffs.append("field %d: httparse has it, ours has %d field(s)" % (i, len(fields)))
            continue
        if "name" in fv:
            differ("field %d name (any case)" % i, fv["name"].lower(), fields[i][0].lower())
        if "value" in fv:
            differ("field %d value" % i, fv["value"], fields[i][1])
    return diffs


def judge(h1dump, c, data, hosted):
    role, e = c["role"], c["expect"]
    whole, crash = run(h1dump, role, data, 0)
    bytewise, crash1 = run(h1dump, role, data, 1)
    ev = read_events(whole, data)
    diffs, late = [], None
    msgs, error = ev["msgs"], ev["error"]
    if crash or crash1:
        agree = False
    elif e["kind"] == "complete":
        agree = bool(msgs) and not error
        if msgs:
            diffs = compare(e, msgs[0], hosted)
            note = "httparse's reason \"\" is its fallback for one that is not UTF-8; ours: %r" \
                % msgs[0]["reason"]
            if e.get("head", {}).get("reason") == b"" and msgs[0]["reason"] and \
                    not diffs and note not in c["notes"]:
                c["notes"].append(note)
        agree = agree and not diffs
    elif e["kind"] == "partial":
        agree = not msgs and not error
    else:
        agree = bool(error) and not msgs
        if not msgs and not error:
            probe = read_events(run(h1dump, role, h1dump_io.end_head(data), 0)[0], data)
            late = probe["error"] or describe(probe)
            agree = probe["error"] is not None and "missing Host" not in late \
                and not probe["msgs"]
    return {"agree": bool(agree), "late": late, "ours": describe(ev), "diffs": diffs,
            "crash": crash or crash1,
            "split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("httparse",
                                              "httparse checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = HttparseSource(args.httparse, args.rev)

    cases, skipped, unread = [], [], []
    for name in FILES:
        try:
            f = TestFile(name, src.read_bytes(name).decode("utf-8"))
            cases += macro_cases(f, skipped)
            if name == "src/lib.rs":
                cases += function_cases(f, skipped)
        except (NotUnderstood, subprocess.CalledProcessError, OSError, UnicodeDecodeError) as err:
            unread.append("%s: %s: %s" % (name, type(err).__name__, err))
    if not any(c["file"] == "src/lib.rs" for c in cases):
        unread.append("src/lib.rs: no case read")
    cases.sort(key=lambda c: (FILES.index(c["file"]), c["line"]))

    results = []
    for c in cases:
        data = c["input"]
        plain = judge(h1dump, c, data, False)
        fed, added = data, False
        if c["role"] == "server":
            fed, points = h1dump_io.add_host(data, HOST)
            added = bool(points)
        hosted = judge(h1dump, c, fed, True) if added else plain
        results.append(dict(c, input=data.decode("latin-1"), plain=plain, hosted=hosted,
                            host_added=added, expect=h1dump_io.jsonable(c["expect"]),
                            httparse=expect_text(c["expect"]),
                            hosted_input=fed.decode("latin-1") if added else None))

    counted = [r for r in results if not r["option"]]
    print("httparse: %s (%s at %s)" % (src.commit(), args.httparse, args.rev))
    for name in FILES:
        rows = [r for r in results if r["file"] == name]
        print("  %s: %d cases (%d req!/res!, %d with a non-default option)" % (
            name, len(rows), sum(1 for r in rows if r["how"].endswith("!")),
            sum(1 for r in rows if r["option"])))
    for u in unread:
        print("NOT READ: %s" % u)
    print()
    print("tests not run (%d):" % len(skipped))
    for fname, line, name, why in skipped:
        print("  %s:%d %s: %s" % (fname, line, name, why))
    print()
    broken = h1dump_io.report_broken(
        results, "hosted", lambda r, j: "%s:%d [%s]" % (r["file"], r["line"], r["test"]))

    def show(r, quiet_ok):
        p, h = r["plain"], r["hosted"]
        quiet = p["agree"] and h["agree"] and not p["late"] and not (r["notes"] and args.verbose)
        if quiet and not quiet_ok:
            return
        print("  %s %s:%d [%s] %s" % (h1dump_io.mark(p, h), r["file"], r["line"], r["test"],
                                      r["how"]))
        if quiet and not args.verbose:
            return
        shown = r["input"].encode("latin-1")
        h1dump_io.print_input(shown)
        print("      httparse: %s" % r["httparse"])
        if r["option"]:
            print("      httparse's option: %s" % r["option"])
        h1dump_io.print_ours(p, h, r["host_added"])
        for n in r["notes"]:
            print("      note: %s" % n)

    h1dump_io.print_disagreements(counted, show, args.verbose, (
        "cases with a non-default ParserConfig option of httparse's (not counted):", [r for r in results if r["option"]]))
    row = h1dump_io.summary_table(38)

    for name in FILES:
        row(name, [r for r in counted if r["file"] == name])
    row("all (default options)", counted)
    for kind in ("complete", "partial", "error"):
        row("  expecting %s" % kind, [r for r in counted if r["expect"]["kind"] == kind])
    row("non-default options (not counted)", [r for r in results if r["option"]])
    print("Host supplied in %d cases" % sum(r["host_added"] for r in counted))
    late = [r for r in counted if r["plain"]["agree"] and r["plain"]["late"]]
    print("agreements only once the head is ended (as is): %d%s" % (
        len(late), "".join(" %s:%d" % (r["file"], r["line"]) for r in late)))
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.drop_whole(results)
        with open(args.json, "w") as f:
            json.dump(h1dump_io.jsonable(results), f, indent=1, default=repr)
    return 1 if broken or unread else 0


if __name__ == "__main__":
    sys.exit(main())
