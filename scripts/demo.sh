#!/usr/bin/env bash
# The README's main command: set up, build, and run the embedded default:
# the block server serving a scratch image with the file component (posix
# backend, no hardware), written and read through the RPC (husk blk demo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product husk 2>&1 | tail -n 1
exec .build/release/husk blk demo "$@"
