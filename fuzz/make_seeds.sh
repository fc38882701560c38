#!/usr/bin/env bash
# Regenerates the committed seed corpus in fuzz/seeds/<target>/.
# Each seed is: a control byte (see fuzz_targets/common.rs), its piece-size bytes, then the
# peer's bytes. Control 0x00: whole, default limits, GET; low nibble n: n size bytes
# follow; 0x10: small limits; client method 0x00 GET, 0x20 HEAD, 0x40 POST, 0x60 CONNECT;
# chunked target: 0x80 for the client role.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf seeds
mkdir -p seeds/server seeds/client seeds/chunked

# seed TARGET NAME CONTROL-AND-SIZES PAYLOAD (both as printf %b escapes)
seed() { printf '%b%b' "$3" "$4" > "seeds/$1/$2"; }

H='Host: a\r\n'
seed server get           '\x00' "GET / HTTP/1.1\r\n${H}\r\n"
seed server post-cl       '\x00' "POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello"
seed server chunked       '\x00' "POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;ext=\"q v\"\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"
seed server pipelined     '\x03\x00\x06\x01' "\r\nGET /1 HTTP/1.1\r\n${H}\r\nHEAD /2 HTTP/1.1\r\n${H}\r\nPOST /3 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nok"
seed server upgrade       '\x00' "GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00after"
seed server connect       '\x00' "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01tunnel"
seed server http10-close  '\x00' "GET / HTTP/1.0\r\n\r\nGET /ignored HTTP/1.1\r\n${H}\r\n"
seed server expect        '\x01\x03' "PUT /e HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
seed server cl-te         '\x00' "POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
seed server small-limits  '\x10' "GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\n${H}A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"

seed client ok-cl         '\x00' "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
seed client chunked       '\x00' "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"
seed client pipelined     '\x02\x04\x00' "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
seed client upgrade       '\x00' "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x12\x04"
seed client continue      '\x40' "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
seed client until-close   '\x00' "HTTP/1.0 200 OK\r\n\r\nbody until close"
seed client head          '\x20' "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
seed client connect       '\x60' "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01tunnel"
seed client obs-fold      '\x00' "HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n"
seed client small-limits  '\x10' "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nContent-Length: 400\r\n\r\n"

seed chunked simple       '\x00' "5\r\nhello\r\n0\r\n\r\n"
seed chunked extensions   '\x02\x00\x02' "a ; n=v ; q=\"x\\\\\"y\"\r\n0123456789\r\n0;last\r\nT: 1\r\nU: 2\r\n\r\n"
seed chunked client       '\x80' "3;a=b\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n"
seed chunked small-limits '\x10' "ff\r\n0123456789\r\n"
