#!/usr/bin/env bash
# Build husk as a fully static executable (what runs inside a bare VM
# initramfs): static Swift stdlib, static glibc, built-in components only.
# Output: .build-static/release/husk
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib -Xswiftc -static-executable -Xswiftc -DHUSK_STATIC \
    --scratch-path .build-static --product husk 2>&1 | grep -v "requires at runtime the shared libraries" | tail -n 3
