#!/usr/bin/env bash
# Build the LD_PRELOAD library that routes an unmodified program's TCP and
# UDP sockets to a Husk net server (Sources/Servers/NetPreload, docs/net.md):
#
#   scripts/build-net-preload.sh [-o OUT.so]        (default .build/husk-net-preload.so)
#   HUSK_NET_SOCKET=/tmp/net.sock LD_PRELOAD=$PWD/.build/husk-net-preload.so curl http://10.77.0.1:8000/
#
# One shared object from the interposers, the BSD-socket C library
# (Sources/Servers/NetClientC) and the C RPC client runtime with its
# generated stubs (Sources/RPC/ClientC): the package's host C flags,
# warnings as errors, -fvisibility=hidden so that only the interposed libc
# names are exported. CC picks the compiler (default: the toolchain's clang,
# else cc).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build/husk-net-preload.so"
case "${1:-}" in
    -o) [ $# -ge 2 ] || { echo "usage: $0 [-o OUT.so]" >&2; exit 2; }; out="$2" ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    "") ;;
    *) echo "usage: $0 [-o OUT.so]" >&2; exit 2 ;;
esac
cc="${CC:-}"
if [ -z "$cc" ]; then
    if [ -x /opt/swift/usr/bin/clang ]; then cc=/opt/swift/usr/bin/clang; else cc=cc; fi
fi
src="$root/Sources"
mkdir -p "$(dirname "$out")"
"$cc" -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -fPIC -shared -fvisibility=hidden \
    -I "$src/RPC/ClientC/include" -I "$src/RPC/ClientC/generated" -I "$src/Servers/NetClientC/include" \
    "$src"/RPC/ClientC/*.c "$src"/RPC/ClientC/generated/*.c "$src"/Servers/NetClientC/*.c "$src"/Servers/NetPreload/*.c \
    -o "$out" -ldl -lpthread
echo "$out"
