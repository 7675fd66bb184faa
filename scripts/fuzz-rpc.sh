#!/usr/bin/env bash
# Fuzz the RPC message decoder and the server's dispatch path with libFuzzer
# (docs/fuzzing.md).
#
#   scripts/fuzz-rpc.sh [seconds]     default 60
#
# Builds Fuzz/rpc (the libFuzzer entry) and the RPC modules with
# -sanitize=fuzzer,address in .build-fuzz, then fuzzes for the given time,
# starting from the committed corpus (Fuzz/corpus/rpc), the regressions
# (Fuzz/regressions) and what earlier runs found (.build-fuzz/corpus, where
# new inputs are written). Exits non-zero on
# any crash, sanitizer report, broken invariant, timeout or out-of-memory;
# the reproducer is .build-fuzz/artifacts/crash-* (or timeout-*, oom-*, leak-*).
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in ''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scratch="$root/.build-fuzz"

# A crash must end the run at once, not wait for the backtracer.
export SWIFT_BACKTRACE=enable=no

# HUSK_FUZZ=1 makes Package.swift declare the rpc-fuzz executable target.
# --sanitize fuzzer tells SwiftPM that libFuzzer supplies main(); the explicit
# -sanitize=fuzzer,address is needed because swiftc keeps only the last of
# several -sanitize= flags (so --sanitize fuzzer --sanitize address would
# drop the coverage instrumentation of every Swift module).
echo "fuzz-rpc: building (release, -sanitize=fuzzer,address) in $scratch"
HUSK_FUZZ=1 swift build -c release --scratch-path "$scratch" --product rpc-fuzz \
    --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
bin="$(HUSK_FUZZ=1 swift build -c release --scratch-path "$scratch" --show-bin-path)/rpc-fuzz"

mkdir -p "$scratch/corpus" "$scratch/artifacts"
log="$scratch/fuzz-rpc.log"
echo "fuzz-rpc: fuzzing for $seconds s (log: $log)"
set +e
"$bin" -max_total_time="$seconds" -max_len=262144 -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" \
    "$scratch/corpus" "$root/Fuzz/corpus/rpc" "$root/Fuzz/regressions" >"$log" 2>&1
status=$?
set -e

execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | tail -2 || true
echo "fuzz-rpc: executions: ${execs:-unknown}"
if [ "$status" -ne 0 ]; then
    grep -E 'ERROR: |SUMMARY: |Fatal error|invariant broken|Test unit written|artifact_prefix' "$log" | head -20 >&2 || true
    echo "fuzz-rpc: FAILED (libFuzzer exit $status); reproduce with: $bin <artifact>; keep it under Fuzz/regressions/" >&2
    exit 1
fi
echo "fuzz-rpc: no crash"
