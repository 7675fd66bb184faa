#!/usr/bin/env bash
# Build the metal host (Sources/Metal) with the unchanged conformance
# component linked in: an x86_64 ELF that QEMU's -kernel and libvirt's
# <kernel> boot through its PVH note (docs/porting.md).
#
#   scripts/build-metal.sh [-o OUT]      default .build/metal/husk-metal.elf
#
# Kernel files: C11 freestanding, -mno-red-zone, -mcmodel=small (the image
# lives at 1 MiB, identity-mapped). Component files: the flags every
# component is compiled with (Package.swift's componentCFlags). clang and
# ld.lld from the Swift toolchain; nothing is downloaded.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/.build/metal/husk-metal.elf"
case "${1:-}" in
    -o) out="$2" ;;
    "") ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-metal: unknown option $1" >&2; exit 2 ;;
esac
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
trap 'rm -rf "$objdir"' EXIT
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
for s in "$root"/Sources/Components/conformance/*.c; do
    o="$objdir/conformance/$(basename "$s" .c).o"
    "$cc" "${target[@]}" "${component_flags[@]}" "${include[@]}" \
        -I "$root/Sources/Components/conformance/include" -c "$s" -o "$o"
    objects+=("$o")
done
ld.lld -nostdlib -static --no-dynamic-linker -z max-page-size=4096 --build-id=none \
    -T "$root/Sources/Metal/kernel.ld" -o "$out" "${objects[@]}"
echo "built $out ($(($(stat -c %s "$out") / 1024)) KiB)"
