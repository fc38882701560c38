#!/usr/bin/env bash
# Installs the real peers the interop and crawl tests talk to:
#   apt:  nginx-light (nginx elsewhere), apache2, lighttpd, curl, wrk, apache2-utils (ab),
#         nghttp2-client (h2load), nodejs (node_server.js), and python3-venv when venv cannot bootstrap pip; no system service is left running (the tests run private
#         instances: nginx.sh, apache.sh, lighttpd.sh)
#   venv: $POLLHTTP_PEERS_VENV (default target/peers-venv) with h11, dugong and httplint from PyPI,
#         plus degu 0.18.0 unpacked from its sdist (its C extension no longer builds on
#         Python >= 3.11; the pure-Python backend is used through PYTHONPATH)
# Idempotent. All progress goes to stderr; stdout is one line to eval:
#   eval "$(tests/peers/setup.sh)"
# which exports POLLHTTP_PEERS_PYTHON, PYTHONPATH and POLLHTTP_PEERS=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${POLLHTTP_PEERS_VENV:-$root/target/peers-venv}
case $venv in /*) ;; *) venv=$root/$venv ;; esac
h11_version=0.16.0
httplint_version=2026.10.4
dugong_version=3.8.2
degu_version=0.18.0

say() { printf 'peers setup: %s\n' "$*" >&2; }

have_nginx() { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }
# apache.sh and lighttpd.sh copy Debian's configuration: the binary alone is not enough.
have_apache() { [ -x /usr/sbin/apache2 ] && [ -f /etc/apache2/apache2.conf ] && [ -f /etc/apache2/envvars ]; }
have_lighttpd() { [ -x /usr/sbin/lighttpd ] && [ -f /etc/lighttpd/lighttpd.conf ]; }
# venv needs ensurepip, which Debian splits into python3-venv.
can_venv() { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }

missing=()
have_nginx || missing+=(nginx)
have_apache || missing+=(apache2)
have_lighttpd || missing+=(lighttpd)
command -v curl >/dev/null || missing+=(curl)
command -v wrk >/dev/null || missing+=(wrk)
command -v ab >/dev/null || missing+=(ab)
command -v h2load >/dev/null || missing+=(h2load)
command -v node >/dev/null || missing+=(nodejs)
can_venv || missing+=(python3-venv)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "apt: installing for ${missing[*]}"
        apt-get update -qq >&2
        pkgs=()
        for m in "${missing[@]}"; do
            case $m in
                # nginx-light is gone from newer releases; plain nginx is the same server.
                nginx) if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi ;;
                apache2) pkgs+=(apache2) ;;
                lighttpd) pkgs+=(lighttpd) ;;
                curl) pkgs+=(curl) ;;
                wrk) pkgs+=(wrk) ;;
                ab) pkgs+=(apache2-utils) ;;
                h2load) pkgs+=(nghttp2-client) ;;
                nodejs) pkgs+=(nodejs) ;;
                python3-venv) pkgs+=(python3 python3-venv) ;;
            esac
        done
        # The packages would start the system nginx, apache2 and lighttpd, all on port 80
        # (the second to start fails, and its package with it). The tests run their own
        # instances, so no service starts during the install: a policy-rc.d that says no,
        # unless the machine has one already (container images do), removed after.
        policy=/usr/sbin/policy-rc.d
        made_policy=
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\n# from pollhttp tests/peers/setup.sh, for the time of an apt-get install\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            made_policy=1
            trap 'rm -f "$policy"' EXIT
        fi
        # dpkg is chatty even with -qq: keep its output for when it fails.
        aptlog=$(mktemp)
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${pkgs[@]}" >"$aptlog" 2>&1; then
            cat "$aptlog" >&2
            say "ERROR: apt-get install ${pkgs[*]} failed"
            exit 1
        fi
        rm -f "$aptlog"
        if [ -n "$made_policy" ]; then
            rm -f "$policy"
            trap - EXIT
        fi
        # Should a service have started all the same (a policy-rc.d of the machine's that
        # allows it), stop it where a service manager is around (harmless where it is not).
        if command -v service >/dev/null; then
            for p in "${pkgs[@]}"; do
                case $p in
                    nginx*) service nginx stop >/dev/null 2>&1 || true ;;
                    apache2) service apache2 stop >/dev/null 2>&1 || true ;;
                    lighttpd) service lighttpd stop >/dev/null 2>&1 || true ;;
                esac
            done
        fi
    else
        say "WARNING: missing ${missing[*]}, and installing needs root and apt-get."
        say "WARNING: as root run: apt-get install nginx-light apache2 lighttpd curl wrk apache2-utils nghttp2-client python3-venv"
        say "WARNING: continuing with what can be installed without them."
    fi
fi

if ! can_venv; then
    say "WARNING: python3 cannot create a venv (no python3-venv?); the interop tests will skip."
    echo ":"
    exit 0
fi

# A venv whose base python went away (an upgrade, another pyenv version) is made anew.
if ! "$venv/bin/python" -c '' 2>/dev/null; then
    say "venv: creating $venv with $(python3 --version 2>&1)"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv --clear "$venv" >&2
fi
py=$venv/bin/python

if ! "$py" -c "import h11, dugong, sys; sys.exit(h11.__version__ != '$h11_version')" 2>/dev/null; then
    say "pip: installing h11==$h11_version dugong==$dugong_version"
    "$py" -m pip install -q --disable-pip-version-check "h11==$h11_version" "dugong==$dugong_version" >&2
fi
# httplint (mnot's linter for HTTP messages) checks the server's responses.
if ! "$py" -c "import httplint" 2>/dev/null; then
    say "pip: installing httplint==$httplint_version"
    "$py" -m pip install -q --disable-pip-version-check "httplint==$httplint_version" >&2
fi

degu_dir=$venv/degu-$degu_version
# degu's pure-Python backend asserts that its write buffer is non-empty before appending, which
# fails on the first write after a flush (any body past its 32 KiB buffer, e.g. a long chunked
# response). The C backend has no such check, and python -O passes; the fix allows an empty buffer.
degu_bad='assert 0 <= self.start < self.stop <= len(self.buf)'
degu_fixed='assert 0 <= self.start <= self.stop <= len(self.buf)'
if ! grep -qF "$degu_fixed" "$degu_dir/degu/_basepy.py" 2>/dev/null; then
    say "pip: fetching the degu $degu_version sdist"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$py" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$tmp" "degu==$degu_version" >&2
    # Unpack beside, then move into place, so an interrupted run is redone next time.
    tar xzf "$tmp/degu-$degu_version.tar.gz" -C "$tmp"
    grep -qF "$degu_bad" "$tmp/degu-$degu_version/degu/_basepy.py" ||
        { say "ERROR: degu's _basepy.py is not as expected; cannot apply the write-buffer fix"; exit 1; }
    sed -i "s/$degu_bad/$degu_fixed/" "$tmp/degu-$degu_version/degu/_basepy.py"
    rm -rf "$degu_dir"
    mv "$tmp/degu-$degu_version" "$degu_dir"
fi
if ! PYTHONPATH=$degu_dir "$py" -c 'import degu.server, degu.client' 2>/dev/null; then
    say "ERROR: degu does not import from $degu_dir"
    exit 1
fi

have_nginx || say "WARNING: nginx is not installed: tests/peers/nginx.sh start will fail."
have_apache || say "WARNING: apache2 is not installed: tests/peers/apache.sh start will fail."
have_lighttpd || say "WARNING: lighttpd is not installed: tests/peers/lighttpd.sh start will fail."
printf 'export POLLHTTP_PEERS_PYTHON=%q PYTHONPATH=%q POLLHTTP_PEERS=1\n' "$py" "$degu_dir"
