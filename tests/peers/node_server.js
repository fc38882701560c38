// Node.js's http server with its defaults, for pollhttp's crawl tests.
//
//     node tests/peers/node_server.js PORT_FILE [MAX_REQUESTS_PER_SOCKET]
//
// http.createServer with nothing changed (keepAliveTimeout 5 s, headersTimeout 60 s,
// requestTimeout 300 s, no cap on requests per connection), but for
// server.maxRequestsPerSocket when MAX_REQUESTS_PER_SOCKET is given: then every response
// but the last of a connection says `Keep-Alive: timeout=5, max=N` (the total, the same on
// each), the N-th says `Connection: close`, and requests pipelined behind it are answered
// 503. Routes: /dN.html -> 200 "document N\n" (text/html, Content-Length), anything else
// 404. Listens on 127.0.0.1, a port the OS picks, written to PORT_FILE in decimal (beside
// it, then renamed, so a test can poll for it). Exits by itself within a second when its
// parent process goes away.
'use strict';
const fs = require('fs');
const http = require('http');

const [portFile, max] = process.argv.slice(2);
if (!portFile) {
  console.error('usage: node node_server.js PORT_FILE [MAX_REQUESTS_PER_SOCKET]');
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const m = req.url.split('?')[0].match(/^\/d(\d+)\.html$/);
  const [status, body] = m ? [200, `document ${m[1]}\n`] : [404, 'not found\n'];
  res.writeHead(status, {'content-type': 'text/html', 'content-length': Buffer.byteLength(body)});
  res.end(req.method === 'HEAD' ? undefined : body);
});
if (max) server.maxRequestsPerSocket = Number(max);
server.listen(0, '127.0.0.1', () => {
  const tmp = `${portFile}.tmp${process.pid}`;
  fs.writeFileSync(tmp, String(server.address().port));
  fs.renameSync(tmp, portFile);
});
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();
