#!/usr/bin/env bash
# CI smoke test: build every fuzz target and run each for 30 seconds (FUZZ_SECONDS) from the
# committed seeds. Exits non-zero if a target crashes (the input is left in
# fuzz/artifacts/<target>/). New corpus entries go to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1 # cargo-fuzz needs nightly flags; stable accepts them with this
secs="${FUZZ_SECONDS:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo fuzz build
for target in $(cargo fuzz list); do
    echo "== fuzz target $target: ${secs}s"
    mkdir -p "$work/$target"
    if ! cargo fuzz run "$target" "$work/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "fuzz target $target failed: see fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "fuzz smoke: all targets ran ${secs}s without a crash"
