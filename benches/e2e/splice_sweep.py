#!/usr/bin/env python3
"""The system calls of `CopyBody`'s splice path, with their sizes as parameters, swept
interleaved: GET URL over a new TCP connection, then splice(2) socket -> pipe -> /dev/null
(non-blocking socket, poll(2) on EAGAIN, as the operation does), for each pipe size / splice
length and SO_RCVLOWAT (0: left at the default of 1 byte). Also socket.recv_into with
buffers of 16..256 KiB, the copy a read loop does.

usage: benches/e2e/splice_sweep.py URL [--rounds 3] [--pieces 64,256,1024] [--lowats 0,32,64,128,256,512]
    [--no-recv]

Sizes in KiB; a low-water mark above the pipe size is skipped. Prints seconds per try, and
the median and the best try per configuration (on a shared machine the best is the least
disturbed).
"""
import argparse, fcntl, os, select, socket, statistics, time
from urllib.parse import urlsplit

F_SETPIPE_SZ = 1031


def start(url):
    u = urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t = time.perf_counter()
    s.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (u.path.encode(), u.netloc.encode()))
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    h, rest = head.split(b"\r\n\r\n", 1)
    cl = [l.split(b":")[1] for l in h.split(b"\r\n") if l.lower().startswith(b"content-length")]
    return s, t, int(cl[0]) - len(rest)


def splice_try(url, piece, lowat):
    s, t, left = start(url)
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    fcntl.fcntl(w, F_SETPIPE_SZ, piece)
    null = os.open("/dev/null", os.O_WRONLY)
    s.setblocking(False)
    fd, mark = s.fileno(), 1
    while left:
        try:
            n = os.splice(fd, w, min(left, piece), flags=os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK)
        except BlockingIOError:
            want = min(lowat, left) if lowat else 1
            if want != mark:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, want)
                mark = want
            p = select.poll(); p.register(fd, select.POLLIN); p.poll()
            continue
        if n == 0:
            raise SystemExit("cut short")
        left -= n
        while n:
            n -= os.splice(r, null, n, flags=os.SPLICE_F_MOVE)
    dt = time.perf_counter() - t
    s.close(); os.close(r); os.close(w); os.close(null)
    return dt


def recv_try(url, size):
    s, t, left = start(url)
    buf = memoryview(bytearray(size))
    while left:
        n = s.recv_into(buf[: min(size, left)])
        if not n:
            raise SystemExit("cut short")
        left -= n
    dt = time.perf_counter() - t
    s.close()
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pieces", default="64,256,1024")
    ap.add_argument("--lowats", default="0,32,64,128,256,512")
    ap.add_argument("--no-recv", action="store_true")
    a = ap.parse_args()
    K = 1024
    configs = [] if a.no_recv else [
        ("recv_into %d KiB" % k, lambda k=k: recv_try(a.url, k * K)) for k in (16, 32, 64, 128, 256)]
    for piece in (int(x) * K for x in a.pieces.split(",")):
        for lowat in (int(x) * K for x in a.lowats.split(",")):
            if lowat > piece:
                continue
            configs.append(("splice pipe %4d KiB lowat %3d KiB" % (piece // K, lowat // K),
                            lambda p=piece, l=lowat: splice_try(a.url, p, l)))
    got = {name: [] for name, _ in configs}
    for r in range(a.rounds):
        for name, run in configs:
            got[name].append(run())
            print("round %d: %-36s %.3f s" % (r + 1, name, got[name][-1]), flush=True)
    print("medians over %d rounds:" % a.rounds)
    for name, _ in configs:
        print("  %-36s median %.3f s  best %.3f s" % (name, statistics.median(got[name]), min(got[name])))


if __name__ == "__main__":
    main()
