#!/usr/bin/env bash
# Regenerate the RPC stubs from Interfaces/*.idl (docs/idl.md): Swift into
# Sources/RPC/Interfaces/Generated, C into Sources/RPC/ClientC/generated.
# The generated files are committed; Tests/RPCGenTests fails when they are
# not what the generator makes. `scripts/rpcgen.sh --check` only compares.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${RPCGEN_SCRATCH:-.build-rpcgen}
swift build --scratch-path "$scratch" --product husk-rpcgen >/dev/null
"$scratch"/debug/husk-rpcgen Interfaces/*.idl \
    --swift-out Sources/RPC/Interfaces/Generated \
    --c-out Sources/RPC/ClientC/generated "$@"
