#!/usr/bin/env python3
"""Run the payloads of the HTTP Garden's bug list through h1dump (server role) and report how
the core reads each.

    cargo build --example h1dump
    python3 benches/conformance/garden_trophies.py GARDEN [--rev REV] [--h1dump PATH] [--verbose]

GARDEN is a checkout of https://github.com/narfindustries/http-garden (a directory with
TROPHIES.md) or a bare git directory of one (read at HEAD, or at --rev). Nothing of it is
kept in this repository: the list is read at run time. See docs/conformance.md ("The HTTP
Garden's bug list") for the review of the results.

TROPHIES.md lists parsing bugs the Garden found in servers and proxies ("transducers"), each
with a `Payload:` that shows it: a request that the affected program misread, or forwarded
in a form that another program reads differently. The list says what went wrong, not what a
correct parser gives, so this script only reports; the review is in the docs. Each payload
is decoded (`\\r`, `\\n`, `\\t`, `\\xNN`, `\\\\`), given `Host: a` where an HTTP/1.1 request
line has none (the core refuses those first, RFC 9112 §3.2, which would hide the rest), and
run whole and one byte at a time. A payload is "refused" when h1dump reports an error before
or inside the first request, "accepted" otherwise (what followed is printed too). Any payload
whose output differs between whole and byte by byte is listed as a bug of ours, and the exit
status is then 1.
"""

import json
import re
import sys

import h1dump_io
from h1dump_io import Source, add_host, find_h1dump, run_h1dump

ITEM = re.compile(r"^(\d+)\. (.*)$")
PAYLOAD = re.compile(r"^\s*- Payload: `(.*)`\s*$")
HEADING = re.compile(r"^#+ (.*)$")


class Garden(Source):
    """The Garden's TROPHIES.md, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, "TROPHIES.md")

    def trophies(self):
        return self.read_bytes("TROPHIES.md").decode("utf-8")


def unescape(text):
    """A payload as written in the list (Python-style escapes in backticks) to bytes."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 == len(text):
            out += c.encode("utf-8")
            i += 1
            continue
        e = text[i + 1]
        if e in "rnt\\":
            out.append({"r": 13, "n": 10, "t": 9, "\\": 92}[e])
            i += 2
        elif e == "x" and re.match(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
            out.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            out += c.encode("utf-8")
            i += 1
    return bytes(out)


def payloads(md):
    """(section, number, title, bytes) for every item of the list that has a payload."""
    section, item = "", None
    for line in md.splitlines():
        h = HEADING.match(line)
        if h:
            section, item = h.group(1), None
            continue
        m = ITEM.match(line)
        if m:
            item = (m.group(1), m.group(2))
            continue
        p = PAYLOAD.match(line)
        if p and item:
            yield section, item[0], item[1], unescape(p.group(1))


def summary(output):
    """h1dump's events, shortened: requests, body sizes, the end."""
    parts, first_request_done = [], False
    for line in output.splitlines():
        e = json.loads(line)
        kind = e["event"]
        if kind == "request":
            fields = ", ".join("%s: %s" % (n, v) for n, v in e["headers"] if n != "host")
            parts.append("%s %s [%s]" % (e["method"], e["target"], fields))
        elif kind == "data":
            parts.append("%d body bytes" % len(e["data"]))
        elif kind == "end":
            parts.append("end")
            first_request_done = True
        elif kind == "error":
            parts.append("error %d: %s" % (e["status_hint"], e["message"]))
            return parts, not first_request_done
        else:
            parts.append(kind)
    return parts, False


def main():
    ap = h1dump_io.corpus_arguments(
        __doc__, ("garden", "http-garden checkout or bare git directory"),
        verbose="also print each payload", json=False)
    args = ap.parse_args()
    h1dump = find_h1dump(args.h1dump)
    garden = Garden(args.garden, args.rev)

    refused, accepted, inconsistent = 0, [], []
    print("http-garden %s" % garden.commit())
    for section, number, title, data in payloads(garden.trophies()):
        data, _ = add_host(data, b"Host: a\r\n")
        whole = run_h1dump(h1dump, "server", None, data, 0)
        split = run_h1dump(h1dump, "server", None, data, 1)
        name = "%s %s" % (section, number)
        if whole != split:
            inconsistent.append(name)
        parts, first_refused = summary(whole)
        if first_refused:
            refused += 1
        else:
            accepted.append(name)
        print("%-3s %s: %s" % ("ok" if first_refused else "ACC", name, title[:100]))
        if args.verbose or not first_refused:
            print("      input: %r" % data[:300])
        print("      ours: %s" % " | ".join(parts))

    total = refused + len(accepted)
    print()
    print("payloads: %d; refused in the first request: %d; accepted: %d (%s)" % (
        total, refused, len(accepted), ", ".join(accepted)))
    print("whole vs byte-by-byte: %d consistent, %d differ%s" % (
        total - len(inconsistent), len(inconsistent),
        (": " + ", ".join(inconsistent)) if inconsistent else ""))
    return 1 if inconsistent else 0


if __name__ == "__main__":
    sys.exit(main())
