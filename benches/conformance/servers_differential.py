#!/usr/bin/env python3
"""Send the same edge-case requests to `serve` and to other servers, and list where
`serve` parts from them.

    cargo build --release --example serve
    tests/peers/nginx.sh start 18201 /tmp/d/nginx
    tests/peers/apache.sh start 18202 /tmp/d/apache
    tests/peers/lighttpd.sh start 18203 /tmp/d/lighttpd
    target/release/examples/serve --addr 127.0.0.1:18204 &
    node -e "require('http').createServer((q, s) => { q.resume();
        q.on('end', () => s.end('ok')); }).listen(18205, '127.0.0.1')" &
    python3 benches/conformance/servers_differential.py serve=18204 \\
        nginx=18201 apache=18202 lighttpd=18203 node=18205 [--verbose] [--json OUT]

The first server is the one judged. Each case is a raw request for `/d1.html` (which all of
them serve: the peers scripts' documents, and serve's `/dN.html` route), sent on a new
connection, whose write side is then shut; the answer's status is read (what the server
sends before it closes, 3 s at most). Node's server answers anything once it has read the
request and its body, so its answer is llhttp's verdict; nginx (405) and lighttpd (200)
answer a POST to a static file before they read its body, so only Apache and Node judge
the body cases. An answer is:

  ok        2xx, 3xx, 404 or 405: the request was read and handed on;
  NNN       any other status (400, 411, 413, 414, 417, 431, 501, 505...): refused;
  closed    no status line before the connection closed or the time ran out.

Only ok against the rest is judged ("accepts" or "refuses"); the refusing status is shown.
A case is listed when the judged server gives another verdict than the others all give
("alone"), or than most of them ("against most"); with --verbose, every case.

The cases are written here, grouped by the rule they try (RFC 9112 and 9110 sections):
nothing else is read.
"""

import argparse
import json
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h1dump_io  # noqa: E402

D = b"/d1.html"
H = b"Host: localhost\r\n"


def req(line=b"GET " + D + b" HTTP/1.1", fields=H, body=b""):
    return line + b"\r\n" + fields + b"\r\n" + body


def post(fields, body):
    return req(b"POST " + D + b" HTTP/1.1", H + fields, body)


def chunked(body):
    return post(b"Transfer-Encoding: chunked\r\n", body)


CASES = [
    # --- request line (RFC 9112 §3) ---
    ("plain GET", req()),
    ("HTTP/1.0 without Host", req(b"GET " + D + b" HTTP/1.0", b"")),
    ("lowercase method", req(b"get " + D + b" HTTP/1.1")),
    ("method with a digit", req(b"G3T " + D + b" HTTP/1.1")),
    ("method with !#$", req(b"G!#$ " + D + b" HTTP/1.1")),
    ("method with a slash", req(b"G/T " + D + b" HTTP/1.1")),
    ("method with a colon", req(b"GET: " + D + b" HTTP/1.1")),
    ("two spaces after method", req(b"GET  " + D + b" HTTP/1.1")),
    ("two spaces before version", req(b"GET " + D + b"  HTTP/1.1")),
    ("tab after method", req(b"GET\t" + D + b" HTTP/1.1")),
    ("leading space", req(b" GET " + D + b" HTTP/1.1")),
    ("trailing space after version", req(b"GET " + D + b" HTTP/1.1 ")),
    ("empty line before request", b"\r\n" + req()),
    ("two empty lines before request", b"\r\n\r\n" + req()),
    ("bare LF before request", b"\n" + req()),
    ("version lowercase", req(b"GET " + D + b" http/1.1")),
    ("version HTTP/1.2", req(b"GET " + D + b" HTTP/1.2")),
    ("version HTTP/2.0", req(b"GET " + D + b" HTTP/2.0")),
    ("version HTTP/0.9 with fields", req(b"GET " + D + b" HTTP/0.9")),
    ("version HTTP/1.10", req(b"GET " + D + b" HTTP/1.10")),
    ("version HTTP/01.1", req(b"GET " + D + b" HTTP/01.1")),
    ("version HTTP/1", req(b"GET " + D + b" HTTP/1")),
    ("version missing", req(b"GET " + D)),
    ("HTTP/0.9 request", b"GET " + D + b"\r\n"),
    ("version then junk", req(b"GET " + D + b" HTTP/1.1x")),
    # --- request target (§3.2) ---
    ("query", req(b"GET " + D + b"?a=b&c HTTP/1.1")),
    ("fragment", req(b"GET " + D + b"#frag HTTP/1.1")),
    ("percent without hex", req(b"GET " + D + b"?%zz HTTP/1.1")),
    ("double slash", req(b"GET /" + D + b" HTTP/1.1")),
    ("raw UTF-8", req(b"GET " + D + b"?\xc3\xa9 HTTP/1.1")),
    ("raw DEL", req(b"GET " + D + b"?\x7f HTTP/1.1")),
    ("raw NUL", req(b"GET " + D + b"?\x00 HTTP/1.1")),
    ("raw tab in target", req(b"GET " + D + b"?a\tb HTTP/1.1")),
    ("backslash", req(b"GET " + D + b"?a\\b HTTP/1.1")),
    ("quote and brackets", req(b"GET " + D + b"?a=\"[x]\" HTTP/1.1")),
    ("less-than", req(b"GET " + D + b"?<x> HTTP/1.1")),
    ("relative target", req(b"GET d1.html HTTP/1.1")),
    ("absolute-form http", req(b"GET http://localhost" + D + b" HTTP/1.1")),
    ("absolute-form HTTP uppercase", req(b"GET HTTP://localhost" + D + b" HTTP/1.1")),
    ("absolute-form https", req(b"GET https://localhost" + D + b" HTTP/1.1")),
    ("absolute-form other host", req(b"GET http://other.example" + D + b" HTTP/1.1")),
    ("absolute-form empty host", req(b"GET http://" + D + b" HTTP/1.1")),
    ("absolute-form userinfo", req(b"GET http://u:p@localhost" + D + b" HTTP/1.1")),
    ("absolute-form port", req(b"GET http://localhost:80" + D + b" HTTP/1.1")),
    ("absolute-form bad port", req(b"GET http://localhost:8x" + D + b" HTTP/1.1")),
    ("absolute-form IPv6", req(b"GET http://[::1]" + D + b" HTTP/1.1")),
    ("absolute-form bad IPv6", req(b"GET http://[::1" + D + b" HTTP/1.1")),
    ("absolute-form ftp scheme", req(b"GET ftp://localhost" + D + b" HTTP/1.1")),
    ("absolute-form no slashes", req(b"GET http:" + D + b" HTTP/1.1")),
    ("asterisk for OPTIONS", req(b"OPTIONS * HTTP/1.1")),
    ("asterisk for GET", req(b"GET * HTTP/1.1")),
    ("authority-form for GET", req(b"GET localhost:80 HTTP/1.1")),
    ("CONNECT origin-form", req(b"CONNECT " + D + b" HTTP/1.1")),
    ("long target 8000", req(b"GET " + D + b"?" + b"a" * 8000 + b" HTTP/1.1")),
    # --- Host (§3.2, RFC 9110 §7.2) ---
    ("HTTP/1.1 without Host", req(fields=b"")),
    ("empty Host", req(fields=b"Host:\r\n")),
    ("two Hosts", req(fields=H + H)),
    ("Host with port", req(fields=b"Host: localhost:80\r\n")),
    ("Host port only", req(fields=b"Host: :80\r\n")),
    ("Host bad port", req(fields=b"Host: localhost:8x\r\n")),
    ("Host with userinfo", req(fields=b"Host: u@localhost\r\n")),
    ("Host with path", req(fields=b"Host: localhost/x\r\n")),
    ("Host with space", req(fields=b"Host: local host\r\n")),
    ("Host IPv6", req(fields=b"Host: [::1]:80\r\n")),
    ("Host bad IPv6", req(fields=b"Host: [::1\r\n")),
    ("Host underscore", req(fields=b"Host: a_b.example\r\n")),
    ("Host leading dot", req(fields=b"Host: .localhost\r\n")),
    ("Host double dot", req(fields=b"Host: a..b\r\n")),
    ("Host dot dot alone", req(fields=b"Host: ..\r\n")),
    ("Host dot alone", req(fields=b"Host: .\r\n")),
    ("Host trailing dot", req(fields=b"Host: localhost.\r\n")),
    ("Host slash", req(fields=b"Host: a/b\r\n")),
    ("Host backslash", req(fields=b"Host: a\\b\r\n")),
    ("Host dot dot slash", req(fields=b"Host: ../x\r\n")),
    ("Host numeric 3 parts", req(fields=b"Host: 127.0.1\r\n")),
    ("Host uppercase", req(fields=b"Host: LOCALHOST\r\n")),
    ("Host with tab around", req(fields=b"Host:\tlocalhost\t\r\n")),
    ("Host empty port", req(fields=b"Host: localhost:\r\n")),
    ("Host port 0", req(fields=b"Host: localhost:0\r\n")),
    ("Host port too large", req(fields=b"Host: localhost:99999\r\n")),
    ("Host percent", req(fields=b"Host: a%41b\r\n")),
    ("Host bad percent", req(fields=b"Host: a%zz\r\n")),
    ("Host non-ASCII", req(fields=b"Host: \xc3\xa9.example\r\n")),
    ("Host list", req(fields=b"Host: a, b\r\n")),
    # --- fields (§5, RFC 9110 §5) ---
    ("field without space", req(fields=H + b"X:y\r\n")),
    ("empty field value", req(fields=H + b"X:\r\n")),
    ("space before colon", req(fields=H + b"X : y\r\n")),
    ("tab before colon", req(fields=H + b"X\t: y\r\n")),
    ("space in name", req(fields=H + b"X Y: z\r\n")),
    ("empty name", req(fields=H + b": z\r\n")),
    ("no colon", req(fields=H + b"Xyz\r\n")),
    ("name with underscore", req(fields=H + b"X_Y: z\r\n")),
    ("name with @", req(fields=H + b"X@Y: z\r\n")),
    ("name with UTF-8", req(fields=H + b"X\xc3\xa9: z\r\n")),
    ("value with tab", req(fields=H + b"X: a\tb\r\n")),
    ("value with NUL", req(fields=H + b"X: a\x00b\r\n")),
    ("value with ctl 0x01", req(fields=H + b"X: a\x01b\r\n")),
    ("value with DEL", req(fields=H + b"X: a\x7fb\r\n")),
    ("value with obs-text", req(fields=H + b"X: a\xffb\r\n")),
    ("value with bare CR", req(fields=H + b"X: a\rb\r\n")),
    ("obs-fold", req(fields=H + b"X: a\r\n b\r\n")),
    ("obs-fold tab", req(fields=H + b"X: a\r\n\tb\r\n")),
    ("first field folded", req(fields=b" X: a\r\n" + H)),
    ("bare LF line end", req(fields=H + b"X: a\n")),
    ("bare LF everywhere", b"GET " + D + b" HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n"),
    ("CR CR LF", req(fields=H + b"X: a\r\r\n")),
    ("field line 9000", req(fields=H + b"X: " + b"a" * 9000 + b"\r\n")),
    ("100 fields", req(fields=H + b"".join(b"X%d: y\r\n" % i for i in range(99)))),
    ("200 fields", req(fields=H + b"".join(b"X%d: y\r\n" % i for i in range(199)))),
    # --- Content-Length (§6.2, §6.3; RFC 9110 §8.6) ---
    ("CL body", post(b"Content-Length: 5\r\n", b"hello")),
    ("CL zero", post(b"Content-Length: 0\r\n", b"")),
    ("CL leading zeros", post(b"Content-Length: 005\r\n", b"hello")),
    ("CL 21 digits leading zeros", post(b"Content-Length: 000000000000000000005\r\n", b"hello")),
    ("CL plus", post(b"Content-Length: +5\r\n", b"hello")),
    ("CL minus", post(b"Content-Length: -5\r\n", b"hello")),
    ("CL hex", post(b"Content-Length: 0x5\r\n", b"hello")),
    ("CL space inside", post(b"Content-Length: 5 5\r\n", b"hello")),
    ("CL trailing space", post(b"Content-Length: 5 \r\n", b"hello")),
    ("CL empty", post(b"Content-Length:\r\n", b"hello")),
    ("CL list same", post(b"Content-Length: 5, 5\r\n", b"hello")),
    ("CL list different", post(b"Content-Length: 5, 6\r\n", b"hello")),
    ("CL twice same", post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello")),
    ("CL twice different", post(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello")),
    ("CL overflow", post(b"Content-Length: 18446744073709551616\r\n", b"hello")),
    ("CL huge", post(b"Content-Length: 99999999999999\r\n", b"hello")),
    ("CL body short", post(b"Content-Length: 10\r\n", b"hello")),
    ("GET with CL body", req(fields=H + b"Content-Length: 5\r\n", body=b"hello")),
    ("POST without CL", req(b"POST " + D + b" HTTP/1.1")),
    ("HTTP/1.0 POST without CL", req(b"POST " + D + b" HTTP/1.0", b"")),
    # --- Transfer-Encoding (§6.1, §7) ---
    ("chunked", chunked(b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked uppercase", post(b"Transfer-Encoding: CHUNKED\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked with CL", post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                             b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked twice", post(b"Transfer-Encoding: chunked, chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("gzip, chunked", post(b"Transfer-Encoding: gzip, chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunked, gzip", post(b"Transfer-Encoding: chunked, gzip\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("identity", post(b"Transfer-Encoding: identity\r\n", b"")),
    ("TE empty", post(b"Transfer-Encoding:\r\n", b"")),
    ("TE xchunked", post(b"Transfer-Encoding: xchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE chunked with parameter", post(b"Transfer-Encoding: chunked;a=b\r\n",
                                       b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE in HTTP/1.0", req(b"POST " + D + b" HTTP/1.0", b"Transfer-Encoding: chunked\r\n",
                           b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE leading comma", post(b"Transfer-Encoding: , chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE split over two fields", post(b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                                      b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE vertical tab", post(b"Transfer-Encoding: \x0bchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("chunk size uppercase hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n")),
    ("chunk size leading zeros", chunked(b"0005\r\nhello\r\n0\r\n\r\n")),
    ("chunk size 0x", chunked(b"0x5\r\nhello\r\n0\r\n\r\n")),
    ("chunk size plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n")),
    ("chunk size trailing space", chunked(b"5 \r\nhello\r\n0\r\n\r\n")),
    ("chunk size leading space", chunked(b" 5\r\nhello\r\n0\r\n\r\n")),
    ("chunk size overflow", chunked(b"10000000000000000\r\nhello\r\n0\r\n\r\n")),
    ("chunk size empty", chunked(b"\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension", chunked(b"5;a=b\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension quoted", chunked(b"5;a=\"b c\"\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension BWS", chunked(b"5 ;a=b\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension no name", chunked(b"5;\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension bare LF", chunked(b"5;a\nhello\r\n0\r\n\r\n")),
    ("chunk data too long", chunked(b"5\r\nhelloX\r\n0\r\n\r\n")),
    ("chunk data bare LF end", chunked(b"5\r\nhello\n0\r\n\r\n")),
    ("chunk size bare LF", chunked(b"5\nhello\r\n0\r\n\r\n")),
    ("last chunk without final CRLF", chunked(b"5\r\nhello\r\n0\r\n")),
    ("trailer field", chunked(b"5\r\nhello\r\n0\r\nX: y\r\n\r\n")),
    ("trailer Content-Length", chunked(b"5\r\nhello\r\n0\r\nContent-Length: 9\r\n\r\n")),
    ("trailer without colon", chunked(b"5\r\nhello\r\n0\r\nXyz\r\n\r\n")),
    ("trailer obs-fold", chunked(b"5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n")),
    ("chunked body cut", chunked(b"5\r\nhel")),
    # --- more edges, by rule ---
    ("method 20 chars", req(b"ABCDEFGHIJKLMNOPQRST " + D + b" HTTP/1.1")),
    ("method mixed case GET", req(b"Get " + D + b" HTTP/1.1")),
    ("tab after version", req(b"GET " + D + b" HTTP/1.1\t")),
    ("CR CR LF after request line", b"GET " + D + b" HTTP/1.1\r\r\n" + H + b"\r\n"),
    ("target %00", req(b"GET " + D + b"?%00 HTTP/1.1")),
    ("target with space encoded as +", req(b"GET " + D + b"?a+b HTTP/1.1")),
    ("target absolute no path", req(b"GET http://localhost?x HTTP/1.1")),
    ("target absolute uppercase host", req(b"GET http://LOCALHOST" + D + b" HTTP/1.1")),
    ("target absolute port 0", req(b"GET http://localhost:0" + D + b" HTTP/1.1")),
    ("target absolute empty port", req(b"GET http://localhost:" + D + b" HTTP/1.1")),
    ("all tchars in a name", req(fields=H + b"!#$%&'*+-.^_`|~09azAZ: y\r\n")),
    ("name uppercase HOST", req(fields=b"HOST: localhost\r\n")),
    ("Host twice, other case", req(fields=H + b"host: localhost\r\n")),
    ("Host leading tab", req(fields=b"Host:\tlocalhost\r\n")),
    ("Host trailing space", req(fields=b"Host: localhost \r\n")),
    ("Host then folded line", req(fields=b"Host: localhost\r\n x\r\n")),
    ("value only whitespace", req(fields=H + b"X:   \t \r\n")),
    ("value trailing whitespace", req(fields=H + b"X: y \t\r\n")),
    ("value with quote and backslash", req(fields=H + b"X: \"a\\b\"\r\n")),
    ("CL leading tab", post(b"Content-Length:\t5\r\n", b"hello")),
    ("CL with obs-fold", post(b"Content-Length:\r\n 5\r\n", b"hello")),
    ("CL 0 on GET", req(fields=H + b"Content-Length: 0\r\n")),
    ("TE trailing tab", post(b"Transfer-Encoding: chunked\t\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE leading tab", post(b"Transfer-Encoding:\tchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE chunked then identity", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                                      b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE chunked space comma gzip", post(b"Transfer-Encoding: chunked , gzip\r\n", b"hello")),
    ("TE quoted chunked", post(b"Transfer-Encoding: \"chunked\"\r\n", b"5\r\nhello\r\n0\r\n\r\n")),
    ("TE on GET", req(fields=H + b"Transfer-Encoding: chunked\r\n", body=b"0\r\n\r\n")),
    ("chunk size 32 digits", chunked(b"00000000000000000000000000000005\r\nhello\r\n0\r\n\r\n")),
    ("last chunk with extension", chunked(b"5\r\nhello\r\n0;a=b\r\n\r\n")),
    ("chunk extension escaped quote", chunked(b"5;a=\"b\\\"c\"\r\nhello\r\n0\r\n\r\n")),
    ("chunk extension spaces around =", chunked(b"5;a = b\r\nhello\r\n0\r\n\r\n")),
    ("chunk data CR CR LF", chunked(b"5\r\nhello\r\r\n0\r\n\r\n")),
    ("chunk data then LF CR", chunked(b"5\r\nhello\n\r0\r\n\r\n")),
    ("trailer TE chunked", chunked(b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n")),
    ("trailer space before colon", chunked(b"5\r\nhello\r\n0\r\nX : y\r\n\r\n")),
    ("many small chunks", chunked(b"1\r\na\r\n" * 500 + b"0\r\n\r\n")),
    ("Connection CLOSE uppercase", req(fields=H + b"Connection: CLOSE\r\n") + req()),
    ("Connection close among others", req(fields=H + b"Connection: x, close , y\r\n") + req()),
    ("Connection: Upgrade without Upgrade", req(fields=H + b"Connection: Upgrade\r\n")),
    ("Upgrade without Connection", req(fields=H + b"Upgrade: websocket\r\n")),
    ("Expect uppercase", post(b"Expect: 100-CONTINUE\r\nContent-Length: 5\r\n", b"hello")),
    ("Expect on HTTP/1.0", req(b"POST " + D + b" HTTP/1.0", b"Expect: 100-continue\r\n"
                               b"Content-Length: 5\r\n", b"hello")),
    ("Expect with CL 0", post(b"Expect: 100-continue\r\nContent-Length: 0\r\n", b"")),
    ("TRACE with body", req(b"TRACE " + D + b" HTTP/1.1", H + b"Content-Length: 5\r\n", b"hello")),
    ("OPTIONS * with body", req(b"OPTIONS * HTTP/1.1", H + b"Content-Length: 5\r\n", b"hello")),
    ("CONNECT host:port", req(b"CONNECT localhost:80 HTTP/1.1", b"Host: localhost:80\r\n")),
    ("HTTP/1.0 keep-alive and CL body then GET",
     req(b"POST " + D + b" HTTP/1.0", b"Connection: keep-alive\r\nContent-Length: 5\r\n", b"hello")
     + req()),
    # --- connection, expectations (§9, RFC 9110 §10.1.1) ---
    ("Connection: close", req(fields=H + b"Connection: close\r\n")),
    ("Connection: keep-alive, close", req(fields=H + b"Connection: keep-alive, close\r\n")),
    ("Expect 100-continue", post(b"Expect: 100-continue\r\nContent-Length: 5\r\n", b"hello")),
    ("Expect unknown", post(b"Expect: something\r\nContent-Length: 5\r\n", b"hello")),
    ("Upgrade h2c", req(fields=H + b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n")),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("pipelined two", req() + req()),
    ("pipelined three", req() + req() + req()),
    ("GET, then a bad request", req() + req(fields=H + b"X : y\r\n")),
    ("bad request, then GET", req(fields=H + b"X : y\r\n") + req()),
    ("Connection: close, then GET", req(fields=H + b"Connection: close\r\n") + req()),
    ("HTTP/1.0, then GET", req(b"GET " + D + b" HTTP/1.0", b"") + req()),
    ("HTTP/1.0 keep-alive, then GET", req(b"GET " + D + b" HTTP/1.0",
                                          b"Connection: keep-alive\r\n") + req()),
    ("HEAD, then GET", req(b"HEAD " + D + b" HTTP/1.1") + req()),
    ("POST with CL body, then GET", post(b"Content-Length: 5\r\n", b"hello") + req()),
    ("chunked POST, then GET", chunked(b"5\r\nhello\r\n0\r\n\r\n") + req()),
    ("chunked POST with trailer, then GET", chunked(b"0\r\nX: y\r\n\r\n") + req()),
    ("Expect with body, then GET", post(b"Expect: 100-continue\r\nContent-Length: 5\r\n",
                                        b"hello") + req()),
    ("GET with CL body, then GET", req(fields=H + b"Content-Length: 5\r\n", body=b"hello")
     + req()),
    ("CRLF between requests", req() + b"\r\n" + req()),
    ("bare LF between requests", req() + b"\n" + req()),
    ("garbage after request", req() + b"\x00\x01\x02"),
    ("only CRLF", b"\r\n"),
    ("binary", b"\x16\x03\x01\x00\x05hello"),
]


# Anywhere, not only at a line start: a body without a final newline ("not found") runs
# into the next status line. The bodies served hold no status line of their own.
STATUS_LINE = re.compile(rb"HTTP/\d\.\d (\d{3})[ \r\n]")


def ask(port, data, timeout=3.0):
    """The final statuses of the answers to `data` on a new connection (1xx left out), as
    one string ("200", "200 400"), or "closed" when there is none."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return "connect failed: %s" % e
    got = b""
    try:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while len(got) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    finally:
        s.close()
    statuses = [m.group(1).decode() for m in STATUS_LINE.finditer(got)
                if not m.group(1).startswith(b"1")]
    return " ".join(statuses) or "closed"


def verdict(answer):
    """accepts / refuses for each final answer, in order."""
    if not answer[:1].isdigit():
        return "refuses"
    return " ".join("accepts" if 200 <= int(x) < 400 or x in ("404", "405") else "refuses"
                    for x in answer.split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("servers", nargs="+", help="NAME=PORT, the judged one first")
    ap.add_argument("--verbose", action="store_true", help="list every case")
    ap.add_argument("--json", help="write every answer to this file")
    a = ap.parse_args()
    servers = [(n, int(p)) for n, p in (s.split("=", 1) for s in a.servers)]
    answers = [[None] * len(servers) for _ in CASES]

    def run(i, j):
        answers[i][j] = ask(servers[j][1], CASES[i][1])
    h1dump_io.run_threads(run, [(i, j) for i in range(len(CASES))
                                for j in range(len(servers))], 32)

    judged, others = servers[0][0], [n for n, _ in servers[1:]]
    width = max(len(name) for name, _ in CASES)
    print("%-*s  %s" % (width, "case", "  ".join("%-9s" % n for n, _ in servers)))
    alone = against_most = 0
    for (name, data), row in zip(CASES, answers):
        ours, rest = verdict(row[0]), [verdict(x) for x in row[1:]]
        agree = sum(v == ours for v in rest)
        if agree == 0:
            mark, alone = "ALONE", alone + 1
        elif agree * 2 < len(rest):
            mark, against_most = "most", against_most + 1
        else:
            mark = ""
        if mark or a.verbose:
            print("%-*s  %s  %s" % (width, name, "  ".join("%-9s" % x for x in row), mark))
    print()
    print("%d cases; %s alone against %s: %d; against most of them: %d" % (
        len(CASES), judged, ", ".join(others), alone, against_most))
    for j, (name, _) in enumerate(servers[1:], 1):
        same = sum(verdict(r[0]) == verdict(r[j]) for r in answers)
        print("  %s agrees with %s on %d of %d (%.1f%%)" % (
            judged, name, same, len(CASES), 100.0 * same / len(CASES)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"case": n, "input": d.decode("latin-1"),
                        "answers": dict(zip([s for s, _ in servers], row))}
                       for (n, d), row in zip(CASES, answers)], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
