#!/usr/bin/env python3
r"""Python's own http.server, as `python3 -m http.server` runs it, for pollhttp's crawl tests.

    python3 tests/peers/http_server.py DIR PORT_FILE

The same server as `python3 -m http.server --bind 127.0.0.1 --directory DIR 0`: a
ThreadingHTTPServer with SimpleHTTPRequestHandler, whose protocol_version is left at its
default, "HTTP/1.0": each response has the status line "HTTP/1.0 200 OK" and a
Content-Length, and the server closes the connection after it (one request per connection;
requests pipelined behind the first are never answered, and since they are left unread the
close is usually a reset). Only two things differ from the command line: the request log
on stderr is off, and the port (chosen by the OS) is written to PORT_FILE in decimal with
no newline, beside then renamed, so a test can poll for it. It exits by itself within a
second when its parent process goes away.

It serves DIR, where it first writes (if absent):
  /d1.html .. /d100.html   "document N\n"
  /index.html              "pollhttp peers http.server\n"
Anything else in DIR is served too; a missing file is 404. Standard library only: any
python3 runs it.
"""

import os
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def main():
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} DIR PORT_FILE")
    root, port_file = sys.argv[1], sys.argv[2]
    os.makedirs(root, exist_ok=True)
    for i in range(1, 101):
        path = os.path.join(root, f"d{i}.html")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(f"document {i}\n")
    index = os.path.join(root, "index.html")
    if not os.path.exists(index):
        with open(index, "w") as f:
            f.write("pollhttp peers http.server\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=root))
    tmp = f"{port_file}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, port_file)
    threading.Thread(target=watch_parent, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
