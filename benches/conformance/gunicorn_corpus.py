#!/usr/bin/env python3
"""Run gunicorn's request corpus (tests/requests/valid and tests/requests/invalid) through
h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/gunicorn_corpus.py GUNICORN [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

GUNICORN is a gunicorn checkout (a directory with tests/treq.py) or a bare git directory
of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this repository: each
NAME.http is read at run time and decoded as gunicorn's tests/treq.py does (line ends
dropped, then the escapes `\\r\\n`, `\\0`, `\\n`, `\\t` and `\\xHH`), and its NAME.py is
run with stand-ins for the gunicorn modules it imports (gunicorn need not be installed):
`request` is what gunicorn's parser must give, and `cfg` the configuration it is given.

How a verdict maps to ours (the input fed to `h1dump --role server`, whole and with
--split 1, then the end of input, as gunicorn's tests feed it and then read to the end):

  valid    `request` is a dict, or a list of them for pipelined requests: we deliver
           exactly those requests and end with no error. Compared for each: method,
           target (gunicorn's raw URI), version, header fields (names upper-cased, as
           gunicorn gives them), body (decoded) and trailer fields. What gunicorn makes
           of the target (path, query, fragment) is not compared: the core passes the
           target on whole.
  invalid  `request` is the exception gunicorn raises: we refuse, anywhere in the input
           (an error, or the input ending inside a message, which gunicorn reports as
           NoMoreData or the like). Our status hint is shown beside gunicorn's exception.

A case whose NAME.py sets an option (`cfg.set(...)`: other limits, obs-fold allowed, the
PROXY protocol, underscores in names mapped) tests gunicorn away from its defaults. Those
are run and listed, not counted. A case whose decoded input keeps a backslash (which
gunicorn's own reader refuses) is not run.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; gunicorn does not check; the added field is
left out of the comparison). Whole and byte-by-byte outputs of h1dump must be identical,
and h1dump must not fail; any case where either happens is listed first, as a bug of ours.
"""

import os
import re
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

MARKER = "tests/treq.py"
FOLDERS = ("valid", "invalid")
HOST = b"Host: gunicorn.invalid\r\n"
HOST_FIELD = (b"host", b"gunicorn.invalid")


# ------------------------------------------------------------------------ the corpus


class Config:
    """Stands in for gunicorn.config.Config: records the options a case sets."""

    def __init__(self):
        self.settings = {}

    def set(self, name, value):
        self.settings[name] = value


def stand_ins():
    """Modules `gunicorn`, `gunicorn.config`, `gunicorn.http` and `gunicorn.http.errors` in
    sys.modules, enough for the cases' imports: any name imported from the errors module
    is an exception class of that name."""
    errors = types.ModuleType("gunicorn.http.errors")
    classes = {}

    def exception(name):
        if name.startswith("__"):
            raise AttributeError(name)
        return classes.setdefault(name, type(name, (Exception,), {}))
    errors.__getattr__ = exception
    config = types.ModuleType("gunicorn.config")
    config.Config = Config
    package, http = types.ModuleType("gunicorn"), types.ModuleType("gunicorn.http")
    package.config, package.http, http.errors = config, http, errors
    sys.modules.update({"gunicorn": package, "gunicorn.config": config,
                        "gunicorn.http": http, "gunicorn.http.errors": errors})


def decode_http(raw):
    """A NAME.http file's bytes as treq.py decodes them; None if a backslash is left."""
    data = raw.replace(b"\n", b"").replace(b"\\r\\n", b"\r\n")
    data = data.replace(b"\\0", b"\0").replace(b"\\n", b"\n").replace(b"\\t", b"\t")
    data = re.sub(rb"\\x([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)
    return None if b"\\" in data else data


def load_expectation(source, name):
    """`request` and the options set of a NAME.py, run as treq.load_py runs it."""
    env = {"uri": lambda raw: {"raw": raw}, "cfg": Config(), "__name__": "__config__"}
    exec(compile(source, name, "exec"), env)
    return env["request"], env["cfg"].settings


def cases(corpus):
    """Every case of the two folders, and the ones not run (folder, name, why)."""
    out, skipped = [], []
    for folder in FOLDERS:
        path = "tests/requests/" + folder
        names = corpus.names(path)
        for name in sorted(n[:-5] for n in names if n.endswith(".http")):
            if name + ".py" not in names:
                skipped.append((folder, name, "no %s.py" % name))
                continue
            data = decode_http(corpus.read_bytes("%s/%s.http" % (path, name)))
            if data is None:
                skipped.append((folder, name, "a backslash left after decoding"))
                continue
            source = corpus.read_bytes("%s/%s.py" % (path, name)).decode("utf-8")
            expect, options = load_expectation(source, "%s/%s.py" % (path, name))
            case = {"folder": folder, "name": name, "input": data, "options": options}
            if folder == "valid":
                case["expect"] = expect if isinstance(expect, list) else [expect]
            else:
                case["raises"] = expect.__name__
            out.append(case)
    return out, skipped


# ------------------------------------------------------------------------ comparison


def compare(want, msg):
    """How our request `msg` differs from gunicorn's expected one."""
    diffs = []
    got = {"method": msg["method"], "uri": msg["target"].decode("latin-1"),
           "version": tuple(int(x) for x in msg["version"].split(".")),
           "headers": [(n.decode("latin-1").upper(), v.decode("latin-1"))
                       for n, v in msg["headers"]],
           "body": msg["body"],
           "trailers": [(n.decode("latin-1").upper(), v.decode("latin-1"))
                        for n, v in msg["trailers"]]}
    wanted = {"method": want["method"], "uri": want["uri"]["raw"],
              "version": tuple(want["version"]),
              "headers": [tuple(h) for h in want["headers"]], "body": want["body"],
              "trailers": [tuple(t) for t in want.get("trailers", [])]}
    for key, value in wanted.items():
        if got[key] != value:
            diffs.append("%s %r vs %r" % (key, value, got[key]))
    return diffs


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    msgs, diffs = ours["msgs"], []
    if ours["crash"]:
        agree = False
    elif case["folder"] == "valid":
        want = case["expect"]
        agree = not ours["failure"] and len(msgs) == len(want)
        if not ours["failure"] and len(msgs) != len(want):
            diffs.append("%d requests vs %d" % (len(want), len(msgs)))
        for i, (w, m) in enumerate(zip(want, msgs)):
            found = compare(w, m)
            diffs += ["#%d %s" % (i + 1, d) if len(want) > 1 else d for d in found]
        agree = agree and not diffs
    else:
        agree = bool(ours["failure"])
    return h1dump_io.verdict(agree, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def gunicorn_says(case):
    if case["folder"] == "invalid":
        return "raises %s" % case["raises"]
    reqs = case["expect"]
    return "accepts %d request%s: %s" % (len(reqs), "s" if len(reqs) > 1 else "", "; ".join(
        "%s %s HTTP/%d.%d %r body %r" % (r["method"], r["uri"]["raw"], r["version"][0],
                                         r["version"][1], r["headers"], r["body"][:60])
        for r in reqs))


def label(r, j=None):
    return "%s/%s%s" % (r["folder"], r["name"], " [%s]" % ", ".join(
        "%s=%r" % kv for kv in sorted(r["options"].items())) if r["options"] else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("gunicorn", "gunicorn checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.gunicorn, args.rev, MARKER)
    stand_ins()
    all_cases, skipped = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"folder": c["folder"], "name": c["name"],
                        "input": c["input"].decode("latin-1"), "options": c["options"],
                        "gunicorn": gunicorn_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})
    counted = [r for r in results if not r["options"]]
    optional = [r for r in results if r["options"]]

    print("gunicorn: %s (%s)" % (corpus.commit(), args.gunicorn))
    print("cases not run (%d):" % len(skipped))
    for folder, name, why in skipped:
        print("  %s/%s: %s" % (folder, name, why))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(counted, h1dump_io.show_case(label, "gunicorn"), args.verbose,
                                  ("cases with a non-default option (not counted):", optional))
    print("cases: %d (%d with a non-default option, not counted); Host supplied in %d" % (
        len(results), len(optional), sum(r["host_added"] for r in counted)))
    row = h1dump_io.summary_table(24, "folder")
    for folder in FOLDERS:
        row(folder, [r for r in counted if r["folder"] == folder])
    row("all (default options)", counted)
    row("non-default options", optional)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "skipped": skipped})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
