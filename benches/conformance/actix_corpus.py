#!/usr/bin/env python3
"""Run actix-http's HTTP/1 decoder tests (the tests modules of
actix-http/src/h1/decoder.rs and chunked.rs) through h1dump and count where the core
agrees.

    cargo build --example h1dump
    python3 benches/conformance/actix_corpus.py ACTIX [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

ACTIX is an actix-web checkout (a directory with actix-http/src/h1/decoder.rs) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in this
repository: the files are read at run time, and in each `mod tests` each `#[test]`
function is cut at every `BytesMut::from(LITERAL)`, each one message (a Rust string or byte-string
literal, unescaped as rustc does, line continuations included; later `buf.extend(b"...")`
calls are appended to it). A message decoded by `MessageDecoder::<ResponseHead>` is a
response (`h1dump --role client`), any other a request (`--role server`); each is fed
whole and with --split 1, then the end of input.

actix's verdict for each message, read from what the test does with it:

  refused   `expect_parse_err!(...)` or `.unwrap_err()` (on the head or on the payload
            decoder): we refuse (an error of ours other than the input ending
            mid-message).
  accepted  `parse_ready!(...)`, `.unwrap().unwrap()` on the decoder or a match of its
            `Ok(Some((req, _)))` that goes on with the request (a complete head):
            we deliver it, and refuse nothing until the end of input (an input that ends
            inside a body actix does not read, or a message that our reading closes after
            and the input goes on, is not counted against us). Then what the test asserts
            is compared: the method (`Method::X`), the version, the path (`req.path()`:
            the target up to a `?`; these three of the first message or of a later one,
            as a test may go on to decode the next message of its buffer), a header
            value (`.get("name")`, `HeaderName::try_from("name")`), and the body (the
            `PayloadItem::Chunk`s or `.chunk()`s compared, joined in order: our body
            starts with them).

Connection-type and upgrade assertions (what actix decides of the Connection and Upgrade
fields) are not compared; neither are assertions on the payload decoder's type.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; actix's decoder does not check; the added
field is left out of the comparison). Whole and byte-by-byte outputs of h1dump must be
identical, and h1dump must not fail; any case where either happens is listed first, as a
bug of ours.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

PATH = "actix-http/src/h1/decoder.rs"
PATHS = (PATH, "actix-http/src/h1/chunked.rs")
HOST = b"Host: actix.invalid\r\n"
HOST_FIELD = (b"host", b"actix.invalid")


# ------------------------------------------------------------------------ the corpus


def rust_literal(text, i):
    """The bytes of the Rust string or byte-string literal starting at text[i] (`"`, `b"`,
    `r"`, `r#"`), and the index after it."""
    raw = False
    byte = text[i] == "b"
    if byte:
        i += 1
    if text[i] == "r":
        raw = True
        i += 1
        hashes = 0
        while text[i] == "#":
            hashes += 1
            i += 1
        assert text[i] == '"'
        end = text.index('"' + "#" * hashes, i + 1)
        return text[i + 1:end].encode("utf-8"), end + 1 + hashes
    assert text[i] == '"', text[i:i + 20]
    i += 1
    out = bytearray()
    while text[i] != '"':
        c = text[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = text[i + 1]
        i += 2
        if e == "\n":
            while text[i] in " \t\n\r":
                i += 1
        elif e in "nrt0\\\"'":
            out += {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\",
                    '"': b'"', "'": b"'"}[e]
        elif e == "x":
            out.append(int(text[i:i + 2], 16))
            i += 2
        elif e == "u":
            end = text.index("}", i)
            out += chr(int(text[i + 1:end], 16)).encode("utf-8")
            i = end + 1
        else:
            raise ValueError("escape \\%s" % e)
    return bytes(out), i + 1


def tests(text):
    """(name, line, body) of every #[test] function of the tests module."""
    start = text.index("mod tests")
    out = []
    for m in re.finditer(r"#\[test\]\s*fn (\w+)\(\)\s*\{", text[start:]):
        i = start + m.end()
        depth, j = 1, i
        while depth:
            c = text[j]
            if text.startswith("//", j):
                j = text.index("\n", j)
                continue
            if c == '"' or (c in "br" and text[j + 1] in '"#' and not text[j - 1].isalnum()):
                try:
                    _, j = rust_literal(text, j)
                    continue
                except (AssertionError, ValueError):
                    pass
            depth += {"{": 1, "}": -1}.get(c, 0)
            j += 1
        out.append((m.group(1), text.count("\n", 0, start + m.start()) + 1, text[i:j - 1]))
    return out


def literal_after(body, pos):
    """The literal that follows `pos` (skipping spaces, `&mut`, `(`), and its end."""
    m = re.compile(r'[\s(&mut]*').match(body, pos)
    return rust_literal(body, m.end())


CHECKS = [
    (re.compile(r"\*req\.method\(\),\s*Method::(\w+)"), "method"),
    (re.compile(r"req\.version\(\),\s*Version::HTTP_(\d)(\d)"), "version"),
    (re.compile(r'req\.path\(\),\s*"([^"]*)"'), "path"),
]


def cases(text, path):
    out = []
    for name, line, body in tests(text):
        starts = [m for m in re.finditer(r"BytesMut::from\(", body)]
        for k, m in enumerate(starts):
            data, after = literal_after(body, m.end())
            seg_end = starts[k + 1].start() if k + 1 < len(starts) else len(body)
            before = body[starts[k - 1].end() if k else 0:m.start()]
            seg = body[after:seg_end]
            for e in re.finditer(r"buf\.extend(?:_from_slice)?\(", seg):
                more, _ = literal_after(seg, e.end())
                data += more
            if re.search(r"expect_parse_err!\(\s*(&mut\s*)?$", before) or \
                    "expect_parse_err!(&mut buf)" in seg or ".unwrap_err()" in seg:
                expect = "refuse"
            elif re.search(r"parse_ready!\(\s*&mut\s*$", before) or \
                    "parse_ready!(&mut buf)" in seg or \
                    re.search(r"\.decode\(&mut buf\)\.unwrap\(\)\.unwrap\(\)", seg) or \
                    re.search(r"Ok\(Some\(\(req, _\)\)\) => \{", seg):
                expect = "accept"
            else:
                expect = None
            role = "client" if "MessageDecoder::<ResponseHead>" in seg else "server"
            checks = []
            for rx, what in CHECKS:
                for c in rx.finditer(seg):
                    checks.append((what, ".".join(c.groups()) if what == "version"
                                   else c.group(1)))
            for c in re.finditer(r'get\((?:HeaderName::try_from\()?"([^"]+)"', seg):
                v = re.search(r'as_bytes\(\),\s*(b?"[^"]*")(\.as_bytes\(\))?', seg[c.end():])
                if v:
                    checks.append(("header", (c.group(1).lower().encode(),
                                              rust_literal(v.group(1), 0)[0])))
            for c in re.finditer(r'(?:from_static\(|chunk\(\)\.as_ref\(\),\s*)(b")', seg):
                checks.append(("body", rust_literal(seg, c.start(1))[0]))
            out.append({"name": name, "line": line, "n": k + 1, "input": data,
                        "role": role, "expect": expect, "checks": checks,
                        "file": path})
    for c in out:
        c["count"] = sum(1 for d in out if d["name"] == c["name"])
        bodies = [v for w, v in c["checks"] if w == "body"]
        c["checks"] = [(w, v) for w, v in c["checks"] if w != "body"]
        if bodies:
            c["checks"].append(("body", b"".join(bodies)))
    return out


# ------------------------------------------------------------------------ comparison


def compare(checks, msgs):
    """How our messages differ from what the test asserts: the body and header values of
    the first; the method, version and path of any (a test may go on to decode the next
    message of its buffer and assert those of it)."""
    diffs = []
    msg = msgs[0]
    for what, want in checks:
        if what in ("method", "version", "path"):
            gots = [m["method"] if what == "method" else m["version"] if what == "version"
                    else m["target"].split(b"?")[0].decode("latin-1") for m in msgs]
            if want not in gots:
                diffs.append("%s %r vs %r" % (what, want, gots[0]))
            continue
        elif what == "header":
            name, want = want
            got = next((v for n, v in msg["headers"] if n == name), None)
        elif what == "body":
            got = msg["body"][:len(want)]
        if got != want:
            diffs.append("%s %r vs %r" % (what, want, got))
    return diffs


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, case["role"], fed, points, HOST_FIELD)
    msgs, diffs = ours["msgs"], []
    if ours["crash"]:
        agree = False
    elif case["expect"] == "refuse":
        agree = bool(ours["error"])
        if msgs and not ours["error"]:
            diffs.append("delivered, refused nothing")
    else:
        # an error after the first message has ended (the input going on after a
        # close) is no refusal of it
        first = h1dump_io.read_events(whole, fed, first_only=True)
        agree = bool(msgs) and (not ours["error"] or first["ended"])
        if msgs:
            diffs = compare(case["checks"], msgs)
        agree = agree and not diffs
    return h1dump_io.verdict(agree, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def actix_says(case):
    if case["expect"] == "refuse":
        return "refuses (a ParseError)"
    return "accepts%s" % ("; checks " + ", ".join("%s=%r" % c for c in case["checks"])
                          if case["checks"] else "")


def label(r, j=None):
    return "%s:%d %s%s%s" % (os.path.basename(r["file"]), r["line"], r["name"], " #%d" % r["n"]
                                      if r["count"] > 1 else "",
                                      " (response)" if r["role"] == "client" else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("actix", "actix-web checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.actix, args.rev, PATH)
    all_cases = []
    for path in PATHS:
        all_cases += cases(corpus.read_bytes(path).decode("utf-8"), path)
    counted = [c for c in all_cases if c["expect"]]
    unread = [c for c in all_cases if not c["expect"]]

    results = []
    for c in counted:
        add = (lambda d: h1dump_io.add_host(d, HOST)) if c["role"] == "server" \
            else (lambda d: (d, []))
        plain, hosted, host_added = h1dump_io.judge_with_host(judge, h1dump, c, add)
        results.append({"file": c["file"], "name": c["name"], "line": c["line"], "n": c["n"],
                        "count": c["count"], "role": c["role"],
                        "input": c["input"].decode("latin-1"), "expect": c["expect"],
                        "actix": actix_says(c), "plain": plain, "hosted": hosted,
                        "host_added": host_added})

    print("actix-web: %s (%s)" % (corpus.commit(), args.actix))
    print("messages with no verdict the script reads (%d):" % len(unread))
    for c in unread:
        print("  %s:%d %s #%d: %r" % (os.path.basename(c["file"]), c["line"], c["name"],
                                      c["n"], c["input"][:60]))
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(results, h1dump_io.show_case(label, "actix"), args.verbose)
    print("cases: %d (%d requests, %d responses); Host supplied in %d" % (
        len(results), sum(r["role"] == "server" for r in results),
        sum(r["role"] == "client" for r in results), sum(r["host_added"] for r in results)))
    row = h1dump_io.summary_table(20, "actix's verdict")
    for v in ("accept", "refuse"):
        row(v, [r for r in results if r["expect"] == v])
    row("all", results)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
