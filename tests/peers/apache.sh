#!/usr/bin/env bash
# apache.sh start PORT DIR | stop DIR
# A private Apache httpd (Debian's apache2 package, not the system instance) on 127.0.0.1:PORT
# with Debian's defaults for connections: its /etc/apache2/apache2.conf is copied into DIR
# as it is (KeepAlive On, MaxKeepAliveRequests 100, KeepAliveTimeout 5, Timeout 300), with
# ServerRoot /etc/apache2, so the modules, the MPM (event, with its mpm_event.conf) and the
# conf-enabled snippets are Debian's too. Only these are changed:
#   - the two lines that include ports.conf (Listen 80, 443) and sites-enabled/ (the default
#     virtual host on port 80, DocumentRoot /var/www/html) are left out of the copy;
#   - Debian's envvars are read for the run user and group (www-data, used only as root:
#     Apache refuses to serve as root), and the pid file, run, lock and log folders are put
#     in DIR instead of /run, /var/lock and /var/log;
#   - Listen 127.0.0.1:PORT, DocumentRoot DIR/html, and for DIR/html the same <Directory>
#     block Debian has for /var/www/;
#   - EXTRA_CONF, from the environment of `start`, if set: lines added at the end as they
#     are (benches/conformance/proxies_differential.py loads mod_proxy_http this way).
# Everything it writes stays in DIR, so it also runs as non-root (then with that user).
# As root, DIR/html must be readable by www-data: start makes DIR and DIR/html
# world-readable and fails early if www-data cannot reach them (a 0700 parent, say).
# It serves DIR/html:
#   /d1.html .. /d100.html   "document N\n"
#   /index.html              "pollhttp peers apache\n"
# start returns once it answers, and fails with the error log otherwise. stop waits for
# the parent process to exit; it is a no-op when nothing runs from DIR.
set -euo pipefail
usage() { echo "usage: [EXTRA_CONF=TEXT] $0 start PORT DIR | stop DIR" >&2; exit 2; }

stop() {
    local pidfile=$1/run/apache2.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
        # The parent stops its children, then removes its pid file and exits.
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
case $port in '' | *[!0-9]*) echo "apache.sh: PORT $port is not a number" >&2; exit 2 ;; esac
mkdir -p "$3"
dir=$(cd "$3" && pwd)

debian=/etc/apache2
apache2=$(command -v apache2 || true)
# /usr/sbin is often not on a non-root PATH.
if [ -z "$apache2" ] && [ -x /usr/sbin/apache2 ]; then apache2=/usr/sbin/apache2; fi
if [ -z "$apache2" ] || [ ! -f "$debian/apache2.conf" ] || [ ! -f "$debian/envvars" ]; then
    echo "apache.sh: Debian's apache2 is not installed (run tests/peers/setup.sh as root)" >&2
    exit 1
fi
command -v curl >/dev/null || { echo "apache.sh: curl is not installed" >&2; exit 1; }

stop "$dir"
mkdir -p "$dir/html" "$dir/logs" "$dir/run" "$dir/lock"
for i in $(seq 1 100); do
    [ -f "$dir/html/d$i.html" ] || echo "document $i" >"$dir/html/d$i.html"
done
[ -f "$dir/html/index.html" ] || echo "pollhttp peers apache" >"$dir/html/index.html"

# Debian's run user and group (what apache2ctl would use), then our own paths.
# shellcheck source=/dev/null
APACHE_RUN_USER=$(set +u; . "$debian/envvars"; echo "$APACHE_RUN_USER")
# shellcheck source=/dev/null
APACHE_RUN_GROUP=$(set +u; . "$debian/envvars"; echo "$APACHE_RUN_GROUP")
if [ "$(id -u)" = 0 ]; then
    chmod a+rx "$dir" "$dir/html"
    chmod a+r "$dir"/html/*
    if command -v runuser >/dev/null &&
        ! runuser -u "$APACHE_RUN_USER" -- test -r "$dir/html/d1.html"; then
        echo "apache.sh: $APACHE_RUN_USER (Apache's user as root) cannot read $dir/html;" \
            "use a folder it can reach" >&2
        exit 1
    fi
else
    APACHE_RUN_USER=$(id -un)
    APACHE_RUN_GROUP=$(id -gn)
fi
export APACHE_RUN_USER APACHE_RUN_GROUP
export APACHE_PID_FILE=$dir/run/apache2.pid APACHE_RUN_DIR=$dir/run
export APACHE_LOCK_DIR=$dir/lock APACHE_LOG_DIR=$dir/logs

# Debian's main file, without its listeners and its default site.
{
    echo "# Made by tests/peers/apache.sh from $debian/apache2.conf: only the Include of"
    echo "# ports.conf and of sites-enabled/ are left out; the overrides are at the end."
    grep -Ev '^[[:space:]]*Include(Optional)?[[:space:]]+(ports\.conf|sites-enabled/)' "$debian/apache2.conf"
    cat <<CONF

# pollhttp peers: where to listen and what to serve.
Listen 127.0.0.1:$port
DocumentRoot "$dir/html"
<Directory "$dir/html">
	Options Indexes FollowSymLinks
	AllowOverride None
	Require all granted
</Directory>
${EXTRA_CONF:-}
CONF
} >"$dir/apache2.conf"
for setting in 'KeepAlive On' 'MaxKeepAliveRequests 100' 'KeepAliveTimeout 5'; do
    grep -qx "$setting" "$dir/apache2.conf" ||
        echo "apache.sh: note: Debian's apache2.conf no longer says '$setting'" >&2
done

if ! "$apache2" -d "$debian" -f "$dir/apache2.conf" -k start >"$dir/logs/start.log" 2>&1; then
    echo "apache.sh: apache2 failed to start on 127.0.0.1:$port:" >&2
    cat "$dir/logs/start.log" >&2
    exit 1
fi
for _ in $(seq 1 100); do
    if curl -s -f -o /dev/null --max-time 1 "http://127.0.0.1:$port/index.html"; then exit 0; fi
    sleep 0.1
done
echo "apache.sh: apache2 on 127.0.0.1:$port did not answer within 10 s; logs:" >&2
cat "$dir/logs/start.log" >&2 2>/dev/null || true
tail -n 20 "$dir/logs/error.log" >&2 2>/dev/null || true
stop "$dir"
exit 1
