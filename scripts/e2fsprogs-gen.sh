#!/usr/bin/env bash
# Make the files e2fsprogs' own build generates (its configure and Makefiles)
# from the vendored inputs in ThirdPartyC/e2fsprogs, into
# Sources/Components/ext2fs/generated (docs/fs.md, "Vendoring"). The output is
# committed and never edited by hand; Tests/IntegrationTests/VendoredTests
# runs this script into a scratch folder and fails when the committed files
# differ. `scripts/e2fsprogs-gen.sh DIR` writes into DIR instead.
#
#   ext2fs/ext2_types.h  lib/ext2fs/ext2_types.h.in with configure's
#                        substitutions for x86-64 Linux (short 2, int 4,
#                        long 8, long long 8; no <asm/types.h>, and no public
#                        config header: the port's config.h says what exists)
#   ext2_err.et          lib/ext2fs/ext2_err.et.in with @E2FSPROGS_VERSION@
#                        from version.h (util/subst's job upstream)
#   ext2fs/ext2_err.h,   compile_et's two awk passes (lib/et/et_h.awk,
#   ext2_err.c           lib/et/et_c.awk) over ext2_err.et
#   crc32c_table.h       the output of lib/ext2fs/gen_crc32ctable.c, built
#                        with the host's cc
set -euo pipefail
cd "$(dirname "$0")/.."
src=ThirdPartyC/e2fsprogs
out=${1:-Sources/Components/ext2fs/generated}
mkdir -p "$out/ext2fs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C

sed -e 's/@ASM_TYPES_HEADER@//' -e 's/@PUBLIC_CONFIG_HEADER@//' \
    -e 's/@SIZEOF_SHORT@/2/g' -e 's/@SIZEOF_INT@/4/g' \
    -e 's/@SIZEOF_LONG@/8/g' -e 's/@SIZEOF_LONG_LONG@/8/g' \
    "$src/lib/ext2fs/ext2_types.h.in" >"$out/ext2fs/ext2_types.h"

version=$(sed -n 's/^#define E2FSPROGS_VERSION "\(.*\)"$/\1/p' "$src/version.h")
sed -e "s/@E2FSPROGS_VERSION@/$version/g" "$src/lib/ext2fs/ext2_err.et.in" >"$tmp/ext2_err.et"
(cd "$tmp" && awk -f "$OLDPWD/$src/lib/et/et_h.awk" outfile=ext2_err.h outfn=ext2_err.h ext2_err.et &&
    awk -f "$OLDPWD/$src/lib/et/et_c.awk" outfile=ext2_err.c outfn=ext2_err.c ext2_err.et)
cp "$tmp/ext2_err.h" "$out/ext2fs/ext2_err.h"
cp "$tmp/ext2_err.c" "$out/ext2_err.c"

cc -o "$tmp/gen_crc32ctable" -I"$src/lib/ext2fs" "$src/lib/ext2fs/gen_crc32ctable.c"
"$tmp/gen_crc32ctable" >"$out/crc32c_table.h"
