#!/usr/bin/env bash
# Build the glue and every component, freestanding, into one static library
# for a port of Husk to another system (docs/porting.md).
#
#   scripts/build-port-library.sh [-o DIR] [--target TRIPLE] [--components a,b,...]
#
# The glue's Swift is compiled as Embedded Swift (whole module, no Swift
# runtime, no libc), its C part and the components' C with the flags
# Package.swift gives components, all for TRIPLE (default
# x86_64-unknown-none-elf). DIR (default .build-port/TRIPLE) receives
# libhusk-port.a (the glue, the components, the component libraries, the
# vendored code, and Swift's Unicode data tables that String comparison
# needs), husk-port.o (the same, linked into one relocatable object) and
# undefined.txt: the symbols a port must provide, checked against the list
# in docs/porting.md before the script says "ok". Components register
# themselves in the husk_components link set, as in the hosted build.
# --components builds only the named ones (default: all of
# Sources/Components). Nothing here depends on the hosted build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="x86_64-unknown-none-elf"
out=""
only=""
usage() { sed -n '5p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        -o) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
        --target) [ $# -ge 2 ] || usage; target="$2"; shift 2 ;;
        --components) [ $# -ge 2 ] || usage; only="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-port-library: unknown argument $1" >&2; usage ;;
    esac
done
[ -n "$out" ] || out="$root/.build-port/$target"
swift_bin="/opt/swift/usr/bin"
for tool in swiftc clang; do
    [ -x "$swift_bin/$tool" ] || { echo "build-port-library: $swift_bin/$tool not found (the Swift toolchain)" >&2; exit 1; }
done
tables="$swift_bin/../lib/swift/embedded/$target/libswiftUnicodeDataTables.a"
[ -f "$tables" ] || { echo "build-port-library: no Embedded Swift runtime pieces for $target ($tables)" >&2; exit 1; }

for n in ${only//,/ }; do
    grep -qs 'HUSK_COMPONENT(' "$root/Sources/Components/$n"/*.c \
        || { echo "build-port-library: no component '$n' under Sources/Components" >&2; exit 2; }
done
rm -rf "$out" && mkdir -p "$out/obj" "$out/modules"
abi="$root/Sources/Hypercalls/ABI/include"
glue_inc="$root/Sources/Glue/API/include"
csubset="$root/Sources/Glue/API/csubset"
# The two C modules the glue's Swift imports, as SwiftPM declares them.
cat >"$out/modules/module.modulemap" <<EOF
module HypercallABI { umbrella "$abi" export * }
module GlueAPI { umbrella "$glue_inc" export * }
EOF
# Component flags (Package.swift componentCFlags) for the target.
cflags=(--target="$target" -std=c11 -ffreestanding -nostdlibinc -fno-builtin -fno-stack-protector
    -Wall -Wextra -Werror -Wno-unused-parameter -O2 -I "$abi" -I "$glue_inc")
cc() { "$swift_bin/clang" "${cflags[@]}" "$@"; }
step() { printf 'build-port-library: %s\n' "$*"; }

step "glue (Embedded Swift, $target)"
"$swift_bin/swiftc" -target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library -Osize \
    -Xfrontend -disable-stack-protector -module-name Glue -module-cache-path "$out/modules/cache" \
    -Xcc -fmodule-map-file="$out/modules/module.modulemap" -Xcc -I"$abi" -Xcc -I"$glue_inc" \
    -c "$root"/Sources/Glue/Logic/*.swift -o "$out/obj/glue-swift.o"
# The glue's C (formatting, the C subset, its thread slots): the clang
# builtin headers (stdarg.h, limits.h) only, never a libc's.
for f in "$root"/Sources/Glue/API/*.c; do
    "$swift_bin/clang" --target="$target" -std=gnu11 -ffreestanding -fno-builtin -fno-stack-protector -O2 \
        -Wall -Wextra -Werror -Wno-unused-parameter -I "$abi" -I "$glue_inc" \
        -c "$f" -o "$out/obj/glue-$(basename "$f" .c).o"
done

# Component libraries: folders without a HUSK_COMPONENT definition.
is_component() { grep -qs 'HUSK_COMPONENT(' "$1"/*.c; }
lib_includes=()
for d in "$root"/Sources/Components/*/; do
    d="${d%/}"
    is_component "$d" || lib_includes+=(-I "$d/include")
done
wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
# field KEY FILE: the first word after "KEY:" in a PROVENANCE file.
field() { sed -n "s/^$1:[[:space:]]*\([^[:space:]]*\).*/\1/p" "$2" | head -n1; }

built=()
for d in "$root"/Sources/Components/*/; do
    d="${d%/}"; name="$(basename "$d")"
    if ! is_component "$d"; then
        step "library $name"
        for f in "$d"/*.c; do cc -fvisibility=hidden "${lib_includes[@]}" -I "$d" -c "$f" -o "$out/obj/lib-$name-$(basename "$f" .c).o"; done
        continue
    fi
    wanted "$name" || continue
    extra=()
    upstream_sources=()
    for prov in "$root"/ThirdPartyC/*/PROVENANCE; do
        [ -f "$prov" ] && [ "$(field Component "$prov")" = "$name" ] || continue
        base="$(dirname "$prov")"
        extra=(-fvisibility=hidden -I "$csubset" -I "$base/$(field Include "$prov")")
        # What upstream's build would generate lives in the port's generated/.
        [ -d "$d/generated" ] && extra+=(-I "$d/generated")
        # A Generator is a build-time program, not library code.
        generator="$(field Generator "$prov")"
        while IFS= read -r f; do
            [ -n "$generator" ] && [ "$f" = "$base/$generator" ] && continue
            upstream_sources+=("$f")
        done < <(find "$base/$(field Compiled "$prov")" -name '*.c' | sort)
    done
    step "component $name${upstream_sources:+ (with ${#upstream_sources[@]} vendored files)}"
    for f in "$d"/*.c "${upstream_sources[@]}"; do
        tag="$(realpath --relative-to="$root" "$f" | tr '/' '_')"
        cc "${extra[@]}" "${lib_includes[@]}" -I "$d/include" -I "$d" -c "$f" -o "$out/obj/$name-${tag%.c}.o"
    done
    built+=("$name")
done

step "archive"
mkdir -p "$out/tables" && (cd "$out/tables" && ar x "$tables")
rm -f "$out/libhusk-port.a"
ar rcs "$out/libhusk-port.a" "$out"/obj/*.o "$out"/tables/*.o
ld.lld -r -o "$out/husk-port.o" "$out"/obj/*.o "$out"/tables/*.o 2>/dev/null \
    || "$swift_bin/ld.lld" -r -o "$out/husk-port.o" "$out"/obj/*.o "$out"/tables/*.o
nm -u "$out/husk-port.o" | awk '{print $NF}' | sort -u >"$out/undefined.txt"

# What a port provides: the list in docs/porting.md (lines "    name" after
# "The port provides:").
allowed="$(awk '/^The port provides:/{on=1; next} on && /^    [a-z_]/{print $1; next} on && NF && !/^    /{exit}' "$root/docs/porting.md" | sort -u)"
extra_symbols="$(comm -23 "$out/undefined.txt" <(printf '%s\n' "$allowed"))"
if [ -n "$extra_symbols" ]; then
    echo "build-port-library: the library needs symbols docs/porting.md does not list:" >&2
    printf '  %s\n' $extra_symbols >&2
    exit 1
fi
step "ok: $out/libhusk-port.a ($(du -k "$out/libhusk-port.a" | cut -f1) KiB), components: ${built[*]}; needs: $(tr '\n' ' ' <"$out/undefined.txt")"
