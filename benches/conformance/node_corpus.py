#!/usr/bin/env python3
"""Run the raw messages of Node.js's own HTTP tests (test/parallel/test-http-*.js that write
bytes over a socket) through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/node_corpus.py NODE [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

NODE is a Node.js source tree (a directory with test/parallel; Debian's `apt-get source
nodejs` gives one) or a bare git directory of one (read at HEAD, or at --rev). Nothing of
the corpus is kept in this repository: the test files are read at run time, and the
messages are picked out mechanically, so only what follows a few patterns is run:

  which files  test/parallel/test-http-*.js that use `net` (a raw socket: net.connect,
            net.createConnection, net.createServer) and hold "HTTP/1.".
  which parts  a file is cut into its top-level blocks (`{` ... `}` at the start of a
            line, each one case in Node's style), or taken whole when it has none.
  messages  a request only in a file that connects to a server (net.connect,
            net.createConnection), a response only in one that runs a raw server
            (net.createServer, net.Server): the others are what the test expects to read.
            In each part, an array of string literals joined with `.join('\\r\\n')` (or
            '\\n'), or a run of string literals joined with `+`, that starts with a
            request line (`METHOD /... HTTP/1.x`, a message for `h1dump --role server`) or
            a status line (`HTTP/1.x NNN`, for `--role client`, method GET) and holds a
            line end. JavaScript escapes are decoded; literals holding `${` are skipped.

Node's verdict, read from the part (or, when the part says nothing, from the file):

  request   refused when the server's handler is `common.mustNotCall(...)`, or the part
            expects a `400 Bad Request` answer, or a `clientError` event with
            `common.mustCall`; accepted when the handler (or a `'request'` listener) is
            `common.mustCall(...)` or a plain function of `req`.
  response  refused when the part expects an error (`'error', common.mustCall`, or an
            `HPE_` code); accepted when `http.get` or `http.request` is given a response
            callback (a function of `res`, under `common.mustCall` or not).

A part whose verdict the script cannot read, or that gives both verdicts, is listed,
not counted; so are messages in a file that sets a non-default parser option
(`insecureHTTPParser`, `maxHeaderSize`, or in the file's `// Flags:` line
`--insecure-http-parser`, `--max-http-header-size`). Only the verdict is
compared. A request: accepted means we deliver its head (Node's server calls its handler
then, before the body), refused that we deliver no request and refuse. A response:
accepted means we deliver it and refuse nothing before it ends, refused that we refuse
(an error other than the input ending mid-message) anywhere. A message whose literal has
no end of head (the test writes the rest in other calls) is listed, not run.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; Node's server does not by default; the added
field is left out). Whole and byte-by-byte outputs of h1dump must be identical, and h1dump
must not fail; any case where either happens is listed first, as a bug of ours.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

FOLDER = "test/parallel"
MARKER = FOLDER
HOST = b"Host: node.invalid\r\n"
HOST_FIELD = (b"host", b"node.invalid")
OPTIONS = ("insecureHTTPParser", "insecure-http-parser", "maxHeaderSize",
           "max-http-header-size")
REQUEST = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP/1\.\d\r?\n")
RESPONSE = re.compile(rb"^HTTP/1\.\d \d{3}")

STRING = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`""", re.S)


def js_string(lit):
    """The bytes of a JavaScript string literal (Latin-1 for \\x escapes and code points
    below 256, UTF-8 above, as Node's latin1/utf8 writes would differ: such a message is
    rare and its bytes are taken as UTF-8)."""
    body = lit[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if e in "nrtbfv0'\"\\`":
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "b": b"\b", "f": b"\f", "v": b"\v",
                    "0": b"\0", "'": b"'", '"': b'"', "\\": b"\\", "`": b"`"}[e]
        elif e == "x":
            out.append(int(body[i:i + 2], 16))
            i += 2
        elif e == "u":
            if body[i] == "{":
                end = body.index("}", i)
                cp = int(body[i + 1:end], 16)
                i = end + 1
            else:
                cp = int(body[i:i + 4], 16)
                i += 4
            out += bytes([cp]) if cp < 256 else chr(cp).encode("utf-8")
        elif e == "\n":
            pass
        else:
            out += e.encode("utf-8")
    return bytes(out)


def strip_comments(text):
    """`text` with // and /* */ comments blanked (strings kept)."""
    out, i = [], 0
    while i < len(text):
        m = STRING.match(text, i)
        if m and text[i] in "'\"`":
            out.append(m.group(0))
            i = m.end()
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = len(text) if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = len(text) if j < 0 else j + 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parts(text):
    """The top-level blocks of a file (lines `{` ... `}`), or the whole file."""
    blocks = re.findall(r"(?ms)^\{\s*$.*?^\}\s*$", text)
    return blocks or [text]


def messages(part):
    """The messages of a part: (bytes, role)."""
    found = []
    # arrays joined
    for m in re.finditer(r"\[((?:\s*(?:%s)\s*,?)+)\s*\]\s*\.join\(\s*(%s)\s*\)" % (
            STRING.pattern, STRING.pattern), part):
        if "${" in m.group(0):
            continue
        sep = js_string(m.group(2))
        items = [js_string(s.group(0)) for s in STRING.finditer(m.group(1))]
        found.append((m.start(), sep.join(items)))
    # runs of literals joined with +
    for m in re.finditer(r"(?:%s)(?:\s*\+\s*(?:%s))*" % (STRING.pattern, STRING.pattern),
                         part):
        if "${" in m.group(0):
            continue
        if any(a <= m.start() < a + 1 for a, _ in found):
            continue
        data = b"".join(js_string(s.group(0)) for s in STRING.finditer(m.group(0)))
        found.append((m.start(), data))
    out = []
    for _, data in sorted(found):
        if b"\n" not in data:
            continue
        if REQUEST.match(data):
            out.append((data, "server"))
        elif RESPONSE.match(data):
            out.append((data, "client"))
    # an array's items are also literals on their own: keep only whole messages
    return [(d, r) for d, r in out if not any(d != e and d in e for e, _ in out)]


def verdict(part, role):
    """Node's verdict for the messages of `role` in `part`: "refuse", "accept", "both"
    or None."""
    if role == "server":
        refuse = bool(re.search(r"createServer\(\s*common\.mustNotCall\(", part)
                      or "400 Bad Request" in part
                      or re.search(r"'clientError',\s*common\.mustCall", part))
        accept = bool(re.search(r"createServer\(\s*(?:\{[^}]*\},\s*)?common\.mustCall\(",
                                part) or re.search(r"'request',\s*common\.mustCall", part)
                      or re.search(r"(?:createServer|Server)\(\s*(?:\{[^}]*\},\s*)?"
                                   r"(?:function\s*\w*\s*\(\s*req\b|\(\s*req\b)", part))
    else:
        refuse = bool(re.search(r"'error',\s*common\.mustCall", part) or "HPE_" in part)
        accept = bool(re.search(r"(?:get|request)\([^;]*?(?:common\.mustCall\(\s*)?"
                                r"(?:\(\s*res\s*\)|res\s*=>|function\s*\(\s*res\s*\))",
                                part, re.S))
    if refuse and accept:
        return "both"
    return "refuse" if refuse else "accept" if accept else None


def cases(corpus):
    out, unread, fragments = [], [], []
    names = [n for n in corpus.names(FOLDER) if n.startswith("test-http-") and
             n.endswith(".js")]
    for name in names:
        raw = corpus.read_bytes("%s/%s" % (FOLDER, name)).decode("utf-8")
        text = strip_comments(raw)
        if "HTTP/1." not in text or not re.search(
                r"net\.(connect|createConnection|createServer|Server)\b", text):
            continue
        options = [o for o in OPTIONS if o in raw]  # `// Flags:` lines included
        ps = parts(text)
        n = 0
        raw_server = re.search(r"net\.(createServer|Server)\b", text)
        raw_client = re.search(r"net\.(connect|createConnection)\b", text)
        for k, part in enumerate(ps):
            for data, role in messages(part):
                if (role == "client" and not raw_server) or (role == "server"
                                                             and not raw_client):
                    continue  # what the test expects to read, not what it sends
                n += 1
                v = verdict(part, role)
                if v is None and len(ps) > 1:
                    v = verdict(text, role)
                if not re.search(rb"\r?\n\r?\n", data):
                    fragments.append((name, data))
                    continue  # the test sends the rest in other writes
                case = {"file": name, "line": k + 1, "name": name, "n": n, "input": data,
                        "role": role, "expect": v, "options": options}
                (out if v in ("refuse", "accept") else unread).append(case)
    for c in out + unread:
        c["count"] = sum(1 for d in out + unread if d["file"] == c["file"])
    return out, unread, fragments


# ------------------------------------------------------------------------ comparison


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, case["role"], fed, points, HOST_FIELD)
    msgs = ours["msgs"]
    first = h1dump_io.read_events(whole, fed, first_only=True)
    if ours["crash"]:
        agree = False
    elif case["role"] == "server":
        # Node's server calls its handler once a head is parsed, before the body
        agree = bool(msgs) if case["expect"] == "accept" else \
            not msgs and bool(ours["failure"])
    elif case["expect"] == "accept":
        agree = first["ended"] or (bool(msgs) and not ours["error"])
    else:
        agree = bool(ours["error"])
    return h1dump_io.verdict(agree, None, ours, [], runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def label(r, j=None):
    return "%s%s%s%s" % (r["file"], " #%d" % r["n"] if r["count"] > 1 else "",
                         " (response)" if r["role"] == "client" else "",
                         " [%s]" % ", ".join(r["options"]) if r["options"] else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("node", "Node.js source tree or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.node, args.rev, MARKER)
    all_cases, unread, fragments = cases(corpus)

    results = []
    for c in all_cases:
        add = (lambda d: h1dump_io.add_host(d, HOST)) if c["role"] == "server" \
            else (lambda d: (d, []))
        plain, hosted, host_added = h1dump_io.judge_with_host(judge, h1dump, c, add)
        results.append({"file": c["file"], "n": c["n"], "count": c["count"],
                        "role": c["role"], "input": c["input"].decode("latin-1"),
                        "expect": c["expect"], "options": c["options"],
                        "node": "refuses" if c["expect"] == "refuse" else "accepts",
                        "plain": plain, "hosted": hosted, "host_added": host_added})
    counted = [r for r in results if not r["options"]]
    optional = [r for r in results if r["options"]]

    version = "unknown"
    try:
        v = corpus.read_bytes("src/node_version.h").decode()
        version = ".".join(re.search(r"#define NODE_%s_VERSION (\d+)" % k, v).group(1)
                           for k in ("MAJOR", "MINOR", "PATCH"))
    except (OSError, subprocess.CalledProcessError, AttributeError):
        pass
    print("Node.js: %s, %s (%s)" % (version, corpus.commit(), args.node))
    print("messages whose verdict the script cannot read (%d):" % len(unread))
    for c in unread:
        print("  %s: %s %r" % (label(c), c["expect"] or "no verdict", c["input"][:70]))
    print("messages sent in pieces, the first without the end of its head (%d):"
          % len(fragments))
    for name, data in fragments:
        print("  %s: %r" % (name, data[:70]))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(counted, h1dump_io.show_case(label, "node"), args.verbose,
                                  ("messages in files with a non-default parser option "
                                   "(not counted):", optional))
    print("cases: %d (%d requests, %d responses; %d with a non-default option, not "
          "counted); Host supplied in %d" % (
              len(results), sum(r["role"] == "server" for r in results),
              sum(r["role"] == "client" for r in results), len(optional),
              sum(r["host_added"] for r in counted)))
    row = h1dump_io.summary_table(24, "Node's verdict")
    for role, word in (("server", "request"), ("client", "response")):
        for v in ("accept", "refuse"):
            row("%s %s" % (word, v), [r for r in counted
                                      if r["role"] == role and r["expect"] == v])
    row("all (default options)", counted)
    row("non-default options", optional)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
