#!/usr/bin/env bash
# The layout conventions, checked: .swift-format for Swift (the toolchain's
# swift-format), .clang-format for our C (Debian's clang-format, installed
# here when missing). Generated stubs and vendored code are left out.
#   scripts/lint.sh          report what differs (exit 1 if anything does)
#   scripts/lint.sh --fix    rewrite the files in place
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

fix=0
case "${1:-}" in
    --fix) fix=1 ;;
    "") ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

if ! command -v clang-format >/dev/null 2>&1; then
    echo "lint: installing clang-format"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-format >/dev/null
fi

mapfile -t swift_files < <(git ls-files --cached --others --exclude-standard '*.swift' | grep -v '/Generated/')
mapfile -t c_files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' | grep -v -e '/generated/' -e '^ThirdPartyC/')

if [ "$fix" -eq 1 ]; then
    swift format format -i --parallel "${swift_files[@]}"
    clang-format -i "${c_files[@]}"
    echo "lint: formatted ${#swift_files[@]} Swift and ${#c_files[@]} C files"
    exit 0
fi

status=0
report=$(mktemp -d)
trap 'rm -rf "$report"' EXIT
if ! swift format lint --strict --parallel "${swift_files[@]}" 2>"$report/swift"; then status=1; fi
if [ -s "$report/swift" ]; then head -n 40 "$report/swift"; status=1; fi
if ! clang-format --dry-run --Werror "${c_files[@]}" 2>"$report/c"; then status=1; fi
if [ -s "$report/c" ]; then head -n 40 "$report/c"; status=1; fi
if [ "$status" -eq 0 ]; then
    echo "lint: ${#swift_files[@]} Swift and ${#c_files[@]} C files follow .swift-format and .clang-format"
else
    echo "lint: layout differs from .swift-format/.clang-format; scripts/lint.sh --fix rewrites it"
fi
exit "$status"
