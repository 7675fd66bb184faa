#!/usr/bin/env bash
# Build husk as a fully static executable (what runs inside a bare VM
# initramfs): static Swift stdlib, static glibc, built-in components only.
# Scratch path: $1, else $HUSK_STATIC_SCRATCH, else .build-static.
# Output: <scratch>/release/husk
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${1:-${HUSK_STATIC_SCRATCH:-.build-static}}"
swift build -c release --static-swift-stdlib -Xswiftc -static-executable -Xswiftc -DHUSK_STATIC \
    --scratch-path "$SCRATCH" --product husk 2>&1 | grep -v "requires at runtime the shared libraries" | tail -n 3
test -x "$SCRATCH/release/husk"
