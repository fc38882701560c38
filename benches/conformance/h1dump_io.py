"""What the corpus scripts share: running `h1dump` on an input, and a Host field for the
HTTP/1.1 requests that have none (the core refuses those, RFC 9112 §3.2)."""
import argparse
import json
import os
import re
import subprocess
import sys

REQUEST_LINE = re.compile(rb"(?:^|(?<=\n))[!#$%&'*+.^_`|~0-9A-Za-z-]+ [!-~]+ HTTP/1\.1\r\n")


class Source:
    """A project's files, from a checkout (a directory where `marker` exists) or a bare git
    directory, read at `rev`."""

    def __init__(self, path, rev, marker):
        self.path = path
        self.rev = rev
        self.is_checkout = os.path.exists(os.path.join(path, marker))
        self.git = ["git", "-C", path] if self.is_checkout else ["git", "--git-dir", path]

    def commit(self):
        """`HASH DATE` of `rev`, or "unknown" (a checkout that is not a git one)."""
        try:
            out = subprocess.run(self.git + ["log", "-1", "--format=%H %cs", self.rev],
                                 capture_output=True, text=True, check=True)
            return out.stdout.strip()
        except (subprocess.CalledProcessError, FileNotFoundError):
            return "unknown"

    def names(self, folder):
        """The names of the files directly in `folder`."""
        if self.is_checkout:
            return sorted(os.listdir(os.path.join(self.path, folder)))
        out = subprocess.run(self.git + ["ls-tree", "--name-only", self.rev, folder + "/"],
                             capture_output=True, text=True, check=True)
        return sorted(os.path.basename(p) for p in out.stdout.split())

    def read_bytes(self, name):
        if self.is_checkout:
            with open(os.path.join(self.path, name), "rb") as f:
                return f.read()
        out = subprocess.run(self.git + ["show", "%s:%s" % (self.rev, name)],
                             capture_output=True, check=True)
        return out.stdout


def find_h1dump(given):
    """The h1dump binary: `given`, or the debug build under $CARGO_TARGET_DIR (or the
    repository's target/); exits with a hint when there is none."""
    h1dump = given
    if h1dump is None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        h1dump = os.path.join(target, "debug", "examples", "h1dump")
    if not os.access(h1dump, os.X_OK):
        sys.exit("no h1dump at %s: run `cargo build --example h1dump` first" % h1dump)
    return h1dump


def run_h1dump(h1dump, role, method, data, split, timeout=1200):
    """h1dump's output (one JSON event a line) for `data` in `role`, fed whole (`split` 0)
    or `split` bytes at a time."""
    cmd = [h1dump, "--role", role]
    if method:
        cmd += ["--method", method]
    if split:
        cmd += ["--split", str(split)]
    out = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("h1dump failed (%d): %s" % (out.returncode, out.stderr.decode()))
    return out.stdout.decode("ascii")


def add_host(data, host_line):
    """`data` with `host_line` after every HTTP/1.1 request line, when it has no Host field
    at all; and the offsets (in the original) where it went in."""
    if re.search(rb"(?i)(^|\n)host[ \t]*:", data):
        return data, []
    points = [m.end() for m in REQUEST_LINE.finditer(data)]
    out, last = b"", 0
    for p in points:
        out += data[last:p] + host_line
        last = p
    return out + data[last:], points


def end_head(data):
    """`data` with what is missing of the CRLF CRLF that ends a head: for an input that
    stops inside a head, which the core judges only once the head is complete."""
    for tail, rest in ((b"\r\n\r", b"\n"), (b"\r\n", b"\r\n"), (b"\r", b"\n\r\n")):
        if data.endswith(tail):
            return data + rest
    return data + b"\r\n\r\n"


def latin1(s):
    return s.encode("latin-1")


def read_events(output, data, first_only=False):
    """h1dump's output for input `data`, as messages and an ending: each message's kind,
    method (as printed, or None), target, status, reason, version, header fields, body
    and trailer fields (bytes throughout); where the connection switched (an offset in
    `data`), whether it closed, and its error: `eof` for "peer closed connection ..."
    (the input ended mid-message), `error` for any other; `failure`, either one as
    "message (status hint)". `first_only`: stop at the end of
    the first message, and say in `ended` whether it came."""
    msgs, error, eof, failure, switch_at, closed, ended = [], None, None, None, None, False, False
    for line in output.splitlines():
        ev = json.loads(line)
        kind = ev["event"]
        if kind in ("request", "response", "informational"):
            msgs.append({
                "kind": kind,
                "method": ev.get("method"),
                "target": latin1(ev.get("target", "")),
                "status": ev.get("status"),
                "reason": latin1(ev.get("reason", "")),
                "version": ev["version"],
                "headers": [(latin1(n), latin1(v)) for n, v in ev["headers"]],
                "body": b"",
                "trailers": [],
            })
        elif kind == "data" and msgs:
            msgs[-1]["body"] += latin1(ev["data"])
        elif kind == "end" and msgs:
            msgs[-1]["trailers"] = [(latin1(n), latin1(v)) for n, v in ev["trailers"]]
            if first_only:
                ended = True
                break
        elif kind == "switched":
            switch_at = len(data) - len(latin1(ev["trailing"]))
            ended = True
        elif kind == "closed":
            closed = True
        elif kind == "error":
            failure = "%s (%d)" % (ev["message"], ev["status_hint"])
            if ev["message"].startswith("peer closed connection"):
                eof = ev["message"]
            else:
                error = failure
        else:
            error = "unexpected event: %s" % line
    return {"msgs": msgs, "error": error, "eof": eof, "failure": failure,
            "switch_at": switch_at, "closed": closed, "ended": ended}


def mark(plain, hosted):
    """A case's verdict as a report shows it: as is, and with a Host field supplied."""
    if plain["agree"]:
        return "ok " if hosted["agree"] else "ok [but not with Host supplied]"
    return "XX " if not hosted["agree"] else "XX [host]"


def print_ours(plain, hosted, host_added):
    """Our side of a case in a report: what we gave, how it differs, and the same with a
    Host field supplied when that was tried and changed something."""
    print("      %s" % plain["ours"])
    for d in plain["diffs"]:
        print("      differs: %s" % d)
    if plain["late"]:
        print("      once the head is ended with CRLF CRLF: %s" % plain["late"])
    if host_added and not (plain["agree"] and hosted["agree"]):
        print("      with Host supplied: %s%s" % (
            "agrees" if hosted["agree"] else hosted["ours"],
            " (once the head is ended: %s)" % hosted["late"] if hosted["late"] else ""))
        for d in hosted["diffs"]:
            print("        differs: %s" % d)


def corpus_arguments(doc, *sources, verbose="also list the agreeing cases", json=True):
    """The command line the corpus scripts share: one positional argument for each
    (name, help) in `sources` (a checkout or bare git directory), then --rev, --h1dump,
    --verbose and, with `json`, --json. A script adds its own options before parsing."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    for name, text in sources:
        ap.add_argument(name, help=text)
    ap.add_argument("--rev", default="HEAD", help="revision to read from a git directory")
    ap.add_argument("--h1dump", default=None, help="h1dump binary (default: "
                    "$CARGO_TARGET_DIR or target/, debug/examples/h1dump)")
    ap.add_argument("--verbose", action="store_true", help=verbose)
    if json:
        ap.add_argument("--json", help="write every case's result to this file")
    return ap


def jsonable(x):
    """`x` with bytes as Latin-1 strings (for --json, and to compare cases)."""
    if isinstance(x, (bytes, bytearray)):
        return bytes(x).decode("latin-1")
    if isinstance(x, dict):
        return {jsonable(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def agreement(rows, second="hosted"):
    """The agreement columns of a summary line: how many of `rows` agree as is, and in
    the `second` run of each (a Host supplied, or another variant), with percentages."""
    n = len(rows)
    a = sum(r["plain"]["agree"] for r in rows)
    b = sum(r[second]["agree"] for r in rows)
    return "%6d %5.1f%% %8d %5.1f%%" % (a, 100.0 * a / n if n else 0, b, 100.0 * b / n if n else 0)


def print_disagreements(counted, show, verbose, optional=None):
    """The list of disagreements (all cases with `verbose`), each printed by `show(case,
    verbose)`; then, with `optional` = (title, cases), the cases of non-default options
    that are not counted, each printed whole."""
    print("disagreements (as is; [host] = agrees once a Host field is supplied)%s:" % (
        " and agreements" if verbose else ""))
    for r in counted:
        show(r, verbose)
    print()
    if optional:
        title, cases = optional
        print(title)
        for r in cases:
            show(r, True)
        print()


def summary_table(width, first="file"):
    """Prints the header of the summary table (its first column `width` wide) and returns
    the function that prints a row: `row(label, cases)`."""
    print("%-*s %6s %14s %16s" % (width, first, "cases", "as is", "Host supplied"))

    def row(label, rows):
        print("%-*s %6d %s" % (width, label, len(rows), agreement(rows)))
    return row


def report_broken(results, second, label, data=None, unit="run"):
    """Prints the runs of h1dump that failed, or differed whole and byte by byte (bugs of
    ours), over the "plain" and `second` run of each case; returns them as (case, run)
    pairs. `label(case, run)` names a case, `data(case, run)` gives its input bytes (by
    default the case's "input", a Latin-1 string)."""
    broken = [(r, j) for r in results for j in {id(r["plain"]): r["plain"],
                                                id(r[second]): r[second]}.values()
              if j["crash"] or not j["split_consistent"]]
    if not broken:
        return broken
    print("!!! h1dump FAILED, or WHOLE vs BYTE-BY-BYTE DIFFER (bugs of ours): %d %s(s)"
          % (len(broken), unit))
    for r, j in broken:
        print("  " + label(r, j))
        shown = data(r, j) if data else r["input"].encode("latin-1")
        print("    input:     %r" % shown[:300])
        if j["crash"]:
            print("    h1dump:    %s" % " / ".join(j["crash"]))
        else:
            print("    whole:     %s" % j["whole"].strip().replace("\n", "\n" + " " * 15))
            print("    --split 1: %s" % j["bytewise"].strip().replace("\n", "\n" + " " * 15))
    print()
    return broken


def print_input(data, indent=6, most=300):
    """The `input:` line of a case's report: its bytes, cut at `most`."""
    more = " ... (%d bytes)" % len(data) if len(data) > most else ""
    print("%sinput: %r%s" % (" " * indent, data[:most], more))


def print_consistency(results, runs=("plain", "hosted")):
    """The summary line of how many distinct runs gave the same events whole and byte by
    byte (`runs` names the runs of each case; a case may share one run between two).
    Returns how many differ or failed."""
    distinct = {id(r[k]): r[k] for r in results for k in runs}.values()
    good = sum(1 for j in distinct if j["split_consistent"] and not j["crash"])
    print("whole vs byte-by-byte: %d runs consistent, %d differ or failed"
          % (good, len(distinct) - good))
    return len(distinct) - good


def drop_whole(results, runs=("plain", "hosted")):
    """Removes the whole-input output kept on each run (too long for --json)."""
    for r in results:
        for k in runs:
            r[k].pop("whole", None)


def show_case(label, who, note=None):
    """A `show` for print_disagreements: the case's mark and label, and unless both runs
    agree (or `verbose` asks for every case), its input, the other parser's verdict
    (`r[who]`), and ours. `note(r)`: a line to print after the input, or None."""
    def show(r, verbose):
        p, h = r["plain"], r["hosted"]
        quiet = p["agree"] and h["agree"]
        if quiet and not verbose:
            return
        print("  %s %s" % (mark(p, h), label(r)))
        if quiet:
            return
        print_input(r["input"].encode("latin-1"))
        extra = note(r) if note else None
        if extra:
            print("      " + extra)
        print("      %s: %s" % (who, r[who]))
        print_ours(p, h, r["host_added"])
    return show


def run_or_crash(h1dump, role, data, split, method=None):
    """`run_h1dump`'s output and None; or, if h1dump failed, "" and the first lines of its
    failure (a panic's thread id dropped, so that runs compare)."""
    try:
        return run_h1dump(h1dump, role, method, data, split), None
    except RuntimeError as e:
        text = re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1'", str(e))
        return "", [t.strip() for t in text.strip().split("\n")[0:3] if t.strip()]


def describe_ours(ours, bodies=False):
    """One line for what `read_events` made of a run (the first two messages, with the
    first 60 bytes of each body if `bodies`), or h1dump's failure."""
    if ours["crash"]:
        return "h1dump FAILED: %s" % " / ".join(ours["crash"])
    parts = []
    for m in ours["msgs"][:2]:
        if m["kind"] == "request":
            parts.append("request %s %r HTTP/%s %r" % (m["method"], m["target"], m["version"],
                                                     m["headers"]))
        else:
            parts.append("%s HTTP/%s %d %r %r" % (m["kind"], m["version"], m["status"],
                                                  m["reason"], m["headers"]))
        if bodies and m["body"]:
            parts.append("body %r" % m["body"][:60])
    if ours["switch_at"] is not None:
        parts.append("switched")
    if ours["error"]:
        return "ours refuses: %s%s" % (ours["error"], (" (after %s)" % "; ".join(parts))
                                       if parts else "")
    if ours["eof"]:
        parts.append("then end of input: %s" % ours["eof"])
    return "ours: " + ("; ".join(parts) or "nothing")


def judge_with_host(judge, h1dump, case, add):
    """`judge(h1dump, case, data, host_points)` of the case's input as is, and fed with a
    Host field by `add(data)` (the data and where the field went; no points: none added,
    and the first verdict stands). (as is, with Host, whether one was added)."""
    plain = judge(h1dump, case, case["input"], [])
    fed, points = add(case["input"])
    hosted = judge(h1dump, case, fed, points) if points else plain
    return plain, hosted, bool(points)


def print_verdict_counts(results, verdict_of, verdicts, who, width):
    """For each (value, word) of `verdicts`: how many cases the other parser (`who`) gave
    that verdict (`verdict_of(r) == value`), and how many of those agree as is and with
    Host supplied."""
    for value, word in verdicts:
        rows = [r for r in results if verdict_of(r) == value]
        print("  %s %-*s %3d cases: %d agree as is, %d with Host supplied" % (
            who, width, word, len(rows), sum(r["plain"]["agree"] for r in rows),
            sum(r["hosted"]["agree"] for r in rows)))


def write_json(path, results, document=None):
    """The results (their whole-input runs dropped) to `path`, as `document` holds them
    (the results alone if None)."""
    drop_whole(results)
    with open(path, "w") as f:
        json.dump(jsonable(results if document is None else document), f, indent=1)


def finish(args, results, not_run, broken):
    """The end of a corpus script: the consistency line, --json (the results and the calls
    `not_run`) and the exit status (1 if any case was `broken`)."""
    print_consistency(results)
    if args.json:
        write_json(args.json, results, {"results": results, "not_run": not_run})
    return 1 if broken else 0


def run_twice(h1dump, role, data, points, host_field, method=None):
    """h1dump on `data` whole and one byte at a time. Returns the whole run's output, what
    `read_events` made of it (with "crash": either run's failure, and the supplied
    `host_field` taken out of each message if `points` say one was added), and the keys a
    result keeps of the two runs (`verdict` adds them)."""
    whole, crash = run_or_crash(h1dump, role, data, 0, method)
    bytewise, crash1 = run_or_crash(h1dump, role, data, 1, method)
    ours = read_events(whole, data)
    ours["crash"] = crash or crash1
    for m in ours["msgs"] if points else []:
        if host_field in m["headers"]:
            m["headers"].remove(host_field)
    runs = {"split_consistent": whole == bytewise and bool(crash) == bool(crash1),
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}
    return whole, ours, runs


def status_hint(ours):
    """The status our refusal names (`... (400)` at the end of the failure), or None."""
    m = re.search(r"\((\d+)\)$", ours["failure"] or "")
    return int(m.group(1)) if m else None


def verdict(agree, late, ours, diffs, runs, extra=None, bodies=False):
    """A result's run: whether it agrees, what came late, ours described, the differences,
    `extra` fields (a status hint), the crash, and `runs` (from `run_twice`)."""
    out = {"agree": bool(agree), "late": late, "ours": describe_ours(ours, bodies),
           "diffs": diffs}
    out.update(extra or {})
    out["crash"] = ours["crash"]
    out.update(runs)
    return out


def print_methods(title, rows):
    """`title` (a format with the count) and one line for each (path, line, name, why) of
    the test methods in `rows`."""
    print(title % len(rows))
    for path, line, name, why in rows:
        print("  %s:%d %s: %s" % (os.path.basename(path), line, name, why))


def method_label(r, j=None):
    """A result's place: its file, line and test method, and which of its requests (`#n`)
    when the method sends several."""
    return "%s:%d %s%s" % (os.path.basename(r["file"]), r["line"], r["name"],
                           " #%d" % r["n"] if r["n"] > 1 else "")


def run_threads(call, args, at_once):
    """`call(*a)` for each `a` of `args`, on threads, `at_once` of them at a time (the
    differential scripts: one case for one peer each)."""
    import threading
    threads = [threading.Thread(target=call, args=a) for a in args]
    for k in range(0, len(threads), at_once):
        for t in threads[k:k + at_once]:
            t.start()
        for t in threads[k:k + at_once]:
            t.join()

