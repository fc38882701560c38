#!/usr/bin/env python3
"""RSS per idle keep-alive connection of a server process: opens N connections, one GET each,
keeps them open, and compares the server's VmRSS (from /proc/PID/status) before and after.
Then checks the server still answers a new connection.

usage: benches/e2e/idle_conns.py PORT N PID     (needs a descriptor limit above N)
"""
import socket, sys, time, resource
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port=int(sys.argv[1]); n=int(sys.argv[2]); pid=sys.argv[3]
def rss():
    for l in open("/proc/%s/status"%pid):
        if l.startswith("VmRSS"): return int(l.split()[1])
before=rss(); socks=[]
for i in range(n):
    s=socket.create_connection(("127.0.0.1",port))
    s.sendall(b"GET /d1.html HTTP/1.1\r\nHost: a\r\n\r\n")
    socks.append(s)
for s in socks:
    d=s.recv(4096); assert d.startswith(b"HTTP/1.1 200"), d
time.sleep(1)
after=rss()
print("connections %d: RSS before %d KiB after %d KiB: %.2f KiB per idle connection" % (n, before, after, (after-before)/n))
# still answering?
c=socket.create_connection(("127.0.0.1",port)); c.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"); print(c.recv(200)[:15])
