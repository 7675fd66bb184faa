#!/usr/bin/env bash
# Build a shared Husk component that `husk run --component-file X.so` loads.
#
#   scripts/build-component.sh [-o OUT.so] [-I DIR]... [-DNAME[=VALUE]]... FILE.c [FILE.c...]
#
# It compiles each FILE.c exactly as the built-in components are compiled
# (C11, freestanding, no libc headers, warnings as errors; Package.swift's
# componentCFlags), with -DHUSK_COMPONENT_SHARED so that HUSK_COMPONENT also
# exports husk_component_entry, and -fvisibility=hidden so that the
# component's own symbols never bind to copies inside husk. It links with
# -shared -nostdlib: glue symbols stay undefined and resolve against the husk
# executable when it loads the object. Default output: the first file's
# name with .so. docs/components.md explains the model.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '4p' "$0" | sed 's/^# *//' >&2; exit 2; }
out="" cflags=() sources=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
        -I|-D) [ $# -ge 2 ] || usage; cflags+=("$1$2"); shift 2 ;;
        -I*|-D*) cflags+=("$1"); shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "build-component: unknown option $1" >&2; usage ;;
        *.c) sources+=("$1"); shift ;;
        *) echo "build-component: $1 is not a .c file" >&2; usage ;;
    esac
done
[ ${#sources[@]} -gt 0 ] || { echo "build-component: no source file given" >&2; usage; }
for s in "${sources[@]}"; do [ -f "$s" ] || { echo "build-component: $s: no such file" >&2; exit 2; }; done
[ -n "$out" ] || out="${sources[0]%.c}.so"

# clang: gcc rejects -nostdlibinc. Swift's toolchain brings one.
cc=""
for c in /opt/swift/usr/bin/clang clang; do
    if command -v "$c" >/dev/null 2>&1; then cc="$c"; break; fi
done
[ -n "$cc" ] || { echo "build-component: clang not found (install the Swift toolchain or clang)" >&2; exit 1; }

flags=(-std=c11 -ffreestanding -nostdlibinc -fno-builtin -Wall -Wextra -Werror -Wno-unused-parameter
       -fPIC -fvisibility=hidden -DHUSK_COMPONENT_SHARED
       -I "$root/Sources/Hypercalls/ABI/include" -I "$root/Sources/Glue/API/include")
objdir="$(mktemp -d)"
trap 'rm -rf "$objdir"' EXIT
objects=()
for s in "${sources[@]}"; do
    o="$objdir/$(basename "${s%.c}").o"
    "$cc" "${flags[@]}" "${cflags[@]}" -c "$s" -o "$o"
    objects+=("$o")
done
"$cc" -shared -nostdlib -o "$out" "${objects[@]}"
echo "built $out"
