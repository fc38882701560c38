#!/usr/bin/env python3
"""Run Twisted's HTTPChannel parsing tests and chunked-decoder tests (classes ParsingTests
and ChunkedTransferEncodingTests of src/twisted/web/test/test_http.py) through h1dump and
count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/twisted_corpus.py TWISTED [--rev REV] [--h1dump PATH]
                    [--verbose] [--json OUT]

TWISTED is a Twisted checkout (a directory with src/twisted/web/test/test_http.py) or a
bare git directory of one (read at HEAD, or at --rev). Nothing of the corpus is kept in
this repository: the file is read at run time, and each test method of ParsingTests is
run on its own (Twisted need not be installed) with a stand-in `self` whose two helpers
record what the test sends instead of sending it:

  runRequest(REQUEST, factory, success=True)  Twisted's helper replaces every "\\n" of
            REQUEST with "\\r\\n", feeds it to an HTTPChannel one byte at a time, and
            asserts that the test's flag `didRequest` was set (`success` true), or not.
            Most tests pass `success=0` and look at what their own request class
            recorded instead: the request was processed when the method reads
            `processed[0]` or `[request] = processed` (or pops its `requests`), or
            expects a `200 OK` answer (or `success` is true), refused when it expects
            `processed` empty or a `400 Bad Request` answer; a method with neither is
            listed.
  assertRequestRejected(LINES)  the lines joined with "\\n", then as runRequest with
            success false, and the answer must be 400 and a close.

A request sent over a channel the test made and configured itself (`channel=`: other
limits on the head) is run and listed, not counted. Every other name the methods use
(Twisted's modules, `self.assert*`, the channel they get back) is a permissive stand-in
that accepts anything, so the assertions the methods make on what Twisted parsed (headers,
arguments, bodies) are not checked; only the verdict is.
Python's own modules (base64) are the real ones. A method that fails under the stand-ins
keeps the requests it sent before failing (its later checks of what Twisted parsed are
what the stand-ins cannot answer); one that fails before sending any is listed.

What is run: each REQUEST, as Twisted's helper rewrites it, through `h1dump --role server`,
whole and with --split 1, then the end of input. How a verdict maps to ours:

  processed      we deliver a request and it ends (Twisted processes a request once
                 its body is in).
  not processed  we deliver no request, or refuse it (or the input ends) before it has
                 ended.

ChunkedTransferEncodingTests feeds a `_ChunkedTransferDecoder` a chunked body. Each
decoder a method makes is a case (a stand-in records what it is given), its bytes put
after `POST / HTTP/1.1`, a Host and `Transfer-Encoding: chunked`:

  refused   `assertRaises(E, decoder.dataReceived, DATA)`: we refuse (an error other than
            the input ending) before the body ends; `assertRaises(E,
            decoder.noMoreData)`: we refuse, the end of input included.
  decoded   otherwise: we refuse nothing in the body (it may stop before its last chunk,
            or be followed by other bytes), and our body starts with what the test's data
            callback must have received (`assertEqual(L, [...])`, L.append the callback).

A decoder whose attributes the test sets (a smaller trailer limit) is run and listed, not
counted; so is a call made after the body has ended (`RuntimeError`: the decoder's API).
Twisted's chunk line limit, `maxChunkSizeLineLength`, is read from
src/twisted/web/http.py.

The figure is given as is and with a `Host` field supplied to HTTP/1.1 requests that have
none (the core refuses those, RFC 9112 §3.2; Twisted does not check; the added field is
left out of the comparison). Whole and byte-by-byte outputs of h1dump must be identical,
and h1dump must not fail; any case where either happens is listed first, as a bug of ours.
"""

import ast
import os
import re
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import h1dump_io  # noqa: E402
from h1dump_io import Source  # noqa: E402

PATH = "src/twisted/web/test/test_http.py"
HTTP_PY = "src/twisted/web/http.py"
CLASS = "ParsingTests"
CHUNKED_CLASS = "ChunkedTransferEncodingTests"
CHUNKED_HEAD = (b"POST / HTTP/1.1\r\nHost: twisted.invalid\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
HOST = b"Host: twisted.invalid\r\n"
HOST_FIELD = (b"host", b"twisted.invalid")


# ------------------------------------------------------------------------ the corpus


class Anything:
    """A stand-in that accepts every use: called, subclassed, indexed, iterated (empty),
    compared (equal to nothing)."""

    def __init__(self, *a, **k):
        pass

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()

    def __call__(self, *a, **k):
        return Anything()

    def __iter__(self):
        return iter(())

    def __getitem__(self, k):
        return Anything()

    def __setitem__(self, k, v):
        pass

    def __mro_entries__(self, bases):
        return (Anything,)

    def __bool__(self):
        return True


class Recorder:
    """The `self` of a test method: records the requests, accepts every other call."""

    def __init__(self):
        self.sent = []
        self.didRequest = False
        self.rejecting = False

    def runRequest(self, httpRequest, requestFactory=None, success=True, channel=None):
        self.sent.append((httpRequest.replace(b"\n", b"\r\n"), bool(success),
                          channel is not None, self.rejecting))
        return Anything()

    def assertRequestRejected(self, requestLines):
        self.rejecting = True
        self.runRequest(b"\n".join(requestLines), None, success=False)
        self.rejecting = False

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Anything()


class Decoder:
    """Stands in for http._ChunkedTransferDecoder: records the bytes it is given."""

    def __init__(self, rec, data_callback, finish_callback):
        self.fed, self.raises, self.nomore, self.body = [], None, False, None
        self.callback = data_callback
        self._trailerHeaders = []
        self.options = []
        rec.decoders.append(self)

    def __setattr__(self, name, value):
        if "options" in self.__dict__ and name not in ("raises", "body", "nomore"):
            # set by the test: a non-default limit
            self.options.append("%s = %r" % (name, value))
        object.__setattr__(self, name, value)

    def dataReceived(self, data):
        self.fed.append(data)

    def noMoreData(self):
        self.nomore = True


class ChunkedRecorder(Recorder):
    """The `self` of a ChunkedTransferEncodingTests method: each decoder it makes is a
    case; `assertRaises(E, decoder.dataReceived, data)` marks it refused,
    `assertRaises(E, decoder.noMoreData)` refused at the end of input, and
    `assertEqual(L, [...])`, where L.append is its data callback, gives its body."""

    def __init__(self):
        super().__init__()
        self.decoders = []

    def assertRaises(self, exc, fn, *args):
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, Decoder):
            fn(*args)
            if getattr(exc, "__name__", "") == "RuntimeError":
                owner.raises = "api"  # a call after the end: the decoder's API, not bytes
            else:
                owner.raises = "eof" if fn.__name__ == "noMoreData" else "data"
        return Anything()

    def assertEqual(self, first, second, *rest):
        for d in self.decoders:
            if getattr(d.callback, "__self__", None) is first and isinstance(second, list):
                d.body = b"".join(second)


def http_stand_in(rec, corpus):
    """`http` for the chunked tests: the decoder and its error, Twisted's chunk line
    limit (read from its http.py), anything else a stand-in."""
    m = re.search(rb"^maxChunkSizeLineLength = (\d+)", corpus.read_bytes(HTTP_PY), re.M)
    mod = Anything()
    object.__setattr__(mod, "__dict__", {
        "_ChunkedTransferDecoder": lambda d, f: Decoder(rec, d, f),
        "_MalformedChunkedDataError": type("_MalformedChunkedDataError", (Exception,), {}),
        "maxChunkSizeLineLength": int(m.group(1)) if m else 1024})
    return mod


def stdlib(name):
    """The module `name` when it is one of Python's own (base64, ...), else a stand-in."""
    top = name.split(".")[0]
    if top in getattr(sys, "stdlib_module_names", ()):
        import importlib
        return importlib.import_module(top)
    return Anything()


def module_names(tree):
    """Names the module binds at its top level to constants (bytes, str, numbers) and
    the names it imports (stand-ins), for the methods' globals."""
    env = {"networkString": lambda s: s.encode("ascii"), "iterbytes":
           lambda b: (b[i:i + 1] for i in range(len(b))), "intToBytes":
           lambda i: str(i).encode("ascii")}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                env.setdefault((a.asname or a.name).split(".")[0], stdlib(a.name))
        elif isinstance(node, ast.ImportFrom):
            for a in node.names:
                env.setdefault(a.asname or a.name, Anything())
        elif isinstance(node, ast.Assign):
            try:
                v = ast.literal_eval(node.value)
            except ValueError:
                continue
            for t in node.targets:
                if isinstance(t, ast.Name):
                    env[t.id] = v
    return env


def cases(corpus):
    text = corpus.read_bytes(PATH).decode("utf-8")
    tree = ast.parse(text)
    env = module_names(tree)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == CLASS)
    out, failed = [], []
    for fn in cls.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
            continue
        src = textwrap.dedent(ast.get_source_segment(text, fn))
        scope = dict(env)
        rec = Recorder()
        try:
            exec(compile(src, "%s:%s" % (PATH, fn.name), "exec"), scope)
            result = scope[fn.name](rec)
            if hasattr(result, "send"):  # a generator (inlineCallbacks): step it
                for _ in result:
                    pass
        except Exception as e:  # noqa: BLE001 (any failure of a stand-in)
            # what was sent before the failure (the checks of what Twisted parsed, which
            # the stand-ins cannot answer, come after) is kept
            if not rec.sent:
                failed.append((PATH, fn.lineno, fn.name, "%s: %s" % (type(e).__name__, e)))
                continue
        if not rec.sent:
            continue
        for k, (data, success, channel, rejected) in enumerate(rec.sent):
            if rejected or "400 Bad Request" in src or "processed, []" in src:
                success = False
            elif success or any(m in src for m in ("processed[0]", "processed[-1]",
                                                   "] = processed", "200 OK",
                                                   "requests.pop()")):
                success = True
            else:
                failed.append((PATH, fn.lineno, fn.name, "no verdict read"))
                continue
            out.append({"file": PATH, "line": fn.lineno, "name": fn.name, "n": k + 1,
                        "count": len(rec.sent), "input": data, "success": success,
                        "options": channel})
    chunked = next(n for n in tree.body if isinstance(n, ast.ClassDef)
                   and n.name == CHUNKED_CLASS)
    for fn in chunked.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
            continue
        src = textwrap.dedent(ast.get_source_segment(text, fn))
        rec = ChunkedRecorder()
        scope = dict(env, http=http_stand_in(rec, corpus))
        try:
            exec(compile(src, "%s:%s" % (PATH, fn.name), "exec"), scope)
            scope[fn.name](rec)
        except Exception as e:  # noqa: BLE001 (any failure of a stand-in)
            failed.append((PATH, fn.lineno, fn.name, "%s: %s" % (type(e).__name__, e)))
            continue
        decoders = [d for d in rec.decoders if d.raises != "api" and d.fed]
        for k, d in enumerate(decoders):
            out.append({"file": PATH, "line": fn.lineno, "name": fn.name, "n": k + 1,
                        "count": len(decoders), "input": CHUNKED_HEAD + b"".join(d.fed),
                        "success": d.raises is None, "eof": d.raises == "eof",
                        "body": d.body, "chunked": True, "options": d.options})
    return out, failed


# ------------------------------------------------------------------------ comparison


def judge(h1dump, case, fed, points):
    whole, ours, runs = h1dump_io.run_twice(h1dump, "server", fed, points, HOST_FIELD)
    msgs = ours["msgs"]
    first = h1dump_io.read_events(whole, fed, first_only=True)
    diffs = []
    if ours["crash"]:
        agree = False
    elif case.get("chunked"):
        # a body for the decoder alone: accepted when we refuse nothing in it (the input
        # may stop inside it, or go on after it), refused when we refuse it (at the end
        # of input, for a decoder that Twisted refuses only when no more data comes)
        if case["success"]:
            agree = bool(msgs) and (not ours["error"] or first["ended"])
            if msgs and case["body"] is not None and \
                    not msgs[0]["body"].startswith(case["body"]):
                diffs.append("body %r vs %r" % (case["body"], msgs[0]["body"]))
                agree = False
        else:
            agree = not first["ended"] and bool(ours["failure"] if case["eof"]
                                                else ours["error"])
    elif case["success"]:
        agree = first["ended"]
    else:
        agree = not first["ended"]
    return h1dump_io.verdict(agree, None, ours, diffs, runs,
                             {"hint": h1dump_io.status_hint(ours)}, bodies=True)


def label(r, j=None):
    return "test_http.py:%d %s%s" % (r["line"], r["name"],
                                     " #%d" % r["n"] if r["count"] > 1 else "")


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("twisted", "Twisted checkout or bare git "
                                              "directory"))
    args = ap.parse_args()
    h1dump = h1dump_io.find_h1dump(args.h1dump)
    corpus = Source(args.twisted, args.rev, PATH)
    all_cases, failed = cases(corpus)

    results = []
    for c in all_cases:
        plain, hosted, host_added = h1dump_io.judge_with_host(
            judge, h1dump, c, lambda d: h1dump_io.add_host(d, HOST))
        results.append({"file": c["file"], "line": c["line"], "name": c["name"],
                        "n": c["n"], "count": c["count"],
                        "input": c["input"].decode("latin-1"), "success": c["success"],
                        "twisted": ("decodes the body%s" % (
                            " to %r" % c["body"][:40] if c.get("body") is not None else "")
                            if c["success"] else "refuses the body"
                            + (" at the end of input" if c.get("eof") else ""))
                        if c.get("chunked") else "processes the request" if c["success"]
                        else "processes no request", "plain": plain, "hosted": hosted,
                        "host_added": host_added, "options": c["options"],
                        "chunked": c.get("chunked", False)})
    counted = [r for r in results if not r["options"]]
    optional = [r for r in results if r["options"]]

    print("Twisted: %s (%s)" % (corpus.commit(), args.twisted))
    h1dump_io.print_methods("test methods that failed under the stand-ins (%d):", failed)
    print()
    broken = h1dump_io.report_broken(results, "hosted", label)
    h1dump_io.print_disagreements(counted, h1dump_io.show_case(label, "twisted"),
                                  args.verbose, ("requests sent over a channel (or bodies to a "
                                                 "decoder) the test configured (not "
                                                 "counted):", optional))
    print("cases: %d (%d over a configured channel or decoder, not counted); Host supplied "
          "in %d" % (
        len(results), len(optional), sum(r["host_added"] for r in counted)))
    row = h1dump_io.summary_table(20, "Twisted's verdict")
    row("processed", [r for r in counted if r["success"] and not r["chunked"]])
    row("not processed", [r for r in counted if not r["success"] and not r["chunked"]])
    row("chunked: decoded", [r for r in counted if r["success"] and r["chunked"]])
    row("chunked: refused", [r for r in counted if not r["success"] and r["chunked"]])
    row("all (default limits)", counted)
    row("configured", optional)
    h1dump_io.print_consistency(results)
    if args.json:
        h1dump_io.write_json(args.json, results, {"results": results, "failed": failed})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
