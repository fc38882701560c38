#!/usr/bin/env bash
# nginx.sh start PORT DIR | stop DIR
# A private nginx (not the system one) on 127.0.0.1:PORT: one worker, keep-alive with no practical
# request cap, access_log off, sendfile on. Everything it writes stays in DIR, so it runs as non-root.
# It serves DIR/html:
#   /d1.html .. /d100.html   "document N\n"
#   /index.html              "pollhttp peers nginx\n"
#   /1m.bin                  1 MiB, byte i is i % 251 (the same pattern as h11_server.py)
#   /1g.bin                  1 GiB of zeros (sparse file)
# start returns once the server answers, and fails with the error log otherwise.
set -euo pipefail
usage() { echo "usage: $0 start PORT DIR | stop DIR" >&2; exit 2; }

stop() {
    local pidfile=$1/nginx.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        # The master removes its pid file on exit; wait so the port is free when we return.
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

case ${1:-} in
    stop) [ $# = 2 ] || usage; stop "$2"; exit 0 ;;
    start) [ $# = 3 ] || usage ;;
    *) usage ;;
esac
port=$2
mkdir -p "$3"
dir=$(cd "$3" && pwd)

nginx=$(command -v nginx || true)
# /usr/sbin is often not on a non-root PATH.
if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
if [ -z "$nginx" ]; then
    echo "nginx.sh: nginx is not installed (run tests/peers/setup.sh as root)" >&2
    exit 1
fi
command -v curl >/dev/null || { echo "nginx.sh: curl is not installed" >&2; exit 1; }

stop "$dir"
mkdir -p "$dir/html" "$dir/logs" "$dir/tmp"

# Content is made once and left alone after, so repeated starts are cheap.
for i in $(seq 1 100); do
    [ -f "$dir/html/d$i.html" ] || echo "document $i" >"$dir/html/d$i.html"
done
[ -f "$dir/html/index.html" ] || echo "pollhttp peers nginx" >"$dir/html/index.html"
if [ "$(stat -c %s "$dir/html/1m.bin" 2>/dev/null || echo 0)" != 1048576 ]; then
    python=${POLLHTTP_PEERS_PYTHON:-python3}
    "$python" -c 'import sys; p = bytes(range(251)); sys.stdout.buffer.write((p * (1048576 // 251 + 1))[:1048576])' \
        >"$dir/html/1m.bin.tmp"
    mv "$dir/html/1m.bin.tmp" "$dir/html/1m.bin"
fi
[ "$(stat -c %s "$dir/html/1g.bin" 2>/dev/null || echo 0)" = 1073741824 ] || truncate -s 1G "$dir/html/1g.bin"

# As root the workers would drop to nobody, who may not be able to read DIR (a 0700 temp dir);
# keep them as the caller. As non-root the directive is ignored, so it is left out.
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"

cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 1;
daemon on;
pid "$dir/nginx.pid";
error_log "$dir/logs/error.log" warn;
events { worker_connections 1024; }
http {
    types { text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
    client_body_temp_path "$dir/tmp/client_body";
    proxy_temp_path "$dir/tmp/proxy";
    fastcgi_temp_path "$dir/tmp/fastcgi";
    uwsgi_temp_path "$dir/tmp/uwsgi";
    scgi_temp_path "$dir/tmp/scgi";
    server {
        listen 127.0.0.1:$port;
        server_name localhost;
        root "$dir/html";
    }
}
CONF

# -e: the error log before the config is read, which otherwise is under /var/log (not writable
# as non-root).
if ! "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$dir/logs/start.log"; then
    echo "nginx.sh: nginx failed to start on 127.0.0.1:$port:" >&2
    cat "$dir/logs/start.log" >&2
    exit 1
fi
for _ in $(seq 1 100); do
    if curl -s -f -o /dev/null --max-time 1 "http://127.0.0.1:$port/index.html"; then exit 0; fi
    sleep 0.1
done
echo "nginx.sh: nginx on 127.0.0.1:$port did not answer within 10 s; error log:" >&2
tail -n 20 "$dir/logs/error.log" >&2 2>/dev/null || true
stop "$dir"
exit 1
