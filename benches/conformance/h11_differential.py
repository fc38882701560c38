#!/usr/bin/env python3
"""Differential run against Python's h11 on the inputs of the llhttp and http-parser corpora.

    cargo build --example h1dump
    PYTHON -m pip install h11==0.16.0     # or any interpreter with h11
    PYTHON benches/conformance/h11_differential.py LLHTTP HTTP_PARSER [--h1dump PATH]
                                                   [--verbose] [--json OUT]

LLHTTP and HTTP_PARSER are checkouts or bare git directories, as for llhttp_corpus.py and
http_parser_corpus.py, whose extraction this script imports (same cases: llhttp's default-mode
cases, with `--method HEAD` for the response `skipBody` one; http-parser's three tables,
`messages`, `head` with `--method HEAD`, and `vectors`). See docs/conformance.md ("h11 on the
same inputs").

Each input is fed to h11 the way h1dump feeds it to the core, then the end of input:

  server  h11.Connection(h11.SERVER); each complete request is answered with an empty 200
          (Content-Length: 0) and the next cycle started, so pipelined requests are read.
          A request with an Upgrade field is answered 101 naming the first protocol
          offered, a CONNECT 200; once switched, h11's trailing_data is the rest.
  client  h11.Connection(h11.CLIENT); a request (method --method, default GET, target `/`,
          Host, `Connection: upgrade`, `Upgrade: h2c`) is sent whenever a response may be
          starting (no response outstanding, bytes left, connection kept). h11 does not
          pipeline: it sends one, reads its response, then sends the next; only the received
          bytes matter.

Both sides are reduced to: the messages (method, target, version, status, header fields
with lowercase names, body bytes, trailer fields), where the connection switched, and
whether it ended in an error (ending mid-message at the end of input is an error on both
sides). Agreement: both accept with identical messages, or both reject. Our side is run
whole and with `--split 1`; the two outputs must be identical.
"""

import json
import os
import re
import sys
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor

import h11

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_parser_corpus as hp  # noqa: E402
import llhttp_corpus as ll  # noqa: E402
import h1dump_io  # noqa: E402
from h1dump_io import latin1, read_events, run_h1dump  # noqa: E402


# ---------------------------------------------------------------------------- inputs


def llhttp_inputs(path, rev):
    """(corpus, label, role, method, bytes), as llhttp_corpus.py selects them."""
    corpus = ll.Corpus(path, rev)
    out, skipped = [], Counter()
    for name in corpus.files():
        for line, heading, meta, http, _log in ll.parse_md(corpus.read(name)):
            ty = (meta or {}).get("type")
            method = None
            if ty not in ll.DEFAULT_TYPES:
                skipped[str(ty)] += 1
                continue
            if meta.get("pause"):
                skipped["pause mode"] += 1
                continue
            if meta.get("skipBody"):
                if not ty.startswith("response"):
                    skipped["skipBody (request)"] += 1
                    continue
                method = "HEAD"
            try:
                data = ll.decode_input(http)
            except ValueError as e:
                skipped[str(e)] += 1
                continue
            role = "server" if ty.startswith("request") else "client"
            label = "%s:%d %s" % (name.replace("test/", ""), line, heading)
            out.append(("llhttp", label, role, method, data))
    return out, corpus.commit(), skipped


def http_parser_inputs(path, rev):
    """(corpus, label, role, method, bytes), as http_parser_corpus.py selects them
    (HTTP_PARSER_STRICT=0)."""
    corpus = hp.Corpus(path, rev)
    src = corpus.read("test.c")
    methods = hp.method_names(corpus.read("http_parser.h"))
    toks = hp.tokenize(src, False)
    out = []
    for kind in ("requests", "responses"):
        items, _ = hp.find_array(toks, kind)
        for idx, (_, entry) in enumerate(items):
            m = hp.to_message(entry, methods, idx, kind)
            label = "%s[%d] %s" % (kind, idx, m["name"])
            role = "server" if m["request"] else "client"
            out.append(("http-parser", "messages " + label, role, None, m["raw"]))
            if not m["request"]:
                out.append(("http-parser", "head " + label, role, "HEAD", m["raw"]))
    for label, req, data, _err in hp.main_vectors(src, False):
        out.append(("http-parser", "vectors " + label, "server" if req else "client", None,
                    data))
    return out, corpus.commit()


# ------------------------------------------------------------------------ our side


def new_msg(kind):
    return {"kind": kind, "method": None, "target": None, "version": None, "status": None,
            "headers": [], "body": b"", "trailers": []}


def ours(output, data):
    ours = read_events(output, data)
    msgs = []
    for m in ours["msgs"]:
        msg = new_msg(m["kind"])
        if m["kind"] == "request":
            msg["method"] = latin1(m["method"])
            msg["target"] = m["target"]
        else:
            msg["status"] = m["status"]
        msg.update(version=m["version"], headers=m["headers"], body=m["body"],
                   trailers=m["trailers"])
        msgs.append(msg)
    # An input that ends mid-message is an error on both sides here.
    return {"error": ours["error"] or ours["failure"], "msgs": msgs,
            "switch_at": ours["switch_at"], "closed": ours["closed"]}


# ------------------------------------------------------------------------ h11's side


def fields(headers):
    return [(bytes(n).lower(), bytes(v)) for n, v in headers]


def offered(headers):
    """The protocol h1dump's 101 names: the first one the Upgrade field lists."""
    for n, v in headers:
        if n == b"upgrade":
            first = [p.strip(b" \t") for p in v.split(b",") if p.strip(b" \t")]
            return first[0] if first else v
    return None


def h11_server(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    msgs, error, switch_at, closed = [], None, None, False
    upgrade, connect = None, False
    try:
        while True:
            ev = conn.next_event()
            if isinstance(ev, h11.Request):
                m = new_msg("request")
                m["method"], m["target"] = bytes(ev.method), bytes(ev.target)
                m["version"] = ev.http_version.decode()
                m["headers"] = fields(ev.headers)
                msgs.append(m)
                upgrade, connect = offered(m["headers"]), m["method"] == b"CONNECT"
            elif isinstance(ev, h11.Data):
                msgs[-1]["body"] += bytes(ev.data)
            elif isinstance(ev, h11.EndOfMessage):
                msgs[-1]["trailers"] = fields(ev.headers)
                if upgrade is not None and conn.their_state is h11.MIGHT_SWITCH_PROTOCOL:
                    conn.send(h11.InformationalResponse(status_code=101,
                                                        headers=[(b"Upgrade", upgrade)]))
                elif connect:
                    conn.send(h11.Response(status_code=200, headers=[]))
                else:
                    conn.send(h11.Response(status_code=200,
                                           headers=[(b"Content-Length", b"0")]))
                    conn.send(h11.EndOfMessage())
                if conn.their_state is h11.SWITCHED_PROTOCOL:
                    switch_at = len(data) - len(conn.trailing_data[0])
                    break
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
            elif isinstance(ev, h11.ConnectionClosed):
                closed = True
                break
            else:  # NEED_DATA after the end of input, or PAUSED
                error = "h11 stopped: %r" % (ev,)
                break
    except h11.ProtocolError as e:
        error = "%s: %s (%s)" % (type(e).__name__, e, e.error_status_hint)
    return {"error": error, "msgs": msgs, "switch_at": switch_at, "closed": closed}


def h11_client(data, method):
    method = (method or "GET").encode()
    conn = h11.Connection(h11.CLIENT)
    msgs, error, switch_at, closed = [], None, None, False

    def send_request():
        target = b"h1dump.invalid:443" if method == b"CONNECT" else b"/"
        conn.send(h11.Request(method=method, target=target, headers=[
            (b"Host", b"h1dump.invalid"), (b"Connection", b"upgrade"), (b"Upgrade", b"h2c")]))
        conn.send(h11.EndOfMessage())

    try:
        if data:
            send_request()
        conn.receive_data(data)
        conn.receive_data(b"")
        while True:
            ev = conn.next_event()
            if isinstance(ev, (h11.InformationalResponse, h11.Response)):
                m = new_msg("informational" if ev.status_code < 200 else "response")
                m["status"] = ev.status_code
                m["version"] = ev.http_version.decode()
                m["headers"] = fields(ev.headers)
                msgs.append(m)
            elif isinstance(ev, h11.Data):
                msgs[-1]["body"] += bytes(ev.data)
            elif isinstance(ev, h11.EndOfMessage):
                msgs[-1]["trailers"] = fields(ev.headers)
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                    if conn.trailing_data[0]:
                        send_request()
            elif isinstance(ev, h11.ConnectionClosed):
                closed = True
                break
            elif ev is h11.PAUSED and conn.our_state is h11.SWITCHED_PROTOCOL:
                pass
            else:
                error = "h11 stopped: %r" % (ev,)
                break
            if conn.our_state is h11.SWITCHED_PROTOCOL:
                switch_at = len(data) - len(conn.trailing_data[0])
                break
    except h11.ProtocolError as e:
        error = "%s: %s (%s)" % (type(e).__name__, e, e.error_status_hint)
    return {"error": error, "msgs": msgs, "switch_at": switch_at, "closed": closed}


# ------------------------------------------------------------------------ comparison


def compare(a, b):
    """Differences between two accepted outcomes (a: h11, b: ours)."""
    diffs = []
    if len(a["msgs"]) != len(b["msgs"]):
        diffs.append("messages: h11 %d, ours %d" % (len(a["msgs"]), len(b["msgs"])))
    for i, (x, y) in enumerate(zip(a["msgs"], b["msgs"])):
        for key in ("kind", "method", "target", "version", "status", "headers", "body",
                    "trailers"):
            if x[key] != y[key]:
                vx, vy = x[key], y[key]
                if key == "body" and len(vx) + len(vy) > 200:
                    vx, vy = "%d bytes" % len(vx), "%d bytes" % len(vy)
                diffs.append("message %d %s: h11 %r, ours %r" % (i + 1, key, vx, vy))
    if a["switch_at"] != b["switch_at"]:
        diffs.append("switch: h11 %s, ours %s" % (a["switch_at"], b["switch_at"]))
    return diffs


def describe(o):
    if o["error"]:
        return "rejects after %d message(s): %s" % (len(o["msgs"]), o["error"])
    parts = ["%d message(s)" % len(o["msgs"])]
    if o["switch_at"] is not None:
        parts.append("switch at %d" % o["switch_at"])
    if o["closed"]:
        parts.append("closed")
    return "accepts: " + ", ".join(parts)


def classify(inp, h, u, diffs):
    """The cause of a disagreement, from docs/conformance.md's documented choices; None when
    no rule matches (to be looked at by hand)."""
    data, role = inp["data"], inp["role"]
    he, ue = h["error"] or "", u["error"] or ""
    if ue and "missing Host" in ue and not he:
        return "Host: repeated or malformed Host refused by us only"
    if "expecting EOF" in he and not ue:
        # Errors are ours only where the peer's own message closed (RFC 9112 §9.6); bytes
        # after a close we decided (an HTTP/1.0 response), or empty lines, are dropped.
        return "Data after a close we decided, or empty lines after any: h11 error, we discard"
    if he and "Transfer-Encoding" in he and not ue and role == "client":
        return ("Response coding other than final chunked: h11 refuses, we read until the "
                "close (RFC 9112 §6.3(4))")
    if he.startswith("RemoteProtocolError: no request line received") or \
            he.startswith("LocalProtocolError: no response line received") or \
            (he and "no re" in he and "line received" in he):
        return "Empty lines before a start line: h11 refuses, we skip"
    if ue and ("bare LF" in ue or "LF" in ue.split("(")[0]) and not he:
        return "Bare LF line ends: h11 accepts, we refuse"
    if ue and "fold" in ue and not he:
        return "obs-fold in a request: h11 joins, we refuse"
    if not ue and not he and any("headers" in d or "trailers" in d for d in diffs) and \
            any(b in data for b in (b"\r\n ", b"\r\n\t", b"\n ", b"\n\t")):
        return "obs-fold in a response: joined differently"
    if "unsupported HTTP version" in ue and not he:
        return "HTTP/0.9 and major versions other than 1 refused (h11 reads the status line)"
    if "asterisk-form" in ue and not he:
        return "asterisk-form only for OPTIONS"
    if not ue and not he and role == "server" and data.startswith(b"CONNECT ") and \
            any("switch" in d for d in diffs):
        return "CONNECT with Content-Length: h11 reads a body, we tunnel after the head"
    if "chunk extension" in ue and not he:
        if re.search(rb"\r\n[0-9A-Fa-f]+[ \t]+\r\n", data):
            return "Whitespace after the chunk size refused"
        return "Chunk extension grammar (empty name after `;`): h11 does not check it"
    if "invalid character in a header field value" in ue and not he:
        return "Other CTLs in field values refused"
    if "Transfer-Encoding in an HTTP/1.0" in ue and not he:
        return "Transfer-Encoding in an HTTP/1.0 request refused"
    return None


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(
        __doc__, ("llhttp", "llhttp checkout or bare git directory"),
        ("http_parser", "http-parser checkout or bare git directory"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 4)
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)

    l_inputs, l_commit, l_skipped = llhttp_inputs(args.llhttp, args.rev)
    p_inputs, p_commit = http_parser_inputs(args.http_parser, args.rev)
    inputs = [dict(zip(("corpus", "label", "role", "method", "data"), t))
              for t in l_inputs + p_inputs]

    def run(inp):
        data, role, method = inp["data"], inp["role"], inp["method"]
        whole = run_h1dump(h1dump, role, method, data, 0)
        bytewise = run_h1dump(h1dump, role, method, data, 1)
        u = ours(whole, data)
        h = h11_server(data) if role == "server" else h11_client(data, method)
        diffs = []
        if bool(u["error"]) != bool(h["error"]):
            agree = False
        elif u["error"]:
            agree = True
        else:
            diffs = compare(h, u)
            agree = not diffs
        r = {"corpus": inp["corpus"], "case": inp["label"], "role": role,
             "method": method, "agree": agree, "h11": describe(h), "ours": describe(u),
             "diffs": diffs, "split_consistent": whole == bytewise,
             "input": data.decode("latin-1"), "whole": whole}
        r["cause"] = None if agree else classify(inp, h, u, diffs)
        return r

    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run, inputs))

    print("h11 %s; llhttp %s (%s); http-parser %s (%s)" % (
        h11.__version__, l_commit, args.llhttp, p_commit, args.http_parser))
    print("llhttp cases skipped (non-default modes): %s" % (
        ", ".join("%s %d" % kv for kv in l_skipped.items()) or "none"))
    print()
    inconsistent = [r for r in results if not r["split_consistent"]]
    if inconsistent:
        print("!!! WHOLE vs BYTE-BY-BYTE DIFFER (bugs of ours): %d input(s)" % len(inconsistent))
        for r in inconsistent:
            print("  %s %s" % (r["corpus"], r["case"]))
        print()

    groups = OrderedDict()
    for r in results:
        if not r["agree"]:
            groups.setdefault(r["cause"] or "UNCLASSIFIED", []).append(r)
    print("disagreements by cause:")
    for cause, rows in sorted(groups.items(), key=lambda kv: (kv[0] == "UNCLASSIFIED",
                                                              -len(kv[1]))):
        print("\n  %s (%d)" % (cause, len(rows)))
        for r in rows:
            print("    [%s, %s%s] %s" % (r["corpus"], r["role"],
                                       ", " + r["method"] if r["method"] else "", r["case"]))
            shown = r["input"].encode("latin-1")
            print("        input: %r%s" % (shown[:200], " ... (%d bytes)" % len(shown)
                                           if len(shown) > 200 else ""))
            print("        h11  %s" % r["h11"])
            print("        ours %s" % r["ours"])
            for d in r["diffs"]:
                print("        differs: %s" % d[:300])
    if args.verbose:
        print("\nagreements:")
        for r in results:
            if r["agree"]:
                print("  [%s, %s] %s: %s" % (r["corpus"], r["role"], r["case"], r["ours"]))
    print()

    def row(label, rows):
        n = len(rows)
        a = sum(r["agree"] for r in rows)
        rej = sum(1 for r in rows if r["agree"] and r["ours"].startswith("rejects"))
        print("%-22s %6d %6d %7.1f%%   (both reject: %d)" % (label, n, a,
                                                           100.0 * a / n if n else 0, rej))

    print("%-22s %6s %6s %8s" % ("inputs", "count", "agree", ""))
    for corpus in ("llhttp", "http-parser"):
        for role in ("server", "client"):
            row("%s %s" % (corpus, role),
                [r for r in results if r["corpus"] == corpus and r["role"] == role])
        row("%s (all)" % corpus, [r for r in results if r["corpus"] == corpus])
    for role in ("server", "client"):
        row("%s (both corpora)" % role, [r for r in results if r["role"] == role])
    row("all", results)
    print("whole vs byte-by-byte: %d inputs consistent, %d differ" % (
        len(results) - len(inconsistent), len(inconsistent)))
    if args.json:
        for r in results:
            r.pop("whole", None)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if inconsistent else 0


if __name__ == "__main__":
    sys.exit(main())
