"""Reading another project's C, C++ or Java test sources as text, for the corpus scripts
that evaluate them: comments blanked (line numbers kept), literals skipped, brackets
matched, lists split at the top level, and string literals decoded with each language's
escapes (C and C++: the simple ones, `\\xHH`, octal, `\\u` and `\\U`; Java: the simple ones
with `\\s`, octal up to `\\377`, `\\uXXXX` with any number of u)."""

import re


class NotUnderstood(ValueError):
    """Source text the reader does not evaluate."""


CHAR = r"'(?:[^'\\\n]|\\.)+'"
C_STRING = r'(?:u8|u|U|L)?"(?:[^"\\\n]|\\.)*"'
C_RAW = r'R"([^(]*)\((.*?)\)\1"'
JAVA_STRING = r'"(?:[^"\\\n]|\\.)*"'


class Syntax:
    """A language's literals, for skipping them: `literals` matches any one of them (compiled
    with `flags`), and `starts` holds the characters one can start with."""

    def __init__(self, literals, starts, flags=0):
        self.literals = literals
        self.starts = starts
        self.literal = re.compile(literals, flags)

    def skip_literal(self, text, i):
        """The end of a literal starting at `text[i]`, or None (a prefix letter counts only
        where no name goes on before it)."""
        if text[i] not in self.starts:
            return None
        m = self.literal.match(text, i)
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
                  or text[i] in "\"'"):
            return m.end()
        return None

    def strip_comments(self, text):
        """`text` with its comments blanked (newlines kept, so that lines still count)."""
        def blank(m):
            s = m.group(0)
            return re.sub(r"[^\n]", " ", s) if s[:2] in ("//", "/*") else s
        return re.sub(r'%s|//[^\n]*|/\*.*?\*/' % self.literals, blank, text, flags=re.S)

    def matching(self, text, i):
        """The index of the bracket closing the one at `text[i]`."""
        depth, j = 0, i
        while j < len(text):
            e = self.skip_literal(text, j)
            if e:
                j = e
                continue
            if text[j] in "([{":
                depth += 1
            elif text[j] in ")]}":
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        raise NotUnderstood("unbalanced brackets")

    def split_top(self, text, seps=",", opening="([{", closing=")]}"):
        """`text` split at `seps` found outside brackets and literals, each part stripped."""
        parts, depth, cur, i = [], 0, [], 0
        while i < len(text):
            e = self.skip_literal(text, i)
            if e:
                cur.append(text[i:e])
                i = e
                continue
            c = text[i]
            if c in opening:
                depth += 1
            elif c in closing:
                depth -= 1
            if c in seps and depth == 0:
                parts.append("".join(cur))
                cur = []
            else:
                cur.append(c)
            i += 1
        parts.append("".join(cur))
        return [p.strip() for p in parts]

    def statements(self, body, first_line, join, initializers=False):
        """(line, text) of each statement of a block's `body` (its first line `first_line`):
        split at `;`, `{` and `}` found outside parentheses (so blocks are flattened, and
        lambdas in calls kept whole), a statement's lines made one by `join`. With
        `initializers`, a `{` after `=` or `]` opens an array initializer, kept whole."""
        out, depth, start, i = [], 0, 0, 0
        while i < len(body):
            e = self.skip_literal(body, i)
            if e:
                i = e
                continue
            c = body[i]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif initializers and c == "{" and depth == 0 and \
                    re.search(r"[=\]]\s*$", body[:i]):
                i = self.matching(body, i) + 1
                continue
            elif c in ";{}" and depth == 0:
                text = body[start:i].strip()
                if text:
                    lead = len(body[start:i]) - len(body[start:i].lstrip())
                    out.append((first_line + body[:start + lead].count("\n"), join(text)))
                start = i + 1
            i += 1
        return out


CPP = Syntax(C_RAW + "|" + C_STRING + "|" + CHAR, "\"'uULR", re.S)
JAVA = Syntax(JAVA_STRING + "|" + CHAR, "\"'")

C_ESCAPES = {"n": 10, "r": 13, "t": 9, "v": 11, "f": 12, "b": 8, "a": 7, '"': 34, "'": 39,
             "\\": 92, "?": 63}
JAVA_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'",
                "\\": "\\", "s": " "}


def decode(body, simple, other):
    """A literal's body (between its quotes) as a list: its plain characters, and the
    values of its escapes. `simple` maps the character after a backslash to its value;
    `other(body, i)` gives the values of any other escape at `body[i]` (a list) and the
    index after it."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = body[i + 1]
        if n in simple:
            out.append(simple[n])
            i += 2
        else:
            values, i = other(body, i)
            out += values
    return out


def c_escape(body, i, strict=False):
    """The byte values of the C or C++ escape at `body[i]` (`\\x` taken modulo 256, octal
    as written, `\\u` and `\\U` as the bytes of their UTF-8), and the index after it.
    `\\x` without digits is not understood, nor with `strict` a value beyond a byte."""
    n = body[i + 1]
    if n == "x":
        m = re.match(r"[0-9A-Fa-f]*", body[i + 2:])
        if not m.group(0) or strict and int(m.group(0), 16) > 0xFF:
            raise NotUnderstood("hex escape \\x%s" % m.group(0))
        return [int(m.group(0), 16) & 0xFF], i + 2 + len(m.group(0))
    if n in "01234567":
        m = re.match(r"[0-7]{1,3}", body[i + 1:])
        if strict and int(m.group(0), 8) > 0xFF:
            raise NotUnderstood("octal escape \\%s" % m.group(0))
        return [int(m.group(0), 8)], i + 1 + len(m.group(0))
    if n in "uU":
        digits = body[i + 2:i + (6 if n == "u" else 10)]
        if not re.fullmatch(r"[0-9A-Fa-f]{4}" if n == "u" else r"[0-9A-Fa-f]{8}", digits) \
                or not (int(digits, 16) < 0xD800 or 0xE000 <= int(digits, 16) < 0x110000):
            raise NotUnderstood("bad escape \\%s%s" % (n, digits))
        return list(chr(int(digits, 16)).encode("utf-8")), i + 2 + len(digits)
    raise NotUnderstood("unknown escape \\%s" % n)


def c_unescape(body, escapes=C_ESCAPES):
    """A C or C++ literal's body as a str of its bytes, one character a byte (for
    Latin-1); an octal escape above \\377 is kept as written."""
    return "".join(chr(x) if isinstance(x, int) else x for x in decode(body, escapes, c_escape))


def c_bytes(body, escapes=C_ESCAPES, strict=False, encoding="utf-8"):
    """A C or C++ narrow literal's body as bytes: its plain characters in `encoding`, its
    escapes as `c_escape` has them (`strict` or taken modulo 256)."""
    out = bytearray()
    for x in decode(body, escapes, lambda body, i: c_escape(body, i, strict)):
        if isinstance(x, int):
            out.append(x & 0xFF)
        else:
            out += x.encode(encoding)
    return bytes(out)


def java_escape(body, i):
    """The character of the Java escape at `body[i]` (`\\uXXXX` with any number of u, octal
    up to \\377), in a list, and the index after it."""
    n = body[i + 1]
    if n == "u":
        j = i + 1
        while body[j] == "u":
            j += 1
        return [chr(int(body[j:j + 4], 16))], j + 4
    if n in "01234567":
        m = re.match(r"[0-3][0-7]{0,2}|[4-7][0-7]?", body[i + 1:])
        return [chr(int(m.group(0), 8))], i + 1 + len(m.group(0))
    raise NotUnderstood("unknown escape \\%s" % n)


def java_unescape(body):
    """A Java literal's body (between its quotes) as the str it stands for."""
    return "".join(decode(body, JAVA_ESCAPES, java_escape))


# ------------------------------------------------------------------------ token lists
# For the scripts that tokenize first: a token is a tuple (kind, value, line, ...), and
# `punct` names the kind their punctuation has.

def split_tokens(toks, sep, punct, empty_last=True):
    """`toks` split at the punctuation `sep` found outside brackets: a list of token lists
    (none for no tokens; without `empty_last`, none for nothing after the last `sep`)."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t[0] == punct and t[1] in ("(", "[", "{"):
            depth += 1
        elif t[0] == punct and t[1] in (")", "]", "}"):
            depth -= 1
        if t[0] == punct and t[1] == sep and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(t)
    if cur or (parts and empty_last):
        parts.append(cur)
    return parts


def closing_token(toks, i, punct):
    """The index of the bracket closing the one at `toks[i]`, or None."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening, closing, depth = toks[i][1], pairs[toks[i][1]], 0
    for j in range(i, len(toks)):
        if toks[j][0] == punct:
            if toks[j][1] == opening:
                depth += 1
            elif toks[j][1] == closing:
                depth -= 1
                if depth == 0:
                    return j
    return None
