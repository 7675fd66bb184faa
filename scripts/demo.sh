#!/usr/bin/env bash
# The README's main command: set up, build, and run the embedded default
# (the blkcopy component on the posix backend against file-backed images).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product husk 2>&1 | tail -n 1
exec .build/release/husk demo "$@"
