#!/usr/bin/env python3
"""Run Puma's request-parsing tests (test/test_request_single.rb, test/test_http11.rb)
through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/puma_corpus.py PUMA [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

PUMA is a Puma checkout (a directory with test/test_request_single.rb) or a bare git
directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the Ruby files (and lib/puma/const.rb, for the names of the env keys) are read
at run time and each test method is replayed by the small Ruby interpreter of
unicorn_corpus.py (imported; Puma's parser is the same Ragel parser of Mongrel), extended
with heredocs (`<<~REQ.gsub("\\n", "\\r\\n")`), `.rstrip`, `.join`, and Puma's calls:

  test_request_single.rb  `create_client REQUEST` gives REQUEST to a Puma::Client, which
            reads one request, head and body, and raises on a malformed one; the test then
            reads `@client.env[KEY]` and the body (`@client.body.string`,
            `@client.env['rack.input'].read`, `assert_instance_of Puma::NullIO,
            @client.body` for none). `assert_invalid REQUEST, MESSAGE[, err:, status:]`
            expects the raise (status 400, or 501 for HttpParserError501, or `status:`).
            A create_client or assert_invalid with a block (a non-default option of the
            client: allowed methods, underscore headers, a body limit, remote_addr_header)
            is not run, and listed as skipped.
  test_http11.rb  `parser.execute(req, s, 0)` parses s; `assert parser.finished?` is a
            complete head, `assert parser.error?` or `assert_raises` an error.

What is run: each REQUEST (or s) through `h1dump --role server`, whole and with --split 1,
then the end of input.

How a verdict maps to ours:

  accepted  we deliver the first request and it ends with no error (the body included:
            Puma's client reads it), for create_client; for parser.execute, the head
            only. What follows the first request is not judged (Puma's client reads one).
            Then every asserted env key is compared with the env Puma builds, computed
            from our request: REQUEST_METHOD, SERVER_PROTOCOL and HTTP_VERSION ("HTTP/"
            version), REQUEST_URI (the target up to a `#`), FRAGMENT, REQUEST_PATH and
            QUERY_STRING (the path and the query of an origin-form target; nil for an
            absolute-form one, which Puma does not split), HTTP_<NAME> (name upper-cased,
            `-` as `_`, the values of repeated lines joined with ", "; as Puma does by
            default with a name holding `_`: it is dropped when the same name with `-`
            is there too, and Content_Length and Transfer_Encoding keep theirs as `,`),
            CONTENT_LENGTH and CONTENT_TYPE (the field; for a chunked body, Puma sets
            CONTENT_LENGTH to the decoded length and removes Transfer-Encoding, and so does
            this env); the body, as
            decoded. SERVER_NAME, SERVER_PORT, rack.url_scheme, REMOTE_ADDR, puma.* keys
            (derived by Puma from Host, X-Forwarded-* and the peer, not parsed) are not
            compared. A key asserted absent (`refute_operator env, :key?, KEY`) must be.
  refused   we refuse: an error before the first request has ended (in its head or its
            body). When the input stops inside a head, the head is ended (the missing
            part of CRLF CRLF added) and the case agrees if we then refuse it for a
            reason other than the missing Host, as in the other corpus scripts. A
            different status (Puma's 400 or 501 against our hint) is listed, not counted.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2, and so does Puma's client: "Missing Host
header"; the added field is left out of the comparison). Whole and byte-by-byte outputs
of h1dump must be identical, and h1dump must not fail; any case where either happens is
listed first, as a bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
import unicorn_corpus as uc  # noqa: E402  (the Ruby interpreter)
from h1dump_io import Source, read_events  # noqa: E402

FILES = ["test/test_request_single.rb", "test/test_http11.rb"]
HOST = b"Host: puma.invalid\r\n"
HOST_FIELD = (b"host", b"puma.invalid")
NOT_COMPARED = {"SERVER_NAME", "SERVER_PORT", "rack.url_scheme", "REMOTE_ADDR", "HTTPS"}
CLIENT = "<client>"


class Corpus(Source):
    def __init__(self, path, rev):
        super().__init__(path, rev, FILES[0])


def constants(src):
    """`NAME = "value"` (or '...') lines: the constants of Puma::Const or a test class."""
    out = {}
    for m in re.finditer(r'(?m)^\s*([A-Z][A-Z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|\'[^\']*\')'
                         r'(?:\.freeze)?\s*$', src):
        try:
            toks = [t for t in uc.tokenize(m.group(2)) if t[0] != "nl"]
            out[m.group(1)] = uc.Run("const", False).value(toks)
        except uc.Skip:
            pass
    return out


class PumaRun(uc.Run):
    def __init__(self, name, consts):
        super().__init__(name, False)
        self.vars.update(consts)
        self.vars["@client"] = CLIENT

    def client_case(self, s, verdict):
        """create_client / assert_invalid: a new case, its input the first argument."""
        args = s[1:]
        if args and args[0][1] == "(":
            k = [i for i, t in enumerate(args) if t[0] == "p" and t[1] == ")"]
            args = args[1:k[-1]] if k else args
        if any(t[0] == "block" for t in s):
            raise uc.Skip("a client option set in a block (not the default configuration)")
        parts = uc.split_args(args)
        data = self.value(parts[0])
        if not isinstance(data, bytes):
            raise uc.Skip("request not understood")
        self.new_case(s[0][2])
        self.case["input"] = bytearray(data)
        self.case["verdict"] = verdict
        self.case["whole"] = True
        status = None
        for p in parts[1:]:
            text = " ".join(str(t[1]) for t in p)
            m = re.match(r"status : (\d+)", text)
            if m:
                status = int(m.group(1))
            if "HttpParserError501" in text:
                status = status or 501
        self.case["status"] = status or (400 if verdict == "error" else None)

    def stmt(self, s):
        first = s[0][1] if s[0][0] == "id" else None
        if first == "create_client":
            return self.client_case(s, "complete")
        if first == "assert_invalid":
            return self.client_case(s, "error")
        if len(s) >= 3 and s[0][0] == "id" and s[1][1] == "=" and s[2][0] == "id" and \
                s[2][1] == s[0][1] and len(s) > 3 and s[3][1] == "=":
            return self.stmt(s[2:])  # request = request = ...
        text = [t[1] if t[0] in ("id", "p") else "<%s>" % t[0] for t in s]
        # parser.execute(req, s, 0) [rescue nil]
        if "rescue" in text:
            s = s[:text.index("rescue")]
            text = text[:len(s)]
        if first == "refute_operator":
            parts = uc.split_args(s[1:])
            if len(parts) == 3 and [t[1] for t in parts[0]] == ["@client", ".", "env"] and \
                    [t[1] for t in parts[1]] == ["key?"]:
                key = self.value(parts[2])
                if isinstance(key, bytes):
                    self.check(key.decode("latin-1"), None)
            return
        if first == "assert_instance_of":
            parts = uc.split_args(s[1:])
            if len(parts) == 2 and [t[1] for t in parts[1]] == ["@client", ".", "body"] and \
                    "NullIO" in [t[1] for t in parts[0]]:
                self.check("<body>", b"")
            return
        if first in ("assert", "refute") and len(s) >= 4 and s[1][0] == "id" and \
                self.vars.get(s[1][1]) == uc.PARSER and s[3][1] in ("finished?", "error?"):
            if self.case is None:
                return
            ok = (s[3][1] == "finished?") == (first == "assert")
            self.case["verdict"] = "complete" if ok else "error"
            return
        if first == "assert_equal":
            parts = uc.split_args(s[1:] if s[1][1] != "(" else s[2:-1])
            if len(parts) >= 2:
                b = [t[1] for t in parts[1]]
                if b in (["@client", ".", "body", ".", "string"],) or \
                        b[:3] == ["@client", ".", "env"] and b[-2:] == [".", "read"]:
                    v = self.value(parts[0])
                    if isinstance(v, bytes):
                        self.check("<body>", v)
                    return
                if b[:4] == ["@client", ".", "env", "["] and b[-1] == "]":
                    key = self.value(parts[1][4:-1])
                    v = self.value(parts[0])
                    if isinstance(key, bytes) and isinstance(v, (bytes, type(None))):
                        self.check(key.decode("latin-1"), v)
                    return
        if first in ("assert_nil",) and len(s) >= 2:
            b = [t[1] for t in s[1:]]
            if b[:4] == ["@client", ".", "env", "["] and b[-1] == "]":
                key = self.value(s[5:-1])
                if isinstance(key, bytes):
                    self.check(key.decode("latin-1"), None)
                return
        if first == "fail":
            return
        return super().stmt(s)

    def parser_call(self, toks):
        text = [t[1] if t[0] in ("id", "p") else "<%s>" % t[0] for t in toks]
        if "rescue" in text:
            toks = toks[:text.index("rescue")]
            text = text[:len(toks)]
        if len(toks) >= 4 and toks[0][0] == "id" and self.vars.get(text[0]) == uc.PARSER and \
                text[1:4] == [".", "execute", "("]:
            args = uc.split_args(toks[4:-1])
            if len(args) != 3:
                raise uc.Skip("execute with %d arguments" % len(args))
            self.buffer_is(args[1])
            self.case["whole"] = False
            env = args[0]
            if len(env) == 1 and env[0][0] == "id":
                self.vars[env[0][1]] = uc.REQ
            return "parse"
        return super().parser_call(toks)

    def value(self, toks):
        toks = [t for t in toks if t[0] != "nl"]
        if len(toks) == 3 and [t[1] for t in toks] == ["Puma", "::", "HttpParser"]:
            return ("class",)
        if len(toks) == 5 and [t[1] for t in toks[:3]] == ["Puma", "::", "HttpParser"] and \
                toks[4][1] == "new":
            return ("new",)
        if len(toks) == 3 and toks[0][1] == "Puma" and toks[1][1] == "::" and \
                toks[2][1] in self.vars:
            return self.vars[toks[2][1]]
        if toks and toks[0][1] == "{" and toks[-1][1] == "}" and len(toks) == 2:
            return ("lazyhash", [])
        return super().value(toks)

    def new_case(self, line):
        super().new_case(line)
        self.case["whole"] = False


def cases(corpus):
    consts = constants(corpus.read_bytes("lib/puma/const.rb").decode("latin-1"))
    out, skipped = [], []
    for path in FILES:
        src = corpus.read_bytes(path).decode("latin-1")
        local = dict(consts)
        local.update(constants(src))
        for name, line, body, first in uc.methods(src):
            run = PumaRun(name, local)
            try:
                toks = uc.tokenize(body)
                toks = [(k, v, ln + first - 1) for k, v, ln in toks]
                # Puma::HttpParser.new -> HttpParser.new, as the interpreter knows it
                fixed = []
                for t in toks:
                    if t[1] == "HttpParser" and len(fixed) >= 2 and fixed[-1][1] == "::" and \
                            fixed[-2][1] == "Puma":
                        fixed = fixed[:-2]
                    fixed.append(t)
                run.run(uc.statements(fixed))
            except uc.Skip as e:
                skipped.append((path, line, name, str(e)))
                continue
            except uc.Stop as e:
                skipped.append((path, line, name, str(e)))
                continue
            except (IndexError, KeyError, ValueError, AttributeError, TypeError) as e:
                skipped.append((path, line, name, "not understood (%s)" % e))
                continue
            n = 0
            for c in run.cases:
                if not c["input"] or c["verdict"] is None:
                    continue
                n += 1
                verdict = "complete" if c["verdict"] == "parsed" else c["verdict"]
                out.append({"file": path, "line": line, "name": name, "n": n,
                            "input": bytes(c["input"]), "verdict": verdict,
                            "checks": [(k, v) for _, k, v in c["checks"]],
                            "status": c.get("status"), "whole": c.get("whole", False)})
            if n == 0:
                skipped.append((path, line, name, "no request with a verdict"))
    return out, skipped


# ------------------------------------------------------------------------ our env


def puma_env(msg):
    env = {"REQUEST_METHOD": (msg["method"] or "").encode("latin-1"),
           "SERVER_PROTOCOL": b"HTTP/" + msg["version"].encode()}
    env["HTTP_VERSION"] = env["SERVER_PROTOCOL"]
    target = msg["target"]
    uri, hashmark, frag = target.partition(b"#")
    env["REQUEST_URI"] = uri
    env["FRAGMENT"] = frag if hashmark else None
    if uri.startswith(b"/"):
        path, _, query = uri.partition(b"?")
        env["REQUEST_PATH"] = path
        env["QUERY_STRING"] = query
    else:
        env["REQUEST_PATH"] = None
        env["QUERY_STRING"] = None
    chunked = False
    names = {n for n, _ in msg["headers"]}
    for n, v in msg["headers"]:
        if b"_" in n:
            dashed = n.replace(b"_", b"-")
            if dashed in (b"content-length", b"transfer-encoding"):
                key = "HTTP_" + n.decode("latin-1").upper().replace("_", ",")
            elif dashed in names:
                continue  # the dashed field wins
            else:
                key = "HTTP_" + n.decode("latin-1").upper().replace("-", "_")
        else:
            key = "HTTP_" + n.decode("latin-1").upper().replace("-", "_")
        if n in (b"content-length", b"content-type"):
            key = key[5:]
        if n == b"transfer-encoding":
            chunked = True
        env[key] = env[key] + b", " + v if key in env else v
    if chunked:  # Puma decodes the body, then removes the field and sets the length
        env["CONTENT_LENGTH"] = str(len(msg["body"])).encode()
        env.pop("HTTP_TRANSFER_ENCODING", None)
    env["<body>"] = msg["body"]
    return env


def compare(case, msg):
    env = puma_env(msg)
    diffs = []
    for key, want in case["checks"]:
        if key in NOT_COMPARED or key.startswith("puma."):
            continue
        got = env.get(key)
        if want != got:
            diffs.append("%s %r vs %r" % ("body" if key == "<body>" else key, want, got))
    return diffs


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    first = read_events(whole, fed, first_only=True)
    msgs, diffs, late, hint = ours["msgs"], [], None, h1dump_io.status_hint(ours)
    if ours["crash"]:
        agree = False
    elif case["verdict"] == "complete":
        agree = bool(msgs) and (first["ended"] or not case["whole"])
        if msgs:
            diffs = compare(case, msgs[0])
            agree = agree and not diffs
    else:
        refused = not first["ended"] and bool(ours["error"]) if case["whole"] else \
            not msgs and bool(ours["error"])
        agree = refused
        if not msgs and not ours["error"] and ours["eof"] and "head" in ours["eof"]:
            probe = read_events(h1dump_io.run_or_crash(
                h1dump, "server", h1dump_io.end_head(fed), 0)[0], fed)
            late = probe["error"] or "accepted"
            agree = late != "accepted" and "missing Host" not in late
    return h1dump_io.verdict(agree, late, ours, diffs, runs, {"hint": hint})


def puma_says(case):
    if case["verdict"] != "complete":
        return "raises (%s)" % (case["status"] or "error")
    checks = [(k, v) for k, v in case["checks"] if k not in NOT_COMPARED
              and not k.startswith("puma.")]
    return "accepts%s" % ("; asserts " + ", ".join("%s=%r" % kv for kv in checks)
                          if checks else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("puma", "Puma checkout or bare git directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Corpus(args.puma, args.rev)
    all_cases, skipped = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"], "n": c["n"],
                        "input": c["input"].decode("latin-1"), "verdict": c["verdict"],
                        "status": c["status"], "puma": puma_says(c), "plain": plain,
                        "hosted": hosted, "host_added": host_added})

    print("puma: %s (%s)" % (corpus.commit(), args.puma))
    h1dump_io.print_methods("test methods not run (%d):", skipped)
    print()

    label = h1dump_io.method_label

    broken = h1dump_io.report_broken(results, "hosted", label)

    show = h1dump_io.show_case(label, "puma")

    h1dump_io.print_disagreements(results, show, args.verbose)
    codes = [r for r in results if r["verdict"] == "error" and r["hosted"]["agree"]
             and r["hosted"]["hint"] is not None and r["status"]
             and r["hosted"]["hint"] != r["status"]]
    if codes:
        print("refused by both, with another status (not counted):")
        for r in codes:
            print("  %s: puma %d, ours %d" % (label(r), r["status"], r["hosted"]["hint"]))
        print()
    print("cases: %d from %d test methods (%d not run); Host supplied in %d" % (
        len(results), len({(r["file"], r["name"]) for r in results}), len(skipped),
        sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(24)
    for path in FILES:
        row(os.path.basename(path), [r for r in results if r["file"] == path])
    row("all", results)
    h1dump_io.print_verdict_counts(
        results, lambda r: r["verdict"], (("complete", "accepts"), ("error", "refuses")), "puma", 9)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "skipped": skipped})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
