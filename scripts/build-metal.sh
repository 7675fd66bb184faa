#!/usr/bin/env bash
# Build the metal host (Sources/Metal) with the unchanged conformance
# component linked in: an x86_64 ELF that QEMU's -kernel and libvirt's
# <kernel> boot through its PVH note (docs/porting.md).
#
#   scripts/build-metal.sh [-o OUT] [--glue [--components a,b,...]]
#                                       default .build/metal/husk-metal.elf
#
# --glue: the second image. Instead of the conformance component alone it
# links the port library (scripts/build-port-library.sh: the glue as
# Embedded Swift and the components, built fresh into the object
# directory; --components is passed on) and the metal test component
# Sources/Metal/disktest. The kernel runs only the components named by
# metal.components=a,b,... on the command line (default out:
# .build/metal/husk-metal-glue.elf).
#
# Kernel files: C11 freestanding, -mno-red-zone, -mcmodel=small (the image
# lives at 1 MiB, identity-mapped). Component files: the flags every
# component is compiled with (Package.swift's componentCFlags). clang and
# ld.lld from the Swift toolchain; nothing is downloaded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=""
glue=0
port_components=()
while [ $# -gt 0 ]; do
    case "$1" in
        -o) [ $# -ge 2 ] || { echo "build-metal: -o needs a file" >&2; exit 2; }; out="$2"; shift 2 ;;
        --glue) glue=1; shift ;;
        --components) [ $# -ge 2 ] || { echo "build-metal: --components needs a list" >&2; exit 2; }
            port_components=(--components "$2"); shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-metal: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$out" ]; then
    out="$root/.build/metal/husk-metal.elf"
    [ "$glue" = 1 ] && out="$root/.build/metal/husk-metal-glue.elf"
fi
[ "$glue" = 1 ] || [ ${#port_components[@]} -eq 0 ] || { echo "build-metal: --components needs --glue" >&2; exit 2; }
export PATH="/opt/swift/usr/bin:$PATH"
cc=clang
command -v "$cc" >/dev/null || { echo "build-metal: clang not found (the Swift toolchain brings it)" >&2; exit 1; }
command -v ld.lld >/dev/null || { echo "build-metal: ld.lld not found (the Swift toolchain brings it)" >&2; exit 1; }

target=(--target=x86_64-unknown-none-elf -mno-red-zone -mcmodel=small -fno-pic -fno-pie
        -fno-stack-protector -fno-asynchronous-unwind-tables -O2 -g0
        -ffile-prefix-map="$root/"=)  # __FILE__ in the image: the same bytes from any checkout
component_flags=(-std=c11 -ffreestanding -nostdlibinc -fno-builtin -Wall -Wextra -Werror -Wno-unused-parameter)
kernel_flags=("${component_flags[@]}" -I "$root/Sources/Metal")
include=(-I "$root/Sources/Hypercalls/ABI/include")

mkdir -p "$(dirname "$out")"
objdir="$(mktemp -d "$out.obj.XXXXXX")"
# METAL_KEEP_OBJ=1 keeps the objects (next to OUT) for a look at the link.
[ -n "${METAL_KEEP_OBJ:-}" ] || trap 'rm -rf "$objdir"' EXIT
mkdir -p "$objdir/metal" "$objdir/conformance"
objects=()
for s in "$root"/Sources/Metal/*.S; do
    o="$objdir/metal/$(basename "$s").o"
    "$cc" "${target[@]}" -c "$s" -o "$o"
    objects+=("$o")
done
for s in "$root"/Sources/Metal/*.c; do
    o="$objdir/metal/$(basename "$s").o"
    extra=()
    # The interrupt path saves only the general registers (vectors.S).
    [ "$(basename "$s")" = intr.c ] && extra=(-mgeneral-regs-only)
    "$cc" "${target[@]}" "${kernel_flags[@]}" "${extra[@]}" "${include[@]}" -c "$s" -o "$o"
    objects+=("$o")
done
if [ "$glue" = 1 ]; then
    "$root/scripts/build-port-library.sh" -o "$objdir/port" "${port_components[@]}" >"$objdir/port.log" 2>&1 \
        || { cat "$objdir/port.log" >&2; echo "build-metal: the port library did not build" >&2; exit 1; }
    objects+=("$objdir/port/husk-port.o")
    for s in "$root"/Sources/Metal/disktest/*.c; do
        o="$objdir/metal/disktest-$(basename "$s" .c).o"
        "$cc" "${target[@]}" "${component_flags[@]}" "${include[@]}" -I "$root/Sources/Glue/API/include" \
            -c "$s" -o "$o"
        objects+=("$o")
    done
else
    for s in "$root"/Sources/Components/conformance/*.c; do
        o="$objdir/conformance/$(basename "$s" .c).o"
        "$cc" "${target[@]}" "${component_flags[@]}" "${include[@]}" \
            -I "$root/Sources/Components/conformance/include" -c "$s" -o "$o"
        objects+=("$o")
    done
fi
ld.lld -nostdlib -static --no-dynamic-linker -z max-page-size=4096 --build-id=none \
    -T "$root/Sources/Metal/kernel.ld" -o "$out" "${objects[@]}"
echo "built $out ($(($(stat -c %s "$out") / 1024)) KiB)"
