#!/usr/bin/env python3
"""Run the HTTP responses of curl's test suite through h1dump and count where the core agrees.

    cargo build --example h1dump
    python3 benches/conformance/curl_corpus.py CURL [--rev REV] [--h1dump PATH] [--verbose]
                    [--json OUT]

CURL is a checkout of https://github.com/curl/curl (a directory with tests/data) or a bare
git directory of one (read at HEAD, or at --rev). Nothing of curl is kept in this repository:
the test files `tests/data/testNUM` are read and decoded at run time.

Decoding (docs/tests/FILEFORMAT.md, and what runtests.pl, runner.pm and the test server
sws.c do): each file is preprocessed as runner.pm's `prepro` does, line by line: `%if`,
`%else`, `%endif` (no build feature set), the variables (`%HOSTIP` 127.0.0.1, the ports,
`%TESTNUMBER`, ...), `%SP %TAB %CR %LT %GT %AMP`, `%b64[..]b64%`, `%hex[..]hex%`,
`%repeat[N x ..]%`, `%days[..]`, and the CRLF line ends forced in a `<data*>` section by
`crlf="yes"` or, for the lines that look like heads, `crlf="headers"`. The bytes the server
sends are the `<reply>` part its own reader (tests/server/getpart.c) takes, `base64` and
`nonewline` applied: `<data>`, or `<dataNUM>` when the URL's number is NUM0000+NUM (as sws
picks it). What curl is checked to have written comes from runtests.pl's reader: the
`<verify><stdout>` part when there is one, else `<reply><datacheck*>` (or `<data>` itself)
unless `nocheck`; runtests adds `--include`, so that output is the heads as received, then
the body curl read.

Which tests (the others are listed as not run, with the reason): the server is `http` alone,
curl itself runs (no libtest `<tool>`, no perl/shell command, no `<setenv>`), one plain
`http://` URL naming this test's own data, no conditional (`%if`) or included text in the
parts used, a server command among `writedelay`, `swsclose`, `connection-monitor`,
`auth_required`, `no-expect`, `delay`, and only curl options that change the request, not
how the response is read or what is written (headers, cookies, basic auth, form and upload
data, `-X` other than HEAD, `-I`, `-0`, `--http1.1`, `--connect-to`, `--resolve`, silence and
tracing; `-w`, `-D` and `--stderr` only when they do not write to the stdout checked).
Proxies, redirects (`-L`), other authentications (several requests), `--compressed`,
`--tr-encoding`, `--raw`, `--ignore-content-length`, `--http0.9`, ranges, resumes, retries,
limits, time conditions, config files and variables are not run. The served bytes must
start with a response whose heads (1xx then a final one, 101 excepted) can be told apart.

How curl's verdict maps to ours (each input through `h1dump --role client`, `--method`
the request's method, whole and with `--split 1`, then the end of input, as the test server
sends the bytes then closes or idles):

  errorcode 0 (absent)   accepted: our first final response ends, nothing refused before
                         it, and the heads as received followed by our body are exactly
                         what curl wrote (the body alone when only a verdict is known: a
                         `nocheck` without stdout, then only the verdict is compared).
                         Bytes after that response are not looked at (curl stops there).
  18 partial file        the head is delivered, then the input ends inside the body (our
                         "peer closed connection" error), with the body curl wrote.
  1, 8, 56 (unsupported protocol, weird server reply, receive failure)
                         refused before the first final response ends; an input that ends
                         inside a head is ended with CRLF CRLF (the core judges a head once
                         it is complete) and must then be refused.
  anything else          not run (errors about the request, the URL, files, limits, ...).

Responses need no Host field, so the figures are as is only (no "Host supplied" column).
Most of curl's replies are written with bare LF line ends, which curl accepts and the core
refuses (RFC 9112 §2.2 MAY; a deliberate divergence): a second column gives the figures
with the bare LFs of the heads (the whole input when its heads do not end) made CRLF, and
curl's output likewise; chunk lines and bodies are left as they are.
Whole and byte-by-byte outputs of h1dump must be identical, and h1dump must not fail; any
case where either happens is listed first, as a bug of ours (exit status 1).
"""

import base64
import json
import os
import re
import shlex
import subprocess
import sys

import h1dump_io
from h1dump_io import Source, read_events, run_h1dump

HOSTIP = b"127.0.0.1"
REFUSALS = {1: "unsupported protocol", 8: "weird server reply", 56: "receive failure",
            61: "unrecognized transfer encoding"}
SERVER_COMMANDS = ("writedelay", "swsclose", "connection-monitor", "auth_required",
                   "no-expect", "delay", "Testnum")
# curl options that change the request only: name -> takes an argument
HARMLESS = {
    "-s": False, "--silent": False, "-S": False, "--show-error": False,
    "--no-progress-meter": False, "-i": False, "--include": False, "--show-headers": False,
    "-g": False, "--globoff": False, "-4": False, "--ipv4": False, "-0": False,
    "--http1.0": False, "--http1.1": False, "-G": False, "--get": False,
    "--path-as-is": False, "-j": False, "--junk-session-cookies": False, "--basic": False,
    "-v": False, "--verbose": False, "--trace-time": False, "--form-escape": False,
    "-N": False, "--no-buffer": False, "--xattr": False, "--remote-time": False,
    "-I": False, "--head": False, "-f": False, "--fail": False,
    "-H": True, "--header": True, "-A": True, "--user-agent": True, "-e": True,
    "--referer": True, "-b": True, "--cookie": True, "-c": True, "--cookie-jar": True,
    "-u": True, "--user": True, "-d": True, "--data": True, "--data-ascii": True,
    "--data-binary": True, "--data-raw": True, "--data-urlencode": True, "--json": True,
    "-F": True, "--form": True, "--form-string": True, "-T": True, "--upload-file": True,
    "-X": True, "--request": True, "--url": True, "--url-query": True,
    "--request-target": True, "--connect-to": True, "--resolve": True, "-D": True,
    "--dump-header": True, "--stderr": True, "--trace": True, "--trace-ascii": True,
    "--libcurl": True, "--oauth2-bearer": True, "--aws-sigv4": True,
    "--haproxy-clientip": True, "--expect100-timeout": True, "--etag-save": True,
    "-w": True, "--write-out": True, "--max-redirs": True, "--httpsig-keyid": True,
    "--httpsig-algo": True, "--httpsig-key": True, "--httpsig-headers": True,
}
BODY_METHODS = {"-d": "POST", "--data": "POST", "--data-ascii": "POST", "--data-binary": "POST",
                "--data-raw": "POST", "--data-urlencode": "POST", "--json": "POST",
                "-F": "POST", "--form": "POST", "--form-string": "POST", "-T": "PUT",
                "--upload-file": "PUT"}
TO_STDOUT = {"-w", "--write-out"}


class CurlSource(Source):
    """curl's tree, from a checkout or a bare git directory."""

    def __init__(self, path, rev):
        super().__init__(path, rev, os.path.join("tests", "data"))

    def test_files(self):
        if self.is_checkout:
            names = os.listdir(os.path.join(self.path, "tests", "data"))
        else:
            out = subprocess.run(self.git + ["ls-tree", "--name-only", self.rev, "tests/data/"],
                                 capture_output=True, text=True, check=True)
            names = [n.rsplit("/", 1)[-1] for n in out.stdout.split()]
        tests = [n for n in names if re.fullmatch(r"test\d+", n)]
        return sorted(tests, key=lambda n: int(n[4:]))


# ------------------------------------------------------------------- test files


class NotRun(Exception):
    """A test whose expectation does not map cleanly to ours."""


def variables(num):
    """runner.pm's substitutions (servers.pm `subvariables`), with fixed values."""
    ports = ["DICT", "DNS", "FTP", "FTP6", "FTPS", "GOPHER", "GOPHER6", "GOPHERS", "HTTP",
             "HTTP6", "HTTPS", "HTTPS-MTLS", "HTTPSPROXY", "HTTP2", "HTTP2TLS", "HTTP3",
             "IMAP", "IMAP6", "IMAPS", "MQTT", "MQTTS", "NOLISTEN", "POP3", "POP36", "POP3S",
             "RTSP", "RTSP6", "SMB", "SMBS", "SMTP", "SMTP6", "SMTPS", "SOCKS", "SSH",
             "TELNET", "TFTP", "TFTP6"]
    out = [(b"%" + p.encode() + b"PORT", str(8990 + i).encode()) for i, p in enumerate(ports)]
    out += [(b"%PROXYPORT", b"8989"), (b"%HTTPUNIXPATH", b"http.sock"),
            (b"%SOCKSUNIXPATH", b"socks.sock"), (b"%CLIENT6IP-NB", b"::1"),
            (b"%CLIENT6IP", b"[::1]"), (b"%CLIENTIP", HOSTIP), (b"%HOST6IP", b"[::1]"),
            (b"%HOSTIP", HOSTIP), (b"%PERL", b"perl"), (b"%CURL", b"curl"),
            (b"%LOGDIR", b"log"), (b"%PWD", b"/curl/tests"), (b"%VERSION", b"8.99.0-DEV"),
            (b"%VERNUM", b"8.99.0"), (b"%DATE", b"2026-01-01"),
            (b"%TESTNUMBER", str(num).encode()), (b"%RESOLVE", b"resolve"),
            (b"%FILE_PWD", b"/curl/tests"), (b"%SCP_PWD", b"/curl/tests"),
            (b"%SFTP_PWD", b"/curl/tests"), (b"%SRCDIR", b"/curl/tests"), (b"%CERTDIR", b"."),
            (b"%USER", b"user"), (b"%DEV_NULL", b"/dev/null")]
    return out


def percent_decode(d):
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), d)


def subbase64(s):
    """testutil.pm's `subbase64`: %b64[..]b64%, %hex[..]hex%, %repeat[N x ..]%, %days[..]."""
    s = re.sub(rb"(?i)%b64\[(.*?)\]b64%",
               lambda m: base64.b64encode(percent_decode(m.group(1))), s)
    s = re.sub(rb"(?i)%hex\[(.*?)\]hex%", lambda m: percent_decode(m.group(1)), s)
    s = re.sub(rb"(?i)%repeat\[(\d+) x (.*?)\]%",
               lambda m: percent_decode(m.group(2)) * int(m.group(1)), s)
    s = re.sub(rb"(?i)%days\[(.*?)\]", b"%alternatives[0,60]", s)
    return s


def head_like(s):
    """The lines testutil.pm's `subnewlines` takes for head lines (crlf="headers")."""
    return bool(re.match(rb"HTTP/(1.1|1.0|2|3) ([1-5]|9)[^\r]*\Z", s)
                or re.match(rb"(GET|HEAD|POST|PUT|DELETE|CONNECT) \S+ HTTP/\d+(\.\d+)?", s)
                or (re.match(rb"(?i)[a-z0-9_-]+: [^\r]*\Z", s)
                    and not re.match(rb"curl: \(\d+\) ", s)))


class NewLines:
    """testutil.pm's `subnewlines`, with its memory of the previous line."""

    def __init__(self):
        self.prev = False

    def __call__(self, force, s):
        if force:
            return re.sub(rb"\r*\n", b"\r\n", s, count=1)
        if head_like(s):
            self.prev = True
            return re.sub(rb"\r*\n", b"\r\n", s, count=1)
        if s == b"\n" and self.prev:
            s = b"\r\n"
        self.prev = False
        return s


def lines_of(data):
    return re.findall(rb"[^\n]*\n|[^\n]+\Z", data)


def prepro(raw, num):
    """runner.pm's `prepro`: the preprocessed lines, each with whether it stood inside an
    `%if` (its presence depends on the build) or used a macro not evaluated here."""
    out, show, stack, data_crlf = [], True, [], ""
    subs = variables(num)
    newlines = NewLines()
    for s in lines_of(raw):
        m = re.match(rb" *%if ([A-Za-z0-9!_-]*)", s)
        if m:
            rev = m.group(1).startswith(b"!")  # no feature is set
            stack.append((show, (not rev) if show else False))
            show = show and rev
            continue
        if re.match(rb" *%else", s):
            if stack:
                show = stack[-1][1]
            continue
        if re.match(rb" *%endif", s):
            if stack:
                show = stack.pop()[0]
            continue
        if not show:
            continue
        m = re.match(rb" *<(data|connect)(.*)>", s)
        if m:
            if b'crlf="yes"' in m.group(2):
                data_crlf = "yes"
            elif b'crlf="headers"' in m.group(2):
                data_crlf = "headers"
        elif re.match(rb" *</(data|connect)", s) and data_crlf:
            data_crlf = ""
        odd = bool(stack) or bool(re.search(rb"%include|%sha256b64file|%strippemfile", s))
        for name, value in subs:
            s = s.replace(name, value)
        for name, value in ((b"%SP", b" "), (b"%TAB", b"\t"), (b"%CR", b"\r"),
                            (b"%LT", b"<"), (b"%GT", b">"), (b"%AMP", b"&")):
            s = s.replace(name, value)
        s = subbase64(s)
        if data_crlf == "yes":
            s = newlines(True, s)
        elif data_crlf == "headers":
            s = newlines(False, s)
        out.append((s, odd))
    return out


def part(lines, section, name):
    """getpart.pm's `getpart`: the lines of <section><name>, whether any is conditional,
    and the attributes of its opening tag (None when there is no such part)."""
    inside, this, odd, attrs = 0, [], False, None
    for s, o in lines:
        if not inside and re.match(rb" *<" + section, s):
            inside = 1
        elif inside >= 1 and re.match(rb" *<" + name + rb"[ >]", s):
            if inside > 1:
                this.append(s)
            elif attrs is None:
                attrs = dict(re.findall(rb'(\w+)="([^"]*)"', s))
            inside += 1
        elif inside >= 2 and re.match(rb" *</" + name + rb"[ >]", s):
            if inside > 2:
                this.append(s)
            inside -= 1
        elif inside >= 1 and re.match(rb" *</" + section, s):
            break
        elif inside >= 2:
            this.append(s)
            odd = odd or o
    return this, odd, attrs


def served(lines, name):
    """What the test server sends for <reply><name>: tests/server/getpart.c's reading
    (base64 and nonewline applied); None when there is no such part."""
    state, outer, main, sub, want, b64, nonl, buf, odd = 0, b"", b"", b"", False, False, \
        False, b"", False
    found = False
    for s, o in lines:
        p = s.lstrip(b" \t\r\n\v\f")
        if not p.startswith(b"<"):
            if want:
                buf += s
                odd = odd or o
            continue
        p = p[1:]
        if p.startswith(b"/"):
            tag = re.match(rb"[^\s>]*", p[1:]).group(0)
            if state == 3 and tag == sub:
                state, sub = 2, b""
                if want:
                    break
            elif state == 2 and tag == main:
                state, main = 1, b""
                if want:
                    break
            elif state == 1 and tag == outer:
                state = 0
                if want:
                    break
        elif not want:
            tag = re.match(rb"[^\s>]*", p).group(0)
            if tag[:1] in (b"!", b"?"):
                continue
            attr = p[len(tag):].lstrip().split(b">")[0]
            if state == 0:
                outer, state = tag, 1
            elif state == 1:
                main, state = tag, 2
            elif state == 2:
                sub, state = tag, 3
                if main == b"reply" and sub == name:
                    want = found = True
                    b64 = b"base64=" in attr
                    nonl = b"nonewline=" in attr
            continue
        if want:
            buf += s
            odd = odd or o
    if not found:
        return None, False
    if b64:
        buf = base64.b64decode(buf)
    if nonl:
        buf = buf[:-1]
    return buf, odd


def expected_text(lines, attrs):
    """A part's lines as runtests.pl compares them (`nonewline`, `crlf`), and its mode."""
    lines = list(lines)
    attrs = attrs or {}
    if attrs.get(b"nonewline") and lines:
        lines[-1] = lines[-1][:-1] if lines[-1].endswith(b"\n") else lines[-1]
    crlf = attrs.get(b"crlf")
    if crlf:
        nl = NewLines()
        lines = [nl(crlf != b"headers", s) for s in lines]
    return b"".join(lines), attrs.get(b"mode") == b"text"


def normalize_text(data):
    return re.sub(rb"\n", b"\r\n", re.sub(rb"\r\n", b"\n", data))


def heads(data):
    """The length of the heads at the start of `data` (1xx ones, then the final one), the
    final status, and the number of 1xx; None when a head does not end."""
    pos, informational = 0, 0
    while True:
        m = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", data[pos:])
        status = int(m.group(1)) if m else None
        end = re.compile(rb"\n\r?\n").search(data, pos)
        if end is None:
            return None, status, informational
        pos = end.end()
        if status is not None and 100 <= status < 200 and status != 101:
            informational += 1
            continue
        return pos, status, informational


def parse_command(cmd):
    """(method, url, path for the server, writes-to-stdout) from curl's arguments; raises
    NotRun for what does not map."""
    try:
        args = shlex.split(cmd.decode("latin-1"))
    except ValueError as err:
        raise NotRun("command not split: %s" % err)
    method, urls, target, stdout, globoff, fail = "GET", [], None, False, False, False
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if not a.startswith("-") or a == "-":
            urls.append(a)
            continue
        if a.startswith("--"):
            opts = [a]
        else:
            opts = []
            for k, ch in enumerate(a[1:]):
                o = "-" + ch
                opts.append(o)
                if HARMLESS.get(o):
                    if k + 2 < len(a):
                        args.insert(i, a[k + 2:])
                    break
        for o in opts:
            if o not in HARMLESS:
                raise NotRun("option %s" % o)
            value = None
            if HARMLESS[o]:
                if i >= len(args):
                    raise NotRun("option %s without its value" % o)
                value = args[i]
                i += 1
            if o in BODY_METHODS and method == "GET":
                method = BODY_METHODS[o]
            elif o in ("-G", "--get"):
                method = "GET!"
            elif o in ("-I", "--head"):
                method = "HEAD!"
            elif o in ("-X", "--request"):
                if value.upper() in ("HEAD", "CONNECT"):
                    raise NotRun("-X %s (curl still reads the response as to %s)" % (
                        value, "GET" if value.upper() == "HEAD" else "a proxy"))
                method = value + "!"
            elif o == "--url":
                urls.append(value)
            elif o == "--request-target":
                target = value
            elif o in ("-g", "--globoff"):
                globoff = True
            elif o in ("-f", "--fail"):
                fail = True
            if o in TO_STDOUT or (o in ("-D", "--dump-header", "--stderr", "--trace",
                                        "--trace-ascii", "--libcurl", "--etag-save")
                                  and value == "-"):
                stdout = True
    if len(urls) != 1:
        raise NotRun("%d URLs" % len(urls))
    url = urls[0]
    if re.match(r"(?i)[a-z][a-z0-9+.-]*://", url) and not url.lower().startswith("http://"):
        raise NotRun("URL scheme %s" % url.split(":")[0])
    if not globoff and re.search(r"[\[{]", url):
        raise NotRun("URL globbing (several transfers)")
    path = target or re.sub(r"^(?i:http://)?[^/?#]*", "", url)
    return method.rstrip("!"), url, path, stdout, fail


def part_number(path, num):
    """The <dataNUM> sws serves for this request target (0 for <data>): the number after
    its last slash, or this test's own when there is none there (sws then reads the test
    number runtests gave it); NotRun when the target names another test's data."""
    path = path.split("#")[0] or "/"
    m = re.match(r"\d+", path[path.rfind("/") + 1:])
    if not m:
        return 0
    testno, partno = int(m.group(0)), 0
    if testno > 10000:
        testno, partno = testno // 10000, testno % 10000
    if testno != num:
        raise NotRun("the URL names the data of test %d" % testno)
    return partno


def read_case(raw, num):
    """A test file as a case (a dict), or NotRun with the reason."""
    lines = prepro(raw, num)

    def get(section, name):
        return part(lines, section, name)

    server = [s.strip() for s in get(b"client", b"server")[0] if s.strip()]
    if server != [b"http"]:
        raise NotRun("server %s" % b"+".join(server).decode("latin-1") if server
                     else "no server")
    if get(b"client", b"tool")[2] is not None:
        raise NotRun("a libtest tool, not curl")
    errs, odd, _ = get(b"verify", b"errorcode")
    if odd:
        raise NotRun("conditional errorcode")
    err = (errs[0].strip() if errs else b"") or b"0"
    if not re.fullmatch(rb"\d+", err):
        raise NotRun("errorcode %s (several allowed)" % err.decode())
    err = int(err)
    if err not in (0, 18, 22, 52) and err not in REFUSALS:
        raise NotRun("errorcode %d" % err)
    if get(b"client", b"setenv")[2] is not None:
        raise NotRun("<setenv>")
    cmd_lines, odd, cmd_attrs = get(b"client", b"command")
    cmd_attrs = cmd_attrs or {}
    if odd:
        raise NotRun("conditional command")
    if cmd_attrs.get(b"type"):
        raise NotRun("a %s script, not curl" % cmd_attrs[b"type"].decode())
    cmd = b" ".join(cmd_lines).replace(b"\n", b"")
    method, url, path, to_stdout, fail = parse_command(cmd)
    if err == 22 and not fail:
        raise NotRun("errorcode 22 without --fail")
    option = cmd_attrs.get(b"option", b"")
    if b"no-include" in option:
        raise NotRun("option no-include")
    cmds = [s.strip() for s in get(b"reply", b"servercmd")[0] if s.strip()]
    for c in cmds:
        if not c.decode("latin-1").startswith(SERVER_COMMANDS):
            raise NotRun("server command %s" % c.decode("latin-1"))
    if get(b"verify", b"stripfile")[2] is not None:
        raise NotRun("<stripfile> edits curl's output")
    partno = part_number(path, num)
    name = b"data%d" % partno if partno else b"data"
    data, odd = served(lines, name)
    if data is None:
        raise NotRun("no <reply><%s>" % name.decode())
    if odd:
        raise NotRun("conditional or included reply")
    if not data:
        raise NotRun("empty reply (nothing to parse)")
    if b"swsbounce" in data:
        raise NotRun("swsbounce (curl makes another request)")
    hlen, status, informational = heads(data)
    if status == 101:
        raise NotRun("101 Switching Protocols")

    # what curl wrote, as runtests checks it
    out, out_from, text_mode = None, None, False
    stdout_lines, odd, stdout_attrs = get(b"verify", b"stdout")
    data_attrs = part(lines, b"reply", b"data")[2] or {}
    if stdout_attrs is not None and b"force-output" not in option:
        if odd:
            raise NotRun("conditional stdout")
        if to_stdout:
            raise NotRun("stdout holds more than the transfer (-w, -D -, ...)")
        if stdout_attrs.get(b"loadfile"):
            raise NotRun("stdout loaded from a file")
        out, text_mode = expected_text(stdout_lines, stdout_attrs)
        if out.strip() == b"%EMPTY":
            out = b""
        out_from = "<verify><stdout>"
    elif b"no-output" not in option and not data_attrs.get(b"nocheck"):
        checks = [part(lines, b"reply", b"datacheck" + sfx) for sfx in
                  (b"", b"1", b"2", b"3", b"4")]
        if checks[0][2] is not None:
            if any(c[1] for c in checks):
                raise NotRun("conditional datacheck")
            pieces = [expected_text(c[0], c[2]) for c in checks if c[2] is not None]
            out = b"".join(p[0] for p in pieces)
            text_mode = any(p[1] for p in pieces)
            out_from = "<reply><datacheck>"
        else:
            if partno:
                raise NotRun("<%s> served but <data> checked" % name.decode())
            if data_attrs.get(b"base64"):
                raise NotRun("base64 <data> checked as text")
            data_lines, odd, _ = part(lines, b"reply", b"data")
            out, text_mode = expected_text(data_lines, data_attrs)
            out_from = "<reply><data>"
        if not out and not data_attrs.get(b"sendzero"):
            out, out_from = None, None
    if err == 0:
        kind = "accept"
    elif err == 18:
        kind = "partial" if hlen is not None else "partial_head"
    elif err == 22:
        kind, out = "fail", None
    elif err == 52:
        kind, out = "nothing", None
    else:
        kind, out = "refuse", None
    if kind in ("accept", "partial", "fail"):
        if hlen is None or status is None:
            raise NotRun("errorcode %d, but the reply does not start with complete heads "
                         "(%r)" % (err, data[:30]))
    if kind in ("accept", "partial") and out is not None:
        head = data[:hlen]
        have = normalize_text(out) if text_mode else out
        if not have.startswith(normalize_text(head) if text_mode else head):
            raise NotRun("curl's output does not start with the heads as received")
    return {
        "test": "test%d" % num,
        "name": b"".join(get(b"client", b"name")[0]).strip().decode("latin-1"),
        "command": cmd.decode("latin-1"),
        "method": method,
        "input": data,
        "heads_len": hlen,
        "status": status,
        "informational": informational,
        "errorcode": err,
        "kind": kind,
        "output": out,
        "output_from": out_from,
        "text_mode": text_mode,
        "served": name.decode(),
    }


def curl_says(c):
    k = c["kind"]
    if k == "refuse":
        return "error %d (%s)" % (c["errorcode"], REFUSALS[c["errorcode"]])
    if k == "partial_head":
        return "error 18 (partial file): the input ends inside the head"
    if k == "fail":
        return "error 22 (--fail): the head of a %d read, then failed on its status" % (
            c["status"])
    if k == "nothing":
        return "error 52 (got nothing): no final response before the close"
    body = None
    if c["output"] is not None:
        body = c["output"][c["heads_len"]:]
    what = "accepted" if k == "accept" else "error 18 (partial file)"
    if body is None:
        return what + " (only the verdict is checked: nocheck)"
    return "%s, wrote after the heads %r%s" % (what, body[:120], " ... (%d bytes)" % len(body)
                                               if len(body) > 120 else "")


# ------------------------------------------------------------------------ our side


def finals(ev):
    return [m for m in ev["msgs"] if m["kind"] == "response"]


def describe(ev, ended):
    fin = finals(ev)
    parts = ["%d final response(s)" % len(fin)]
    if fin:
        m = fin[0]
        parts[0] += " (first: HTTP/%s %d, body %r%s)" % (
            m["version"], m["status"], m["body"][:80],
            " ... (%d bytes)" % len(m["body"]) if len(m["body"]) > 80 else "")
        parts.append("first %s" % ("ended" if ended else "not ended"))
    if ev["switch_at"] is not None:
        parts.append("switch at %d" % ev["switch_at"])
    if ev["error"]:
        return "ours refuses: %s (%s)" % (ev["error"], ", ".join(parts))
    if ev["eof"]:
        parts.append("then end of input: %s" % ev["eof"])
    return "ours: " + ", ".join(parts)


def run(h1dump, method, data, split):
    """h1dump's output, or "" and what went wrong."""
    try:
        return run_h1dump(h1dump, "client", method, data, split, timeout=60), None
    except RuntimeError as err:
        return "", str(err).strip().split("\n")[0]
    except subprocess.TimeoutExpired:
        return "", "h1dump did not finish (hang)"


def raw_trailers(data, start, trailers):
    """The trailer lines as received (curl writes them after the body, with --include):
    the last run of lines in `data` after `start` that reads as our trailer fields."""
    if not trailers:
        return b""
    pattern = rb"(?im)^" + b"".join(
        re.escape(n) + rb"[ \t]*:[ \t]*" + re.escape(v) + rb"[ \t]*\r?\n"
        for n, v in trailers)
    found = list(re.finditer(pattern, data[start:]))
    return found[-1].group(0) if found else b""


def crlf_heads(c):
    """The case with the bare LF line ends of its heads made CRLF (the whole input when
    its heads do not end), and curl's output likewise; None when it has none."""
    data, hlen = c["input"], c["heads_len"]
    cut = len(data) if hlen is None else hlen
    head = re.sub(rb"(?<!\r)\n", b"\r\n", data[:cut])
    if head == data[:cut]:
        return None
    fixed = dict(c, input=head + data[cut:], heads_len=None if hlen is None else len(head))
    if c["output"] is not None and hlen is not None:
        fixed["output"] = head + c["output"][hlen:]
    return fixed


def judge(h1dump, c):
    data, method = c["input"], c["method"] if c["method"] != "GET" else None
    whole, crash = run(h1dump, method, data, 0)
    bytewise, crash1 = run(h1dump, method, data, 1)
    ev = read_events(whole, data)
    first = read_events(whole, data, first_only=True)
    ended = first["ended"]
    fin = finals(ev)
    body = fin[0]["body"] if fin else b""
    diffs, late, notes = [], None, []
    k = c["kind"]
    if k in ("accept", "partial"):
        if k == "accept":
            agree = bool(fin) and ended and not (ev["error"] and not ended)
        else:
            agree = bool(fin) and not ended and not ev["error"] and bool(ev["eof"])
        if fin and c["output"] is not None:
            hlen = c["heads_len"]
            ours = data[:hlen] + body + raw_trailers(data, hlen, fin[0]["trailers"])
            want = c["output"]
            if c["text_mode"]:
                ours, want = normalize_text(ours), normalize_text(want)
            if ours != want:
                agree = False
                diffs.append("after the heads: curl %r, ours %r" % (want[hlen:][:120],
                                                                    ours[hlen:][:120]))
        if fin and fin[0]["status"] != c["status"]:
            agree = False
            diffs.append("status: curl %d, ours %d" % (c["status"], fin[0]["status"]))
        if agree and k == "accept" and ev["failure"]:
            notes.append("after the response: %s (curl stops reading there)" % ev["failure"])
    elif k == "partial_head":
        agree = not fin and not ev["error"] and bool(ev["eof"])
    elif k == "fail":
        agree = bool(fin) and fin[0]["status"] == c["status"]
    elif k == "nothing":
        agree = not fin and not ev["error"] and bool(ev["eof"])
    else:
        agree = bool(ev["error"]) and not ended
        if not ev["error"] and ev["eof"] and not fin:
            probe = read_events(run(h1dump, method, h1dump_io.end_head(data), 0)[0], data)
            late = probe["error"] or "accepted"
            agree = probe["error"] is not None
    return {"agree": bool(agree) and not (crash or crash1), "late": late,
            "ours": describe(ev, ended), "diffs": diffs, "notes": notes,
            "crash": [x for x in (crash, crash1) if x],
            "split_consistent": whole == bytewise and crash == crash1,
            "whole": whole, "bytewise": bytewise if whole != bytewise else None}


# ---------------------------------------------------------------------------- main


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("curl", "curl checkout or bare git directory"),
                                    verbose="also list the agreeing cases and every test "
                                    "not run")
    args = ap.parse_args()

    h1dump = h1dump_io.find_h1dump(args.h1dump)
    src = CurlSource(args.curl, args.rev)
    try:
        files = src.test_files()
    except (subprocess.CalledProcessError, OSError) as err:
        sys.exit("cannot list tests/data: %s" % err)
    cases, not_run, unread = [], [], []
    for f in files:
        try:
            raw = src.read_bytes("tests/data/" + f)
        except (subprocess.CalledProcessError, OSError) as err:
            unread.append("%s: %s" % (f, err))
            continue
        try:
            cases.append(read_case(raw, int(f[4:])))
        except NotRun as why:
            not_run.append((f, str(why)))
        except (ValueError, IndexError, base64.binascii.Error) as err:
            not_run.append((f, "not decoded: %s: %s" % (type(err).__name__, err)))

    results = []
    for c in cases:
        plain = judge(h1dump, c)
        fixed = crlf_heads(c)
        crlf = judge(h1dump, fixed) if fixed else plain
        results.append(dict(c, plain=plain, crlf=crlf,
                            crlf_input=fixed["input"] if fixed else None))

    print("curl: %s (%s at %s)" % (src.commit(), args.curl, args.rev))
    print("  tests/data: %d test files, %d cases run, %d not run" % (
        len(files), len(results), len(not_run)))
    for u in unread:
        print("NOT READ: %s" % u)
    print()
    reasons = {}
    for f, why in not_run:
        key = re.sub(r"\d+", "N", why) if why.startswith(("the URL names", "option -X",
                                                           "command not split")) else why
        reasons.setdefault(key, []).append(f)
    print("tests not run, by reason (%d):" % len(not_run))
    for why, fs in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = fs if args.verbose or len(fs) <= 8 else fs[:8] + ["..."]
        print("  %4d  %s: %s" % (len(fs), why, " ".join(shown)))
    print()

    broken = h1dump_io.report_broken(
        results, "crlf",
        lambda r, j: "%s  %s%s" % (r["test"], r["name"], " (heads made CRLF)"
                                   if j is r["crlf"] and j is not r["plain"] else ""),
        lambda r, j: r["input"] if j is r["plain"] else r["crlf_input"], unit="case")

    print("disagreements (as is: responses need no Host; [crlf] = agrees once the bare LF "
          "line ends of the heads are made CRLF)%s:" % (
              " and agreements" if args.verbose else ""))
    for r in results:
        p, f = r["plain"], r["crlf"]
        quiet = p["agree"] and f["agree"] and not p["late"] and not p["notes"]
        if p["agree"] and f["agree"] and not args.verbose:
            continue
        mark = ("ok " if f["agree"] else "ok [but not with CRLF heads]") if p["agree"] else (
            "XX [crlf]" if f["agree"] else "XX ")
        print("  %s %s [%s] %s%s" % (mark, r["test"], r["kind"], r["name"],
                                     "  (--method %s)" % r["method"]
                                     if r["method"] != "GET" else ""))
        if quiet:
            continue
        shown = r["input"]
        h1dump_io.print_input(shown)
        print("      curl %s: %s" % (r["command"][:100], curl_says(r)))
        h1dump_io.print_ours(p, p, False)
        for n in p["notes"]:
            print("      note: %s" % n)
        if r["crlf_input"] is not None and not (p["agree"] and f["agree"]):
            print("      heads made CRLF: %s" % ("agrees" if f["agree"] else f["ours"]))
            for d in f["diffs"]:
                print("        differs: %s" % d)
    print()

    print("%-46s %6s %14s %16s" % ("curl's verdict", "cases", "as is", "heads CRLF"))

    def row(label, rows):
        print("%-46s %6d %s" % (label, len(rows), h1dump_io.agreement(rows, "crlf")))

    row("accepted, output checked", [r for r in results if r["kind"] == "accept"
                                     and r["output"] is not None])
    row("accepted, verdict only (nocheck)", [r for r in results if r["kind"] == "accept"
                                             and r["output"] is None])
    row("partial file (18), in the body", [r for r in results if r["kind"] == "partial"])
    row("partial file (18), in the head", [r for r in results
                                           if r["kind"] == "partial_head"])
    row("--fail on the status (22)", [r for r in results if r["kind"] == "fail"])
    row("got nothing (52)", [r for r in results if r["kind"] == "nothing"])
    row("refused (1, 8, 56, 61)", [r for r in results if r["kind"] == "refuse"])
    row("all", results)
    late = [r for r in results if r["plain"]["agree"] and r["plain"]["late"]]
    print("agreements only once the head is ended: %d%s" % (
        len(late), "".join(" " + r["test"] for r in late)))
    noted = [r for r in results if r["plain"]["agree"] and r["plain"]["notes"]]
    print("agreements where bytes follow the response (curl ignores them, we refuse them "
          "as a next response): %d%s" % (len(noted), "".join(" " + r["test"] for r in noted)))
    print("heads with bare LF line ends (made CRLF in the second column): %d of %d cases" % (
        sum(r["crlf_input"] is not None for r in results), len(results)))
    h1dump_io.print_consistency(results, ("plain", "crlf"))
    if args.json:
        h1dump_io.drop_whole(results, ("plain", "crlf"))
        out = [h1dump_io.jsonable(dict(r, input=r["input"], output=r["output"]))
               for r in results]
        with open(args.json, "w") as f:
            json.dump({"commit": src.commit(), "cases": out,
                       "not_run": [{"test": f, "reason": why} for f, why in not_run]},
                      f, indent=1, default=repr)
    return 1 if broken or unread else 0


if __name__ == "__main__":
    sys.exit(main())
