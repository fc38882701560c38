#!/usr/bin/env bash
# nginx.sh start PORT|- DIR | stop DIR   (TLS: see the TLS_* variables below)
# A private nginx (not the system one) on 127.0.0.1:PORT: one worker, keep-alive with no practical
# request cap, access_log off, sendfile on. Everything it writes stays in DIR, so it runs as non-root.
# PORT `-` means no clear-text listener (then TLS_PORT is required).
#
# KEEPALIVE_REQUESTS, from the environment of `start`: the requests nginx serves on one
# connection before it closes it (keepalive_requests). Unset: 1000000000 (no practical cap).
# `default`: the directive is left out, so nginx's own default applies (1000 since 1.19.10;
# nginx announces `Connection: close` on the last response). A number: that number.
#
# TLS, besides or instead of the clear listener, from the environment of `start`:
#   TLS_PORT       listen on 127.0.0.1:TLS_PORT with TLS (TLSv1.2 and TLSv1.3 only)
#   TLS_CERT       the server certificate chain (PEM, leaf first); required with TLS_PORT
#   TLS_KEY        its private key (PEM); required with TLS_PORT
#   TLS_CLIENT_CA  if set: client certificates must chain to this CA (ssl_verify_client on;
#                  a client without one gets nginx's 400 "No required SSL certificate was sent")
# The TLS server has the same root and documents as the clear one.
#
# EXTRA_HTTP, from the environment of `start`: text put as it is at the end of the http
# block (more server blocks, an upstream: benches/conformance/proxies_differential.py
# adds a reverse proxy this way).
# It serves DIR/html:
#   /d1.html .. /d100.html   "document N\n"
#   /index.html              "pollhttp peers nginx\n"
#   /1m.bin                  1 MiB, byte i is i % 251 (the same pattern as h11_server.py)
#   /1g.bin                  1 GiB of zeros (sparse file)
# start returns once every listener answers, and fails with the error log otherwise.
set -euo pipefail
usage() { echo "usage: [KEEPALIVE_REQUESTS=N|default] [EXTRA_HTTP=TEXT] [TLS_PORT=P TLS_CERT=F TLS_KEY=F [TLS_CLIENT_CA=F]] $0 start PORT|- DIR | stop DIR" >&2; exit 2; }

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
tls_port=${TLS_PORT:-}
[ "$port" != - ] || [ -n "$tls_port" ] || { echo "nginx.sh: PORT - needs TLS_PORT" >&2; exit 2; }
keepalive_line="keepalive_requests 1000000000;"
case ${KEEPALIVE_REQUESTS:-} in
    '') ;;
    default) keepalive_line= ;;
    *[!0-9]*) echo "nginx.sh: KEEPALIVE_REQUESTS=$KEEPALIVE_REQUESTS: a number or default" >&2; exit 2 ;;
    *) keepalive_line="keepalive_requests $KEEPALIVE_REQUESTS;" ;;
esac
mkdir -p "$3"
dir=$(cd "$3" && pwd)

# Absolute paths: nginx reads relative ones from its prefix (DIR), not from here.
abspath() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$(pwd)" "$1" ;; esac; }
if [ -n "$tls_port" ]; then
    for var in TLS_CERT TLS_KEY; do
        [ -n "${!var:-}" ] || { echo "nginx.sh: TLS_PORT needs $var" >&2; exit 2; }
    done
    for var in TLS_CERT TLS_KEY TLS_CLIENT_CA; do
        [ -z "${!var:-}" ] || [ -r "${!var}" ] || { echo "nginx.sh: $var: cannot read ${!var}" >&2; exit 1; }
    done
    tls_cert=$(abspath "$TLS_CERT")
    tls_key=$(abspath "$TLS_KEY")
    tls_client_ca=
    [ -z "${TLS_CLIENT_CA:-}" ] || tls_client_ca=$(abspath "$TLS_CLIENT_CA")
fi

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

clear_server=
if [ "$port" != - ]; then
    clear_server="server {
        listen 127.0.0.1:$port;
        server_name localhost;
        root \"$dir/html\";
    }"
fi
tls_server=
if [ -n "$tls_port" ]; then
    verify=
    if [ -n "$tls_client_ca" ]; then
        verify="ssl_client_certificate \"$tls_client_ca\";
        ssl_verify_client on;"
    fi
    tls_server="server {
        listen 127.0.0.1:$tls_port ssl;
        server_name localhost;
        root \"$dir/html\";
        ssl_certificate \"$tls_cert\";
        ssl_certificate_key \"$tls_key\";
        ssl_protocols TLSv1.2 TLSv1.3;
        $verify
    }"
fi

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
    $keepalive_line
    keepalive_timeout 300s;
    client_body_temp_path "$dir/tmp/client_body";
    proxy_temp_path "$dir/tmp/proxy";
    fastcgi_temp_path "$dir/tmp/fastcgi";
    uwsgi_temp_path "$dir/tmp/uwsgi";
    scgi_temp_path "$dir/tmp/scgi";
    $clear_server
    $tls_server
    ${EXTRA_HTTP:-}
}
CONF

# -e: the error log before the config is read, which otherwise is under /var/log (not writable
# as non-root).
where="127.0.0.1:$port"
[ "$port" != - ] || where=
[ -z "$tls_port" ] || where="${where:+$where and }127.0.0.1:$tls_port (TLS)"
if ! "$nginx" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2>"$dir/logs/start.log"; then
    echo "nginx.sh: nginx failed to start on $where:" >&2
    cat "$dir/logs/start.log" >&2
    exit 1
fi
# Ready when each listener answers. Over TLS any HTTP status will do (without a client
# certificate a verifying server answers 400), and the certificate is not checked here:
# whether it verifies is for the tests to find out.
answers() {
    if [ "$port" != - ] && ! curl -s -f -o /dev/null --max-time 1 "http://127.0.0.1:$port/index.html"; then
        return 1
    fi
    if [ -n "$tls_port" ]; then
        local code
        code=$(curl -s -k -o /dev/null -w '%{http_code}' --max-time 1 "https://127.0.0.1:$tls_port/index.html" || true)
        [ -n "$code" ] && [ "$code" != 000 ] || return 1
    fi
}
for _ in $(seq 1 100); do
    if answers; then exit 0; fi
    sleep 0.1
done
echo "nginx.sh: nginx on $where did not answer within 10 s; error log:" >&2
tail -n 20 "$dir/logs/error.log" >&2 2>/dev/null || true
stop "$dir"
exit 1
