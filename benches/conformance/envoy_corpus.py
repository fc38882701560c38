#!/usr/bin/env python3
"""Run Envoy's HTTP/1 codec tests and quiche's BalsaFrame tests through h1dump.

    cargo build --example h1dump
    python3 benches/conformance/envoy_corpus.py PATH/TO/envoy PATH/TO/quiche [--rev REV]
        [--quiche-rev REV] [--verbose] [--json FILE]

PATH/TO/envoy is a checkout or bare git directory of envoyproxy/envoy (or a fork of it), or
any directory holding test/common/http/http1/codec_impl_test.cc at that path; PATH/TO/quiche
the same for google/quiche and quiche/balsa/balsa_frame_test.cc.

Nothing of either project is copied here: the C++ test files are read at run time by a small
C++ reader (comments skipped, adjacent string literals joined, escapes decoded, Envoy's
`#ifdef ENVOY_ENABLE_UHV` branches taken as in a default build, without UHV). Each test
function is walked in order, with a few local variables of string type evaluated (literals,
`+`, `absl::StrCat`, `std::string(N, 'c')`, `absl::CUnescape`, the file's string
constants), and a loop over an array of literals (`const char* kX[]`, or Envoy's
`HTTPStringTestCase` rows of a version and an expected error) is unrolled, one case a row; a
test whose input is built any other way (another loop, fmt::format, a helper creating N
fields, a byte count) is listed apart with why, not guessed.

Envoy: the raw bytes given to `codec_->dispatch(...)` (and to the fixture helpers expect400,
expectHeadersTest, sendAndValidateRequestAndSendResponse, testRequestWithValueExpect*,
testRequestHeadersAccepted), with the outcome asserted on the returned status: ok, or an
error (isCodecProtocolError, isPrematureResponseError, `!status.ok()`, expect400). A test
dispatching several buffers is one case: their bytes joined, up to and including the first
one expected to fail. Envoy's codec runs BalsaParser only (http-parser is gone from the test
since the runtime flag was removed); tests are counted at the fixture's settings, which are
Envoy's defaults; a test that changes a codec setting (other than allow_absolute_url, which
only changes how the target is mapped), a runtime flag, a size limit or the underscore
action is listed apart. Client tests run with the method of the request the test encoded
(GET unless it names one).

quiche: the bytes given to a BalsaFrame's ProcessInput, with the outcome asserted through
`Error()` (true/false), `ErrorCode()` == BALSA_NO_ERROR, or an expected
`HandleError(...)` call. ProcessInput stops at the end of a head, so what Balsa judged is
simulated: a feed that completes a head is taken up to that point, a later feed of the rest
of the same string continues it, and a request with neither Content-Length nor
Transfer-Encoding takes nothing after its head. Counted at Balsa's own defaults (the test
fixture: requests, trailers enabled, a default HttpValidationPolicy, InvalidCharsLevel
kOff); a test that sets a validation policy, the invalid-chars level or the header length
limit is listed apart (Envoy's own BalsaParser policy is stricter: see docs/conformance.md).

Agreement is on the verdict: the other parser accepts (no error, the input may end mid
message) and we give no error (the end of input inside a message is fine); or it refuses and
we refuse. When the input ends inside a head and we only report the end of input, the head is
ended with CRLF CRLF and our verdict on that is taken (the core judges a head once it is
complete), unless that refusal is only the missing Host. Every input runs whole and one byte
at a time, and both must give the same events.
"""

import os
import re
import sys

import h1dump_io
from h1dump_io import Source, add_host, end_head, find_h1dump, run_twice
from source_text import C_ESCAPES, c_bytes, closing_token, split_tokens

ENVOY_FILE = "test/common/http/http1/codec_impl_test.cc"
BALSA_FILE = "quiche/balsa/balsa_frame_test.cc"
HOST = b"Host: a\r\n"
HOST_FIELD = (b"host", b"a")


# ---------------------------------------------------------------- C++ reader

ESCAPES = dict(C_ESCAPES, e=27)     # and GCC's \e


def unescape(body):
    """The bytes of a C++ narrow literal's body (between its quotes)."""
    return c_bytes(body, ESCAPES)


def preprocess(text):
    """`text` with the lines of inactive `#if` branches blanked (ENVOY_ENABLE_UHV undefined;
    any other condition taken as true) and every preprocessor line blanked; line numbers kept."""
    out, stack = [], []
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#"):
            d = s[1:].strip()
            if d.startswith("ifdef") or d.startswith("if ") or d.startswith("if("):
                stack.append("ENVOY_ENABLE_UHV" not in d or d.startswith("if !")
                             or "!defined" in d)
            elif d.startswith("ifndef"):
                stack.append(True)
            elif d.startswith("else"):
                stack[-1] = not stack[-1]
            elif d.startswith("endif"):
                stack.pop()
            out.append("")
            continue
        out.append(line if all(stack) else "")
    return "\n".join(out)


TOKEN = re.compile(r"""
    (?P<ws>\s+) | (?P<lc>//[^\n]*) | (?P<bc>/\*.*?\*/)
  | (?P<raw>(?:u8|u|U|L)?R"(?P<delim>[^(\s]*)\((?P<rawbody>.*?)\)(?P=delim)")
  | (?P<str>(?:u8|u|U|L)?"(?P<strbody>(?:[^"\\\n]|\\.)*)")
  | (?P<chr>'(?P<chrbody>(?:[^'\\\n]|\\.)+)')
  | (?P<num>\d[\w.']*)
  | (?P<id>[A-Za-z_]\w*(?:\s*::\s*[A-Za-z_~]\w*)*)
  | (?P<op>->|::|&&|\|\||[-+*/<>=!]=|<<|>>|\+\+|--|.)
""", re.S | re.X)


def tokens(text):
    """(kind, value, line) of the C++ source `text`: adjacent string literals joined into
    one `str` token (bytes), `chr` (an int), `num`, `id` (a qualified name, spaces taken
    out), `op`."""
    out, line = [], 1
    for m in TOKEN.finditer(text):
        kind = None
        for k in ("ws", "lc", "bc", "raw", "str", "chr", "num", "id", "op"):
            if m.group(k) is not None:
                kind = k
                break
        here = line
        line += m.group(0).count("\n")
        if kind in ("ws", "lc", "bc"):
            continue
        if kind in ("raw", "str"):
            value = m.group("rawbody").encode("utf-8") if kind == "raw" else \
                unescape(m.group("strbody"))
            if out and out[-1][0] == "str":
                out[-1] = ("str", out[-1][1] + value, out[-1][2])
            else:
                out.append(("str", value, here))
            continue
        if kind == "chr":
            out.append(("chr", unescape(m.group("chrbody"))[0], here))
        elif kind == "id":
            out.append(("id", re.sub(r"\s+", "", m.group(0)), here))
        else:
            out.append((kind, m.group(0), here))
    return out


def matching(toks, i):
    """The index of the bracket closing the one at `i`."""
    j = closing_token(toks, i, "op")
    if j is None:
        raise ValueError("unbalanced %s at line %d" % (toks[i][1], toks[i][2]))
    return j


def split_args(toks, sep=","):
    """The arguments of a token list (no enclosing parentheses), split at `sep` outside
    brackets."""
    return split_tokens(toks, sep, "op")


def tests_of(toks):
    """(fixture, name, line, body tokens) of each TEST/TEST_F/TEST_P."""
    out, i = [], 0
    while i < len(toks):
        t = toks[i]
        if t[0] == "id" and t[1] in ("TEST", "TEST_F", "TEST_P") and i + 1 < len(toks) \
                and toks[i + 1][1] == "(":
            close = matching(toks, i + 1)
            args = split_args(toks[i + 2:close])
            fixture = args[0][0][1]
            name = "".join(str(x[1]) for x in args[1])
            if toks[close + 1][1] == "{":
                end = matching(toks, close + 1)
                out.append((fixture, name, t[2], toks[close + 2:end]))
                i = end + 1
                continue
        i += 1
    return out


class Unknown(Exception):
    """An expression this reader does not evaluate."""


def evaluate(expr, env):
    """The bytes of a string expression: literals, names in `env`, `+`, absl::StrCat,
    std::string(...) / absl::string_view(...) of a literal (with a length), std::string(N,
    'c'). Raises Unknown otherwise."""
    if not expr:
        raise Unknown("empty expression")
    parts = split_args(expr, "+")
    if len(parts) > 1 and not any(t[1] == "?" for t in expr):
        return b"".join(evaluate(p, env) for p in parts)
    e = parts[0]
    if len(e) >= 5 and e[0][1] in ("true", "false") and e[1][1] == "?":
        colon = [k for k, t in enumerate(e) if t[1] == ":"]
        if len(colon) == 1:
            return evaluate(e[2:colon[0]] if e[0][1] == "true" else e[colon[0] + 1:], env)
    if e[0][1] == "(" and matching(e, 0) == len(e) - 1:
        return evaluate(e[1:-1], env)
    if len(e) == 1 and e[0][0] == "str":
        return e[0][1]
    if len(e) == 1 and e[0][0] == "id" and e[0][1] in env:
        if env[e[0][1]] is None:
            raise Unknown("%s is not evaluated" % e[0][1])
        return env[e[0][1]]
    if e[0][0] == "id" and len(e) >= 3 and e[1][1] == "(" and matching(e, 1) == len(e) - 1:
        args = split_args(e[2:-1])
        f = e[0][1]
        if f == "absl::StrCat":
            return b"".join(evaluate(a, env) for a in args)
        if f in ("std::string", "absl::string_view", "std::string_view"):
            if len(args) == 1:
                return evaluate(args[0], env)
            if len(args) == 2 and args[0] and all(a[0] == "num" or a[1] == "*" for a in args[0]) \
                    and len(args[1]) == 1 and args[1][0][0] in ("chr", "num"):
                count = 1
                for a in args[0]:
                    if a[0] == "num":
                        count *= int(a[1].rstrip("uUlL"))
                c = args[1][0][1]
                return bytes([c if isinstance(c, int) else int(c, 0)]) * count
            if len(args) == 2 and len(args[1]) == 1 and args[1][0][0] == "num":
                return evaluate(args[0], env)[:int(args[1][0][1].rstrip("uUlL"))]
    if e[0][1] == "createBufferWithNByteSlices" and e[1][1] == "(" and \
            matching(e, 1) == len(e) - 1:
        return evaluate(split_args(e[2:-1])[0], env)
    if len(e) >= 3 and e[-1][1] == ")" and e[-2][1] == "(" and e[-3][1] in ("data", "c_str") \
            and e[-4][1] == ".":
        return evaluate(e[:-4], env)
    raise Unknown("not evaluated: %s" % " ".join(str(t[1]) for t in e)[:80])


STRING_TYPES = ("std::string", "absl::string_view", "std::string_view", "char")


def declaration(toks, i):
    """If a string variable is declared at `i`: (name, initializer tokens or None, index
    after the statement)."""
    j = i
    while j < len(toks) and toks[j][1] in ("const", "constexpr", "static"):
        j += 1
    if j >= len(toks) or toks[j][1] not in STRING_TYPES:
        return None
    j += 1
    while j < len(toks) and toks[j][1] in ("*", "&", "const"):
        j += 1
    if j + 1 >= len(toks) or toks[j][0] != "id":
        return None
    name = toks[j][1]
    j += 1
    if toks[j][1] == "[" and toks[j + 1][1] == "]":
        j += 2
    if toks[j][1] == "=":
        end = statement_end(toks, j)
        return name, toks[j + 1:end], end + 1
    if toks[j][1] in ("(", "{"):
        close = matching(toks, j)
        if close + 1 < len(toks) and toks[close + 1][1] == ";":
            args = toks[j:close + 1]
            return name, [("id", "std::string", toks[j][2])] + \
                [("op", "(", 0)] + args[1:-1] + [("op", ")", 0)], close + 2
    if toks[j][1] == ";":
        return name, [("str", b"", toks[j][2])], j + 1
    return None


def statement_end(toks, i):
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == "op" and toks[j][1] in "([{":
            depth += 1
        elif toks[j][0] == "op" and toks[j][1] in ")]}":
            depth -= 1
        elif toks[j][1] == ";" and depth == 0:
            return j
    return len(toks)


def string_statement(toks, i, env):
    """If a string variable is declared or appended to at `i`: the index after the
    statement, `env` updated (see declared and appended)."""
    j = declared(toks, i, env)
    return appended(toks, i, env) if j is None else j


def buffer_value(expr, env):
    """The bytes of a Buffer's contents, or Unknown (why) when they are not evaluated."""
    try:
        return evaluate(expr, env)
    except (Unknown, ValueError, IndexError) as e:
        return Unknown(str(e))


def declared(toks, i, env):
    """If a string variable is declared at `i`: the index after the statement, the variable
    set in `env` (None when its value is not evaluated)."""
    d = declaration(toks, i) if toks[i][0] == "id" else None
    if not d:
        return None
    try:
        env[d[0]] = evaluate(d[1], env)
    except (Unknown, ValueError, IndexError):
        env[d[0]] = None
    return d[2]


def appended(toks, i, env):
    """If `V += ...;` is at `i`, V a variable of `env`: the index after the statement, V
    extended (None when either side is not evaluated)."""
    v = toks[i][1]
    if not (toks[i][0] == "id" and v in env and i + 1 < len(toks) and toks[i + 1][1] == "+="):
        return None
    end = statement_end(toks, i)
    try:
        env[v] = env[v] + evaluate(toks[i + 2:end], env)
    except (Unknown, ValueError, IndexError, TypeError):
        env[v] = None
    return end + 1


def literal_array(toks, i):
    """If an array of literals is declared at `i` (`const char* kX[] = {"a", "b"};`, or rows
    `{"a", {}}, {"b", "error"}` of a two-member struct): (name, rows, index after); a row is
    bytes, or (bytes, bytes or None)."""
    j = i
    while j < len(toks) and toks[j][1] in ("const", "constexpr", "static", "char", "*") or \
            (j < len(toks) and toks[j][0] == "id" and j + 1 < len(toks) and toks[j + 1][0] == "id"):
        j += 1
    if j + 4 >= len(toks) or toks[j][0] != "id" or toks[j + 1][1] != "[" or \
            toks[j + 2][1] != "]" or toks[j + 3][1] != "=" or toks[j + 4][1] != "{":
        return None
    close = matching(toks, j + 4)
    rows = []
    for el in split_args(toks[j + 5:close]):
        if not el:          # a trailing comma
            continue
        if len(el) == 1 and el[0][0] == "str":
            rows.append(el[0][1])
        elif el and el[0][1] == "{" and matching(el, 0) == len(el) - 1:
            parts = split_args(el[1:-1])
            if len(parts) != 2 or len(parts[0]) != 1 or parts[0][0][0] != "str":
                return None
            if [t[1] for t in parts[1]] == ["{", "}"]:
                rows.append((parts[0][0][1], None))
            elif len(parts[1]) == 1 and parts[1][0][0] == "str":
                rows.append((parts[0][0][1], parts[1][0][1]))
            else:
                return None
        else:
            return None
    end = close + 1
    if end < len(toks) and toks[end][1] == ";":
        end += 1
    return toks[j][1], rows, end


def file_constants(toks):
    """The file-level string constants (`constexpr absl::string_view kX(...)` and the like)."""
    env, i, depth = {}, 0, 0
    while i < len(toks):
        t = toks[i]
        if t[1] == "{":
            depth += 1
        elif t[1] == "}":
            depth -= 1
        if depth <= 3 and t[1] == "const" and i + 1 < len(toks) and toks[i + 1][1] == "char":
            a = literal_array(toks, i)
            if a:
                env[a[0]] = a[1]
                i = a[2]
                continue
        if t[1] == "constexpr" and i + 1 < len(toks):
            d = declaration(toks, i)
            if d:
                try:
                    env[d[0]] = evaluate(d[1], env)
                except (Unknown, ValueError, IndexError):
                    pass
                i = d[2]
                continue
        i += 1
    return env


def inside_loop(toks, i):
    """Whether token `i` lies inside a for/while loop's body or parentheses."""
    for j in range(i - 1, -1, -1):
        if toks[j][1] in ("for", "while") and toks[j + 1][1] == "(":
            close = matching(toks, j + 1)
            if toks[close + 1][1] == "{":
                if matching(toks, close + 1) > i:
                    return True
            elif statement_end(toks, close) > i:
                return True
    return False


# ---------------------------------------------------------------- Envoy

ENVOY_OPTION_HELPERS = {
    "testTrailersExceedLimit": "trailer size limit (built with a helper)",
    "testRequestHeadersExceedLimit": "request header size/count limit",
    "testServerAllowChunkedContentLength": "allow_chunked_length option",
    "testClientAllowChunkedContentLength": "allow_chunked_length option",
    "expectTrailersTest": "enable_trailers option",
}
ENVOY_SETTINGS = re.compile(r"^(max_request_headers_kb_|max_request_headers_count_|"
                            r"max_response_headers_kb_|max_response_headers_count_|"
                            r"headers_with_underscores_action_|header_validator_config_)$")


def envoy_cases(src_bytes):
    toks = tokens(preprocess(src_bytes.decode("utf-8")))
    consts = file_constants(toks)
    cases, apart = [], []
    for fixture, name, line, body in tests_of(toks):
        if fixture not in ("Http1ServerConnectionImplTest", "Http1ClientConnectionImplTest"):
            continue
        role = "server" if fixture.startswith("Http1Server") else "client"
        res = envoy_walk(body, consts, role)
        base = {"file": ENVOY_FILE, "line": line, "name": "%s.%s" % (fixture, name),
                "role": role, "corpus": "envoy"}
        if res.get("skip"):
            apart.append(dict(base, why=res["skip"]))
            continue
        for k, (data, expect, method, eof) in enumerate(res["cases"]):
            cases.append(dict(base, n=k + 1, of=len(res["cases"]), input=data,
                              expect=expect, method=method, option=res.get("option"),
                              eof=eof))
    return cases, apart


def expand_row(toks, var, row):
    """The body of a loop over a table, for one row (version, error or None) of
    Envoy's HTTPStringTestCase: `VAR.http_version_` made a literal, whether the row expects
    an error (`expected_error.has_value()`) and `"...".empty()` made true or false, and the
    `if` statements on them and `?:` resolved."""
    def fields(toks, k):
        w = [t[1] for t in toks[k:k + 3]]
        if w == [var, ".", "http_version_"]:
            return [("str", row[0], toks[k][2])], k + 3
        if w == [var, ".", "expected_error_"]:
            return [("id", "ROW_ERROR", toks[k][2])], k + 3
        return None

    def tests(toks, k):
        w = [t[1] for t in toks[k:k + 5]]
        if w[1:5] == [".", "has_value", "(", ")"] and w[0] in ("ROW_ERROR", "expected_error"):
            return [("id", "true" if row[1] is not None else "false", toks[k][2])], k + 5
        if toks[k][0] == "str" and w[1:5] == [".", "empty", "(", ")"]:
            return [("id", "false" if toks[k][1] else "true", toks[k][2])], k + 5
        return None

    def branches(toks, k):
        if [t[1] for t in toks[k:k + 2]] != ["if", "("]:
            return None
        close = matching(toks, k + 1)
        cond = [t[1] for t in toks[k + 2:close]]
        value = {("true",): True, ("false",): False, ("!", "true"): False,
                 ("!", "false"): True}.get(tuple(cond))
        if value is None or toks[close + 1][1] != "{":
            return None
        end = matching(toks, close + 1)
        then, other, after = toks[close + 2:end], [], end + 1
        if after < len(toks) and toks[after][1] == "else" and toks[after + 1][1] == "{":
            e_end = matching(toks, after + 1)
            other, after = toks[after + 2:e_end], e_end + 1
        return (then if value else other), after

    return rewrite(rewrite(rewrite(toks, fields), tests), branches)


def rewrite(toks, rule):
    """`toks` with each run that `rule(toks, k)` replaces (it gives the new tokens and the
    index after the run, or None) replaced; the new tokens are not rewritten again."""
    out, k = [], 0
    while k < len(toks):
        r = rule(toks, k)
        if r is None:
            out.append(toks[k])
            k += 1
        else:
            out.extend(r[0])
            k = r[1]
    return out


def envoy_walk(body, consts, role):
    """The cases of one Envoy test: {"cases": [(bytes, "ok"|"error", method)], "option":
    why or None} or {"skip": why}."""
    env = dict(consts)
    bufs = {}
    option = None
    methods = []
    loop_cases = []     # the cases of loops over a table, one a row
    feeds = []          # [(data, expect or None)] for the running connection
    groups = []         # closed-off connections (a new codec_ = ...)
    i = 0
    n = len(body)

    def feed(data, expect=None):
        feeds.append([data, expect])

    if any(t[1] in ("overload_manager_", "LoadShedPoint") or "LoadShed" in str(t[1])
           for t in body):
        return {"skip": "an overload-manager load shed point decides"}
    if role == "client" and not any(t[1] == "newStream" for t in body) and \
            any(t[1] == "dispatch" for t in body):
        return {"skip": "no request sent (h1dump's client has always sent one)"}
    while i < n:
        t = body[i]
        v = t[1]
        if t[0] == "id" and v in ENVOY_OPTION_HELPERS and i + 1 < n and body[i + 1][1] == "(":
            return {"skip": ENVOY_OPTION_HELPERS[v]}
        if t[0] == "id" and ENVOY_SETTINGS.match(v) and i + 1 < n and body[i + 1][1] in ("=", "."):
            option = option or "sets %s" % v
        if v in ("codec_settings_",) and i + 2 < n and body[i + 1][1] == ".":
            setting = body[i + 2][1]
            if setting != "allow_absolute_url_":
                option = option or "sets codec_settings_.%s" % setting
        if v in ("TestScopedRuntime", "mergeValues", "scoped_runtime"):
            option = option or "sets a runtime flag"
        if t[0] == "str" and i >= 2 and body[i - 1][1] == "{" and body[i - 2][1] == "{" \
                and t[1] == b":method" and body[i + 1][1] == "," and body[i + 2][0] == "str":
            methods.append(body[i + 2][1].decode())
        if v in ("const", "static") or (t[0] == "id" and i + 1 < n and body[i + 1][0] == "id"):
            a = literal_array(body, i)
            if a:
                env[a[0]] = a[1]
                i = a[2]
                continue
        if v == "for" and i + 1 < n and body[i + 1][1] == "(":
            close = matching(body, i + 1)
            head = [str(x[1]) for x in body[i + 2:close]]
            if ":" in head and close + 1 < n and body[close + 1][1] == "{":
                var = head[head.index(":") - 1]
                arr = head[head.index(":") + 1:]
                rows = env.get(arr[0]) if len(arr) == 1 else None
                if isinstance(rows, list):
                    end = matching(body, close + 1)
                    for k, row in enumerate(rows):
                        if isinstance(row, tuple):
                            sub, sub_env = expand_row(body[close + 2:end], var, row), env
                        else:
                            sub, sub_env = body[close + 2:end], dict(env, **{var: row})
                        res = envoy_walk(sub, sub_env, role)
                        if res.get("skip"):
                            return {"skip": "%s[%d]: %s" % (arr[0], k, res["skip"])}
                        loop_cases.extend(res["cases"])
                        option = option or res.get("option")
                    i = end + 1
                    continue
        j = string_statement(body, i, env)
        if j is not None:
            i = j
            continue
        if v == "Buffer::OwnedImpl" and i + 1 < n and body[i + 1][0] == "id":
            name = body[i + 1][1]
            if body[i + 2][1] == ";":
                bufs[name] = b""
                i += 3
                continue
            if body[i + 2][1] == "=":
                end = statement_end(body, i + 2)
                bufs[name] = buffer_value(body[i + 3:end], env)
                i = end + 1
                continue
            if body[i + 2][1] in ("(", "{"):
                close = matching(body, i + 2)
                bufs[name] = buffer_value(body[i + 3:close], env)
                i = close + 1
                continue
        if t[0] == "id" and i + 3 < n and body[i + 1][1] == "=" and \
                body[i + 2][1] == "Buffer::OwnedImpl" and body[i + 3][1] == "(":
            close = matching(body, i + 3)
            bufs[v] = buffer_value(body[i + 4:close], env)
            i = close + 1
            continue
        if t[0] == "id" and v in bufs and i + 3 < n and body[i + 1][1] == "." and \
                body[i + 2][1] in ("add", "prepend", "drain") and body[i + 3][1] == "(":
            close = matching(body, i + 3)
            if body[i + 2][1] == "drain":
                return {"skip": "drains a buffer by hand"}
            more = buffer_value(body[i + 4:close], env)
            if isinstance(more, Unknown):
                bufs[v] = more
            elif isinstance(bufs[v], Unknown):
                pass
            elif body[i + 2][1] == "add":
                bufs[v] = bufs[v] + more
            else:
                bufs[v] = more + bufs[v]
            i = close + 1
            continue
        if v == "codec_" and i + 3 < n and body[i + 1][1] == "=":
            if feeds:
                groups.append(list(feeds))
                del feeds[:]
        if v == "codec_" and i + 4 < n and body[i + 1][1] == "->" and \
                body[i + 2][1] == "dispatch" and body[i + 3][1] == "(":
            close = matching(body, i + 3)
            arg = body[i + 4:close]
            if inside_loop(body, i):
                return {"skip": "dispatches in a loop"}
            if len(arg) == 1 and arg[0][1] in bufs:
                data = bufs[arg[0][1]]
                if isinstance(data, Unknown):
                    return {"skip": "input %s" % data}
                bufs[arg[0][1]] = b""
            else:
                try:
                    data = evaluate(arg, env)
                except (Unknown, ValueError, IndexError) as e:
                    return {"skip": "dispatch of %s" % e}
            feed(data)
            # `codec_->dispatch(b).ok()` asserted in place
            if close + 3 < n and body[close + 1][1] == "." and body[close + 2][1] == "ok":
                k = i - 1
                while k > 0 and body[k][1] == "(":
                    k -= 1
                if body[k][1] in ("EXPECT_TRUE", "ASSERT_TRUE"):
                    feeds[-1][1] = "ok"
                elif body[k][1] in ("EXPECT_FALSE", "ASSERT_FALSE"):
                    feeds[-1][1] = "error"
            i = close + 1
            continue
        if v in ("EXPECT_TRUE", "ASSERT_TRUE", "EXPECT_FALSE", "ASSERT_FALSE") and \
                i + 1 < n and body[i + 1][1] == "(" and feeds:
            close = matching(body, i + 1)
            inner = [x[1] for x in body[i + 2:close]]
            positive = v.endswith("TRUE")
            verdict = None
            if inner[:4] == ["status", ".", "ok", "("]:
                verdict = "ok" if positive else "error"
            elif inner and inner[0] in ("isCodecProtocolError", "isPrematureResponseError",
                                        "isBufferFloodError", "isCodecClientError",
                                        "isInboundFramesWithEmptyPayloadError"):
                verdict = "error" if positive else "ok"
            if verdict and feeds[-1][1] is None:
                feeds[-1][1] = verdict
            i = close + 1
            continue
        if v in ("expect400", "expectHeadersTest", "sendAndValidateRequestAndSendResponse",
                 "testRequestWithValueExpectSuccess", "testRequestWithValueExpectFailure",
                 "testRequestHeadersAccepted") and i + 1 < n and body[i + 1][1] == "(":
            close = matching(body, i + 1)
            args = split_args(body[i + 2:close])
            arg = {"expect400": 0, "expectHeadersTest": 2}.get(v, 0)
            a = args[arg]
            if len(a) == 1 and a[0][1] in bufs:
                data = bufs[a[0][1]]
                if isinstance(data, Unknown):
                    return {"skip": "input %s" % data}
            else:
                try:
                    data = evaluate(a, env)
                except (Unknown, ValueError, IndexError) as e:
                    return {"skip": "%s of %s" % (v, e)}
            if v.startswith("testRequestWithValue"):
                first = b"GET / HTTP/1.1\r\n" if role == "server" else b"HTTP/1.1 200 OK\r\n"
                data = first + b"key: " + data + b"\r\n\r\n"
                if feeds:
                    groups.append(list(feeds))
                    del feeds[:]
            if v == "testRequestHeadersAccepted":
                data = b"GET / HTTP/1.1\r\n" + data + b"\r\n"
            feed(data, "error" if v in ("expect400", "testRequestWithValueExpectFailure")
                 else "ok")
            if v == "expect400" and feeds[:-1]:
                # expect400 makes a new codec
                last = feeds.pop()
                groups.append(list(feeds))
                del feeds[:]
                feeds.append(last)
            i = close + 1
            continue
        i += 1
    if feeds:
        groups.append(list(feeds))
    if not groups and not loop_cases:
        return {"skip": "no input given to the codec"}
    method = None
    if role == "client":
        ms = sorted(set(methods))
        if len(ms) > 1:
            return {"skip": "requests of several methods (%s)" % ", ".join(ms)}
        method = ms[0] if ms else "GET"
    # an empty dispatch is the end of input (the connection closed): what follows it is a
    # connection of its own
    split = []
    for g in groups:
        cur = []
        for chunk, e in g:
            cur.append([chunk, e])
            if not chunk:
                split.append(cur)
                cur = []
        if cur:
            split.append(cur)
    out = []
    for g in split:
        data, expect = b"", "ok"
        eof = False
        for k, (chunk, e) in enumerate(g):
            if e is None and any(later == "ok" for _, later in g[k + 1:]):
                e = "ok"        # a codec error sticks: a later ok status means this one was
            if e is None:
                if not chunk:
                    eof = True
                    continue
                return {"skip": "a dispatch whose status is not asserted"}
            data += chunk
            eof = eof or not chunk
            if e == "error":
                expect = "error"
                break
        if data:
            out.append((data, expect, method, eof))
    out += [(d, e, method if role == "client" else m, f) for d, e, m, f in loop_cases]
    if not out:
        return {"skip": "no input given to the codec"}
    return {"cases": out, "option": option}


# ---------------------------------------------------------------- quiche BalsaFrame

BALSA_OPTIONS = ("set_http_validation_policy", "set_invalid_chars_level",
                 "set_max_header_length", "set_parse_truncated_headers_even_when_headers_too_long")


def head_end(data):
    """Where a head ends in `data` (after its blank line), as Balsa finds it (leading blank
    lines skipped, LF or CRLF line ends), or None."""
    i = 0
    while i < len(data) and data[i] in b"\r\n":
        i += 1
    m = re.compile(rb"\n\r?\n").search(data, i)
    return m.end() if m else None


def has_framing(head):
    return re.search(rb"(?im)^(content-length|transfer-encoding)[ \t]*:", head) is not None


def balsa_cases(src_bytes):
    toks = tokens(preprocess(src_bytes.decode("utf-8")))
    consts = file_constants(toks)
    cases, apart = [], []
    for fixture, name, line, body in tests_of(toks):
        base = {"file": BALSA_FILE, "line": line, "name": "%s.%s" % (fixture, name),
                "corpus": "balsa", "method": None}
        res = balsa_walk(fixture, body, consts)
        if res.get("skip"):
            apart.append(dict(base, role="?", why=res["skip"]))
            continue
        for k, (data, expect, role) in enumerate(res["cases"]):
            cases.append(dict(base, n=k + 1, of=len(res["cases"]), input=data, expect=expect,
                              role=role, option=res.get("option")))
    return cases, apart


def balsa_walk(fixture, body, consts):
    env = dict(consts)
    n = len(body)
    frames = {}         # name -> {"role", "fed": [(var, bytes)], "consumed", "expect"}
    option = None
    if fixture == "HTTPBalsaFrameTest":
        frames["balsa_frame_"] = {"role": "server", "acc": b"", "state": "head", "expect": None,
                                  "done": [], "head": b""}
    if fixture not in ("HTTPBalsaFrameTest", "HTTPBalsaFrame"):
        return {"skip": "fixture %s (helper-built inputs)" % fixture}

    def frame(name):
        if name not in frames:
            frames[name] = {"role": "server", "acc": b"", "state": "head", "expect": None,
                            "done": [], "head": b""}
        return frames[name]

    i = 0
    while i < n:
        t = body[i]
        v = t[1]
        if v in ("BalsaFrame",) and i + 1 < n and body[i + 1][0] == "id" and \
                body[i + 2][1] in (";", "{", "("):
            frame(body[i + 1][1])
        if v == "HttpValidationPolicy":
            option = option or "an HttpValidationPolicy"
        if t[0] == "id" and i + 3 < n and body[i + 1][1] in (".", "->") and \
                body[i + 3][1] == "(":
            obj, meth = v, body[i + 2][1]
            close = matching(body, i + 3)
            args = split_args(body[i + 4:close])
            if meth in BALSA_OPTIONS:
                option = option or meth
            elif meth == "set_is_request" and obj in frames:
                frames[obj]["role"] = "server" if args[0][0][1] == "true" else "client"
            elif meth == "Reset" and obj in frames:
                f = frames[obj]
                if f["acc"]:
                    f["done"].append((f["acc"], f["expect"], f["role"]))
                f["acc"], f["state"], f["expect"], f["head"] = b"", "head", None, b""
            elif meth == "ProcessInput" and obj in frames:
                if inside_loop(body, i):
                    return {"skip": "ProcessInput in a loop"}
                f = frames[obj]
                got = balsa_feed_arg(args, env, f)
                if isinstance(got, str):
                    return {"skip": got}
                balsa_consume(f, got)
                f["expect"] = None
            elif meth in ("append", "push_back") and v in env and env[v] is not None:
                try:
                    env[v] = env[v] + (evaluate(args[0], env) if meth == "append"
                                       else bytes([args[0][0][1]]))
                except (Unknown, ValueError, IndexError, TypeError):
                    env[v] = None
            i = close + 1
            continue
        j = string_statement(body, i, env)
        if j is not None:
            i = j
            continue
        if v == "absl::CUnescape" and i + 6 < n and body[i + 1][1] == "(" and \
                body[i + 3][1] == "," and body[i + 4][1] == "&" and body[i + 6][1] == ")":
            src = env.get(body[i + 2][1])
            try:
                env[body[i + 5][1]] = unescape(src.decode("latin-1")).decode("utf-8").encode(
                    "latin-1") if src is not None else None
            except (ValueError, IndexError, AttributeError, UnicodeError):
                env[body[i + 5][1]] = None
            i += 7
            continue
        if v == "&" and i + 1 < n and body[i + 1][1] in env and body[i - 1][1] in ("(", ","):
            env[body[i + 1][1]] = None      # written by a call (absl::CUnescape and the like)
        if v in ("EXPECT_TRUE", "ASSERT_TRUE", "EXPECT_FALSE", "ASSERT_FALSE", "EXPECT_EQ",
                 "ASSERT_EQ", "EXPECT_CALL") and i + 1 < n and body[i + 1][1] == "(":
            close = matching(body, i + 1)
            inner = [str(x[1]) for x in body[i + 2:close]]
            verdict, who = balsa_check(v, inner)
            if v == "EXPECT_CALL" and close + 4 < n and body[close + 2][1] == "Times" and \
                    body[close + 4][1] == "0":
                verdict = None
            if verdict and who == "mock":
                # the fixture's visitor: its frame is balsa_frame_
                who = "balsa_frame_" if "balsa_frame_" in frames else None
            if verdict and who in frames:
                f = frames[who]
                if v == "EXPECT_CALL":
                    if f.get("called_error") not in (None, verdict):
                        f["called_error"] = "conflict"
                    else:
                        f["called_error"] = verdict
                elif f["expect"] is None or f["expect"] == verdict:
                    f["expect"] = verdict
                else:
                    f["expect"] = "conflict"
            i += 1
            continue
        i += 1
    out = []
    for name, f in frames.items():
        done = list(f["done"])
        if f["acc"]:
            expect = f["expect"] or (f.get("called_error") if not f["done"] else None)
            if f["expect"] and f.get("called_error") not in (None, f["expect"]):
                expect = "conflict"
            done.append((f["acc"], expect, f["role"]))
        for data, expect, role in done:
            if expect is None:
                return {"skip": "no Error() outcome asserted"}
            if expect == "conflict":
                return {"skip": "conflicting assertions"}
            out.append((data, expect, role))
    if not out:
        return {"skip": "no input given to ProcessInput"}
    return {"cases": out, "option": option}


def balsa_check(macro, inner):
    """(verdict, frame) an assertion states, or (None, None)."""
    text = " ".join(inner)
    if macro == "EXPECT_CALL":
        m = re.match(r"(\w+) , (HandleError|MessageDone) \( (.*)\)", text)
        if m:
            return ("error" if m.group(2) == "HandleError" else "ok"), "mock"
        return None, None
    m = re.fullmatch(r"(\w+) \. MessageFullyRead \( \)", text)
    if m and macro in ("EXPECT_TRUE", "ASSERT_TRUE"):
        return "ok", m.group(1)
    m = re.search(r"(\w+) \. Error \( \)", text)
    if m and macro in ("EXPECT_TRUE", "ASSERT_TRUE", "EXPECT_FALSE", "ASSERT_FALSE"):
        if text.strip() != "%s . Error ( )" % m.group(1):
            return None, None
        return ("error" if macro.endswith("TRUE") else "ok"), m.group(1)
    m = re.search(r"BalsaFrameEnums :: BALSA_NO_ERROR , (\w+) \. ErrorCode \( \)", text) or \
        re.search(r"(\w+) \. ErrorCode \( \) , BalsaFrameEnums :: BALSA_NO_ERROR", text)
    if m and macro in ("EXPECT_EQ", "ASSERT_EQ"):
        return "ok", m.group(1)
    return None, None


def balsa_feed_arg(args, env, f):
    """The bytes a ProcessInput(ptr, len) call gives, or why they are not evaluated."""
    if len(args) != 2:
        return "ProcessInput with %d arguments" % len(args)
    ptr, size = [" ".join(str(x[1]) for x in a) for a in args]
    m = re.fullmatch(r"(\w+)(?: \. (?:data|c_str) \( \))?", ptr)
    if m and m.group(1) in env:
        name = m.group(1)
        if env[name] is None:
            return "input %s is not evaluated" % name
        whole = re.fullmatch(r"%s \. (?:size|length) \( \)|strlen \( %s \)|sizeof \( %s \) - 1"
                             % (name, name, name), size)
        if whole:
            return env[name]
        if re.fullmatch(r"\d+", size):
            return env[name][:int(size)]
        return "ProcessInput(%s, %s)" % (ptr, size)
    m = re.fullmatch(r"(\w+) \. (?:data|c_str) \( \) \+ (\w+) \. (?:size|length) \( \)",
                     ptr)
    if m and env.get(m.group(1)) is not None and env.get(m.group(2)) is not None and \
            re.fullmatch(r"%s \. (?:size|length) \( \)(?: - %s \. (?:size|length) \( \))?"
                         % (m.group(1), m.group(2)), size):
        # the rest of X after Y (the test's own bound may overrun: Balsa stops at the end
        # of the message)
        return env[m.group(1)][len(env[m.group(2)]):]
    m = re.fullmatch(r"(\w+) \. (?:data|c_str) \( \) \+ (\w+)", ptr)
    if m and m.group(1) in env and env[m.group(1)] is not None:
        if re.fullmatch(r"%s \. (?:size|length) \( \) - %s" % (m.group(1), m.group(2)), size):
            # the rest of the string after what a previous feed of it consumed
            return ("rest", env[m.group(1)])
    return "ProcessInput(%s, %s)" % (ptr, size)


def balsa_consume(f, got):
    """Adds to the frame's judged bytes what ProcessInput consumes of `got`: a head up to
    its end (an interim 1xx response's head and the next one both), a Content-Length body up
    to its length, any other body whole; nothing once a request without a body is done."""
    if isinstance(got, tuple):       # the rest of a string fed before
        whole = got[1]
        if f.get("last_fed") and whole.startswith(f["last_fed"]):
            got = whole[f["last_taken"]:]
        else:
            got = whole
    data, taken = got, 0
    while taken < len(data) and f["state"] != "done":
        rest = data[taken:]
        if f["state"] == "head":
            end = head_end(f["head"] + rest)
            if end is None:
                f["head"] += rest
                taken = len(data)
                break
            used = end - len(f["head"])
            head = f["head"] + rest[:used]
            f["head"] = b""
            taken += used
            status = re.match(rb"[\r\n]*HTTP/\S+[ \t]+(\d+)", head)
            if f["role"] == "client" and status and status.group(1).startswith(b"1") and \
                    status.group(1) != b"101":
                continue
            cl = re.findall(rb"(?im)^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$", head)
            if f["role"] == "server" and not has_framing(head):
                f["state"] = "done"
            elif cl and len(set(cl)) == 1 and not re.search(rb"(?im)^transfer-encoding", head) \
                    and len(cl[0]) < 10:
                f["state"], f["left"] = "length", int(cl[0])
                if f["left"] == 0:
                    f["state"] = "done"
            else:
                f["state"] = "body"
            break                   # ProcessInput returns at the end of a (final) head
        elif f["state"] == "length":
            k = min(f["left"], len(rest))
            taken += k
            f["left"] -= k
            if f["left"] == 0:
                f["state"] = "done"
        else:
            taken = len(data)
    f["acc"] += data[:taken]
    f["last_fed"], f["last_taken"] = data, taken


# ---------------------------------------------------------------- judging

def judge(h1dump, case, data, points):
    """Our verdict on `data` in the case's role, against the case's expectation."""
    whole, ours, runs = run_twice(h1dump, case["role"], data, points, HOST_FIELD,
                                  case.get("method"))
    late = None
    refused = bool(ours["error"])
    if not ours["error"] and ours["eof"] and head_end(data) is None:
        ended = end_head(data)
        _, lev, lruns = run_twice(h1dump, case["role"], ended, [], HOST_FIELD, case.get("method"))
        late = lev["failure"] or "accepted"
        if not lruns["split_consistent"]:
            runs["split_consistent"] = False
        if lev["error"] and "Host" not in lev["error"]:
            refused = True
    if case.get("eof") and ours["eof"] and not ours["error"]:
        refused = True          # the test closes the input: an incomplete message is an error
    # an input that stops inside a head: refused once the head is ended counts as a refusal,
    # but "no error so far" is all an acceptance asks
    agree = refused if case["expect"] == "error" else \
        not (ours["error"] or (case.get("eof") and ours["eof"]))
    return h1dump_io.verdict(agree, late, ours, [], runs, {"refused": refused})


def main():
    ap = h1dump_io.corpus_arguments(__doc__, ("envoy", "envoyproxy/envoy checkout, git dir, "
                                              "or directory with the file"),
                                    ("quiche", "google/quiche checkout, git dir, or "
                                     "directory with the file"))
    ap.add_argument("--quiche-rev", default="HEAD", help="revision of quiche to read")
    args = ap.parse_args()
    h1dump = find_h1dump(args.h1dump)
    envoy = Source(args.envoy, args.rev, ENVOY_FILE)
    quiche = Source(args.quiche, args.quiche_rev, BALSA_FILE)
    print("envoy:  %s" % envoy.commit())
    print("quiche: %s" % quiche.commit())
    ecases, eapart = envoy_cases(envoy.read_bytes(ENVOY_FILE))
    bcases, bapart = balsa_cases(quiche.read_bytes(BALSA_FILE))
    results = ecases + bcases
    for r in results:
        r["plain"], r["hosted"], r["host_added"] = h1dump_io.judge_with_host(
            judge, h1dump, r, lambda d: add_host(d, HOST) if r["role"] == "server"
            else (d, []))
        r["input"] = r["input"].decode("latin-1")
        r["verdict"] = "accepts" if r["expect"] == "ok" else "refuses"
    counted = [r for r in results if not r["option"]]
    optional = [r for r in results if r["option"]]
    row = h1dump_io.summary_table(46, "tests")
    for corpus, title in (("envoy", "Envoy codec_impl_test.cc"),
                          ("balsa", "quiche balsa_frame_test.cc")):
        for role in ("server", "client"):
            rows = [r for r in counted if r["corpus"] == corpus and r["role"] == role]
            row("%s, %s" % (title, role), rows)
    row("all", counted)
    row("(not counted) option-specific", optional)
    h1dump_io.print_verdict_counts(counted, lambda r: r["expect"],
                                   (("ok", "accepts"), ("error", "refuses")), "the test", 8)
    bad = h1dump_io.print_consistency(results)
    print()

    def label(r, j=None):
        return "%s:%d %s%s [%s%s]" % (os.path.basename(r["file"]), r["line"], r["name"],
                                      " #%d" % r["n"] if r["of"] > 1 else "", r["role"],
                                      " %s" % r["method"] if r.get("method") and
                                      r["method"] != "GET" else "")
    h1dump_io.report_broken(results, "hosted", label)

    def note(r):
        return "option: %s" % r["option"] if r["option"] else None
    show = h1dump_io.show_case(label, "verdict", note)
    h1dump_io.print_disagreements(counted, show, args.verbose,
                                  ("option-specific tests (not counted):", optional))
    h1dump_io.print_methods("tests not evaluated (%d):",
                            [(r["file"], r["line"], r["name"], r["why"])
                             for r in eapart + bapart])
    if args.json:
        h1dump_io.write_json(args.json, results,
                             document={"cases": results, "apart": eapart + bapart})
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
