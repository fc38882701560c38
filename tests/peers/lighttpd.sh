#!/usr/bin/env bash
# lighttpd.sh start PORT DIR | stop DIR
# A private lighttpd (Debian's package, not the system instance) on 127.0.0.1:PORT with
# Debian's defaults: its /etc/lighttpd/lighttpd.conf is copied into DIR as it is (modules,
# parse options, mime types, conf-enabled/), so the keep-alive settings are lighttpd's own
# defaults, which Debian does not set (server.max-keep-alive-requests 1000,
# server.max-keep-alive-idle 5). lighttpd refuses a setting given twice, so the copy leaves
# out the lines that this script sets instead:
#   server.port, server.document-root, server.errorlog, server.pid-file, server.upload-dirs,
#   and the include_shell of use-ipv6.pl (a listener on [::]:80);
# and adds server.bind 127.0.0.1, server.port PORT, those paths inside DIR, and EXTRA_CONF
# from the environment of `start` if set, as it is (benches/conformance/
# proxies_differential.py adds mod_proxy this way). Debian's
# server.username www-data stays (used only as root: DIR/html must then be readable by
# www-data; start makes DIR and DIR/html world-readable and checks, and gives DIR/logs and
# DIR/tmp to that user). As non-root lighttpd ignores it and runs as the caller.
# It serves DIR/html:
#   /d1.html .. /d100.html   "document N\n"
#   /index.html              "pollhttp peers lighttpd\n"
# start returns once it answers, and fails with the error log otherwise. stop waits for it
# to exit; it is a no-op when nothing runs from DIR.
set -euo pipefail
usage() { echo "usage: [EXTRA_CONF=TEXT] $0 start PORT DIR | stop DIR" >&2; exit 2; }

stop() {
    local pidfile=$1/lighttpd.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

case ${1:-} in
    stop) [ $# = 2 ] || usage; stop "$2"; exit 0 ;;
    start) [ $# = 3 ] || usage ;;
    *) usage ;;
esac
port=$2
case $port in '' | *[!0-9]*) echo "lighttpd.sh: PORT $port is not a number" >&2; exit 2 ;; esac
mkdir -p "$3"
dir=$(cd "$3" && pwd)

debian=/etc/lighttpd/lighttpd.conf
lighttpd=$(command -v lighttpd || true)
if [ -z "$lighttpd" ] && [ -x /usr/sbin/lighttpd ]; then lighttpd=/usr/sbin/lighttpd; fi
if [ -z "$lighttpd" ] || [ ! -f "$debian" ]; then
    echo "lighttpd.sh: Debian's lighttpd is not installed (run tests/peers/setup.sh as root)" >&2
    exit 1
fi
command -v curl >/dev/null || { echo "lighttpd.sh: curl is not installed" >&2; exit 1; }

stop "$dir"
mkdir -p "$dir/html" "$dir/logs" "$dir/tmp"
for i in $(seq 1 100); do
    [ -f "$dir/html/d$i.html" ] || echo "document $i" >"$dir/html/d$i.html"
done
[ -f "$dir/html/index.html" ] || echo "pollhttp peers lighttpd" >"$dir/html/index.html"
if [ "$(id -u)" = 0 ]; then
    chmod a+rx "$dir" "$dir/html"
    chmod a+r "$dir"/html/*
    user=$(sed -n 's/^[[:space:]]*server\.username[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$debian")
    if [ -n "$user" ] && command -v runuser >/dev/null &&
        ! runuser -u "$user" -- test -r "$dir/html/d1.html"; then
        echo "lighttpd.sh: $user (lighttpd's user as root) cannot read $dir/html;" \
            "use a folder it can reach" >&2
        exit 1
    fi
    # It opens its error log after it has become that user.
    [ -z "$user" ] || chown "$user" "$dir/logs" "$dir/tmp"
fi

{
    echo "# Made by tests/peers/lighttpd.sh from $debian: the settings set at the end"
    echo "# are left out of the copy (lighttpd refuses a setting given twice)."
    grep -Ev '^[[:space:]]*(server\.(port|document-root|errorlog|pid-file|upload-dirs)[[:space:]]*=|include_shell[[:space:]].*use-ipv6)' "$debian"
    cat <<CONF

# pollhttp peers: where to listen and what to serve.
server.bind          = "127.0.0.1"
server.port          = $port
server.document-root = "$dir/html"
server.errorlog      = "$dir/logs/error.log"
server.pid-file      = "$dir/lighttpd.pid"
server.upload-dirs   = ( "$dir/tmp" )
${EXTRA_CONF:-}
CONF
} >"$dir/lighttpd.conf"

if ! "$lighttpd" -f "$dir/lighttpd.conf" >"$dir/logs/start.log" 2>&1; then
    echo "lighttpd.sh: lighttpd failed to start on 127.0.0.1:$port:" >&2
    cat "$dir/logs/start.log" >&2
    exit 1
fi
for _ in $(seq 1 100); do
    if curl -s -f -o /dev/null --max-time 1 "http://127.0.0.1:$port/index.html"; then exit 0; fi
    sleep 0.1
done
echo "lighttpd.sh: lighttpd on 127.0.0.1:$port did not answer within 10 s; logs:" >&2
cat "$dir/logs/start.log" >&2 2>/dev/null || true
tail -n 20 "$dir/logs/error.log" >&2 2>/dev/null || true
stop "$dir"
exit 1
