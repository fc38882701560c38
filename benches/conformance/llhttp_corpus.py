#!/usr/bin/env python3
"""Run llhttp's own test corpus through h1dump and count where the sans-IO core agrees.

    cargo build --example h1dump
    python3 benches/conformance/llhttp_corpus.py LLHTTP [--h1dump PATH] [--verbose] [--json OUT]

LLHTTP is an llhttp checkout (a directory with test/request/*.md) or a bare git directory of
one (read at HEAD, or at --rev). Nothing of the corpus is kept in this repository: it is read
at run time. See docs/conformance.md ("llhttp's test corpus") for the figures and the
divergences.

What is compared. llhttp's tests are markdown: a heading, a `<!-- meta={"type": ...} -->`
comment, an ```http block (the raw bytes, with llhttp's escapes) and a ```log block (the
callbacks, ending in `error=...` when llhttp refuses). Only default-mode cases are run:
types `request`, `response`, `request-finish`, `response-finish`; lenient types and the
`pause`/`skipBody` test modes are skipped (except a response `skipBody`, which is what a
response to HEAD is, run with `--method HEAD`).

Each case goes through `h1dump --role server` (requests) or `--role client` (responses),
whole and with `--split 1`. Verdicts:

  accept  no error; llhttp's "Pause on CONNECT/Upgrade" counts as accept (the switch);
          an input that merely ends mid-message counts as accept for llhttp, and our
          "peer closed connection ..." error at end of input counts as accept too, since
          llhttp's plain tests never call llhttp_finish(); the `*-finish` types do, and
          there an end-of-input error is a reject on both sides.
  reject  an error.

Both accept: the messages are compared too (count of heads, method, target, status,
version, header and trailer fields, body bytes, where the connection switched). Both
reject: agreement. Whole and byte-by-byte outputs of h1dump must be identical; any case
where they differ is listed first, as a bug of ours.
"""

import json
import os
import re
import subprocess
import sys
from collections import OrderedDict

import h1dump_io  # noqa: E402
from h1dump_io import Source, latin1, read_events, run_h1dump  # noqa: E402

DEFAULT_TYPES = {"request", "response", "request-finish", "response-finish"}


# ---------------------------------------------------------------------------- corpus


class Corpus(Source):
    """llhttp's test files, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, os.path.join("test", "request"))

    def files(self):
        if self.is_checkout:
            names = []
            for sub in ("request", "response"):
                d = os.path.join(self.path, "test", sub)
                names += ["test/%s/%s" % (sub, n) for n in sorted(os.listdir(d)) if n.endswith(".md")]
            return names
        out = subprocess.run(
            self.git + ["ls-tree", "-r", "--name-only", self.rev, "test/request", "test/response"],
            capture_output=True,
            text=True,
            check=True,
        )
        return sorted(n for n in out.stdout.split() if n.endswith(".md"))

    def read(self, name):
        return self.read_bytes(name).decode("utf-8")


HEADING = re.compile(r"^#{1,6}\s+(.*)$")
META = re.compile(r"<!--\s*meta=(\{.*?\})\s*-->")


def parse_md(text):
    """Yield (line, heading, meta, http_block, log_block) for each test of a markdown file."""
    lines = text.split("\n")
    heading, meta, http, http_line = "", None, None, 0
    i = 0
    while i < len(lines):
        line = lines[i]
        m = HEADING.match(line)
        if m:
            heading = m.group(1).strip()
        elif i + 1 < len(lines) and re.match(r"^(=+|-+)\s*$", lines[i + 1]) and line.strip():
            heading = line.strip()
        m = META.search(line)
        if m:
            meta = json.loads(m.group(1))
        fence = re.match(r"^```(\w*)\s*$", line)
        if fence:
            kind = fence.group(1)
            body = []
            i += 1
            start = i
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            content = "\n".join(body) + "\n"
            if kind == "http":
                http, http_line = content, start
                http_meta = meta
                meta = None
            elif kind == "log" and http is not None:
                yield http_line, heading, http_meta, http, content
                http = None
        i += 1


def decode_input(raw):
    """The bytes llhttp's test/md-test.ts feeds to the parser (same steps, same order)."""
    s = re.sub(r"\n\Z", "", raw)
    s = re.sub(r"\\(\r\n|\r|\n)", "", s)
    s = re.sub(r"\r\n|\r|\n", "\r\n", s)
    s = s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").replace("\\f", "\f")
    s = re.sub(r"\\x([0-9a-fA-F]+)", lambda m: chr(int(m.group(1), 16) & 0xFFFF), s)
    s = re.sub(r"\\([0-7]{1,3})", lambda m: chr(int(m.group(1), 8)), s)
    if "${" in s:
        raise ValueError("inline JavaScript in the input")
    # The fixture hands the string to the parser as UTF-8.
    return s.encode("utf-8")


# ---------------------------------------------------------------------- llhttp's log

LOG_LINE = re.compile(r"^off=(\d+|NULL) (?:len=(\d+) span\[([\w.]+)\]=.*|(.*))$")


def new_msg():
    return {"method": b"", "target": b"", "status": None, "version": None,
            "headers": [], "trailers": [], "body": b"", "in_trailers": False}


def llhttp_outcome(log, data):
    """What llhttp did, from its expected log: verdict, messages, error, switch offset."""
    msgs, msg = [], None
    field, value = b"", b""
    error, switch_at, finish = None, None, None
    for line in log.split("\n"):
        m = LOG_LINE.match(line)
        if not m:
            continue
        off, length, span, rest = m.groups()
        if span is not None:
            o, n = int(off), int(length)
            chunk = data[o:o + n]
            if msg is None:
                continue
            if span == "method":
                msg["method"] += chunk
            elif span == "url":
                msg["target"] += chunk
            elif span == "header_field":
                field += chunk
            elif span == "header_value":
                value += chunk
            elif span == "body":
                msg["body"] += chunk
            continue
        if rest == "message begin":
            msg = new_msg()
            msgs.append(msg)
        elif rest == "header_value complete" and msg is not None:
            key = "trailers" if msg["in_trailers"] else "headers"
            msg[key].append((field.lower(), value.strip(b" \t")))
            field, value = b"", b""
        elif rest.startswith("headers complete") and msg is not None:
            hm = re.search(r"(?:method=\d+|status=(\d+)) v=(\d+)/(\d+)", rest)
            if hm:
                if hm.group(1):
                    msg["status"] = int(hm.group(1))
                msg["version"] = (int(hm.group(2)), int(hm.group(3)))
            msg["in_trailers"] = True
            msg["headed"] = True
        elif rest.startswith("error "):
            em = re.match(r'error code=(\d+) reason="(.*)"', rest)
            code, reason = int(em.group(1)), em.group(2)
            if code in (22, 23):  # HPE_PAUSED_UPGRADE, HPE_PAUSED_H2_UPGRADE
                switch_at = int(off)
            else:
                error = "%s (off=%s)" % (reason, off)
        elif rest.startswith("finish="):
            # The parser's finish state at the end of input: 0 safe, 1 safe once
            # on_message_complete runs (read until close), 2 unsafe (llhttp_finish() fails).
            finish = int(rest.split("=")[1])
            if finish == 2:
                error = "llhttp_finish(): Invalid EOF state"
    heads = [m for m in msgs if m.get("headed")]
    return {
        "verdict": "reject" if error else "accept",
        "error": error,
        "msgs": heads,
        "switch_at": switch_at,
    }


def span_mismatches(log, data):
    """Spans of the log whose printed text is not the decoded input at their offset: a check
    that the input was decoded as llhttp's harness does (0 expected)."""
    bad = 0
    for line in log.split("\n"):
        m = re.match(r'off=(\d+) len=(\d+) span\[[\w.]+\]="(.*)"$', line)
        if m:
            o, n = int(m.group(1)), int(m.group(2))
            text = m.group(3).replace("\\t", "\t").replace("\\f", "\f")
            if data[o:o + n] != text.encode("utf-8"):
                bad += 1
    return bad


# ------------------------------------------------------------------------ our side


HOST = b"Host: llhttp.invalid\r\n"


def add_host(data):
    return h1dump_io.add_host(data, HOST)


def our_outcome(output, data, finish):
    ours = read_events(output, data)
    msgs = []
    for m in ours["msgs"]:
        msg = new_msg()
        msg.update(method=latin1(m["method"] or ""), target=m["target"], status=m["status"],
                   version=m["version"], headers=m["headers"], trailers=m["trailers"],
                   body=m["body"])
        msgs.append(msg)
    error = ours["error"]
    if ours["eof"] and finish:
        error = ours["eof"]
    return {
        "verdict": "reject" if error else "accept",
        "error": error,
        "eof": ours["eof"],
        "msgs": msgs,
        "switch_at": ours["switch_at"],
        "closed": ours["closed"],
    }


def without_added_host(us, points):
    """Our outcome on an input given a Host field, mapped back to the original input."""
    if not points:
        return us
    for m in us["msgs"]:
        if (b"host", b"llhttp.invalid") in m["headers"]:
            m["headers"].remove((b"host", b"llhttp.invalid"))
    if us["switch_at"] is not None:
        shift = 0
        for p in points:
            if p + shift + len(HOST) <= us["switch_at"]:
                shift += len(HOST)
        us["switch_at"] -= shift
    return us


def same_version(ll, ours):
    if ll is None:
        return True
    major, minor = ll
    return ours == ("1.0" if (major, minor) == (1, 0) else "1.1")


def compare_messages(ll, us, request):
    """Differences between two accepted parses, as a list of strings (empty: same)."""
    diffs = []
    if len(ll["msgs"]) != len(us["msgs"]):
        diffs.append("messages: llhttp %d, ours %d" % (len(ll["msgs"]), len(us["msgs"])))
    for i, (a, b) in enumerate(zip(ll["msgs"], us["msgs"])):
        tag = "message %d: " % (i + 1)
        if request:
            if a["method"] != b["method"]:
                diffs.append(tag + "method %r vs %r" % (a["method"], b["method"]))
            if a["target"] != b["target"]:
                diffs.append(tag + "target %r vs %r" % (a["target"], b["target"]))
        elif a["status"] != b["status"]:
            diffs.append(tag + "status %r vs %r" % (a["status"], b["status"]))
        if not same_version(a["version"], b["version"]):
            diffs.append(tag + "version %r vs %r" % (a["version"], b["version"]))
        if a["headers"] != b["headers"]:
            diffs.append(tag + "headers %r vs %r" % (a["headers"], b["headers"]))
        if a["trailers"] != b["trailers"]:
            diffs.append(tag + "trailers %r vs %r" % (a["trailers"], b["trailers"]))
        if a["body"] != b["body"]:
            diffs.append(tag + "body %r vs %r" % (a["body"], b["body"]))
    if (ll["switch_at"] is None) != (us["switch_at"] is None):
        diffs.append("switch: llhttp %s, ours %s" % (
            "at %d" % ll["switch_at"] if ll["switch_at"] is not None else "none",
            "at %d" % us["switch_at"] if us["switch_at"] is not None else "none"))
    elif ll["switch_at"] is not None and ll["switch_at"] != us["switch_at"]:
        diffs.append("switch offset: llhttp %d, ours %d" % (ll["switch_at"], us["switch_at"]))
    return diffs


def describe(o, who):
    if o["verdict"] == "reject":
        return "%s rejects: %s" % (who, o["error"])
    parts = ["%d message(s)" % len(o["msgs"])]
    if o["switch_at"] is not None:
        parts.append("switch at %d" % o["switch_at"])
    if o.get("eof"):
        parts.append("then end of input mid-message")
    if o.get("closed"):
        parts.append("then closed (rest discarded)")
    return "%s accepts: %s" % (who, ", ".join(parts))


def judge(h1dump, role, method, fed, points, ll, request, finish):
    """Run one input through h1dump (whole and byte by byte) and compare with llhttp."""
    whole = run_h1dump(h1dump, role, method, fed, 0)
    bytewise = run_h1dump(h1dump, role, method, fed, 1)
    us = without_added_host(our_outcome(whole, fed, finish), points)
    diffs, late = [], None
    if ll["verdict"] == "reject" and us["verdict"] == "accept" and us["eof"] \
            and "head" in us["eof"]:
        # llhttp's case stops where llhttp fails, inside a head; the core checks a head once
        # it is complete. End the head and see whether it is refused then.
        probe = our_outcome(run_h1dump(h1dump, role, method, fed + b"\r\n\r\n", 0), fed, True)
        late = probe["error"] or "accepted"
    if ll["verdict"] != us["verdict"]:
        agree = bool(late and late != "accepted" and "missing Host" not in late)
    elif ll["verdict"] == "accept":
        diffs = compare_messages(ll, us, request)
        agree = not diffs
    else:
        agree = True
    return {
        "agree": agree,
        "late": late,
        "ours": describe(us, "ours"),
        "diffs": diffs,
        "split_consistent": whole == bytewise,
        "whole": whole,
        "bytewise": bytewise if whole != bytewise else None,
        "input": fed.decode("latin-1"),
    }


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("llhttp", "llhttp checkout or bare git directory"))
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)

    corpus = Corpus(args.llhttp, args.rev)
    results, skipped, decode_errors = [], OrderedDict(), []
    for name in corpus.files():
        for line, heading, meta, http, log in parse_md(corpus.read(name)):
            where = "%s:%d" % (name.replace("test/", ""), line)
            ty = (meta or {}).get("type")
            method = None
            if ty not in DEFAULT_TYPES:
                skipped[str(ty)] = skipped.get(str(ty), 0) + 1
                continue
            if meta.get("pause"):
                skipped["pause mode"] = skipped.get("pause mode", 0) + 1
                continue
            if meta.get("skipBody"):
                if ty.startswith("response"):
                    method = "HEAD"
                else:
                    skipped["skipBody (request)"] = skipped.get("skipBody (request)", 0) + 1
                    continue
            try:
                data = decode_input(http)
            except ValueError as e:
                skipped[str(e)] = skipped.get(str(e), 0) + 1
                continue
            request = ty.startswith("request")
            finish = ty.endswith("-finish")
            ll = llhttp_outcome(log, data)
            if span_mismatches(log, data):
                decode_errors.append(where)
            role = "server" if request else "client"
            plain = judge(h1dump, role, method, data, [], ll, request, finish)
            fed, points = add_host(data) if request else (data, [])
            hosted = judge(h1dump, role, method, fed, points, ll, request, finish) \
                if points else plain
            results.append({
                "case": where,
                "title": heading,
                "type": ty,
                "method": method,
                "input": data.decode("latin-1"),
                "llhttp": describe(ll, "llhttp"),
                "plain": plain,
                "hosted": hosted,
                "host_added": bool(points),
            })

    total = len(results)
    print("llhttp corpus: %s (%s)" % (corpus.commit(), args.llhttp))
    print("skipped (non-default modes): %s" % (
        ", ".join("%s %d" % kv for kv in skipped.items()) or "none"))
    if decode_errors:
        print("WARNING: input decoded unlike llhttp's harness (log spans do not match): %s"
              % ", ".join(decode_errors))
    print()
    inconsistent = [(r, j) for r in results for j in (r["plain"], r["hosted"])
                    if not j["split_consistent"]]
    if inconsistent:
        print("!!! WHOLE vs BYTE-BY-BYTE DIFFER (bugs of ours): %d run(s)" % len(inconsistent))
        for r, j in inconsistent:
            print("  %s  %s" % (r["case"], r["title"]))
            print("    input:     %r" % j["input"].encode("latin-1"))
            print("    whole:     %s" % j["whole"].strip().replace("\n", "\n               "))
            print("    --split 1: %s" % j["bytewise"].strip().replace("\n", "\n               "))
        print()
    print("disagreements (as is; [host] = agrees once a Host field is supplied):")
    for r in results:
        p, h = r["plain"], r["hosted"]
        if p["agree"] and h["agree"] and not args.verbose and not p["late"]:
            continue
        print("  %s %s  [%s%s]  %s" % (h1dump_io.mark(p, h), r["case"], r["type"],
                                      ", --method " + r["method"] if r["method"] else "",
                                      r["title"]))
        if p["agree"] and h["agree"] and not p["late"]:
            continue
        print("      input: %r" % r["input"].encode("latin-1"))
        print("      %s" % r["llhttp"])
        h1dump_io.print_ours(p, h, r["host_added"])
    print()

    def figure(key, label):
        agreed = sum(r[key]["agree"] for r in results)
        late = sum(1 for r in results if r[key]["agree"] and r[key]["late"])
        print("%s: %d of %d agree (%.1f%%), %d disagree; of the agreements, %d only once the "
              "head is complete" % (label, agreed, total, 100.0 * agreed / total if total else 0,
                                    total - agreed, late))

    print("cases: %d (requests %d, responses %d); Host supplied in %d" % (
        total, sum(r["type"].startswith("request") for r in results),
        sum(r["type"].startswith("response") for r in results),
        sum(r["host_added"] for r in results)))
    figure("plain", "as is")
    figure("hosted", "Host supplied")
    print("whole vs byte-by-byte: %d runs consistent, %d differ" % (
        sum(1 for r in results for j in {id(r["plain"]): r["plain"], id(r["hosted"]): r["hosted"]}.values()
            if j["split_consistent"]), len(inconsistent)))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if inconsistent else 0


if __name__ == "__main__":
    sys.exit(main())
