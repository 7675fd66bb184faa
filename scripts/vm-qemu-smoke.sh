#!/usr/bin/env bash
# The test guest under plain QEMU (TCG, no libvirt): builds the guest image
# (husk vm image), fills a disk image with pattern 1, boots each scenario
# given (default: virtio-blk) and checks the console protocol
# (docs/vm-guest.md) and, after power-off, pattern 2 host-side.
#   scripts/vm-qemu-smoke.sh [virtio-blk] [virtio-blk-uio] [virtio-blk-bench]
# Environment: HUSK_SCRATCH (debug build, default .build), HUSK_STATIC_SCRATCH
# (static build, default .build-static), HUSK_VM_CACHE (default .build-vm),
# HUSK_VM_DISK_MIB (default 64), HUSK_VM_TIMEOUT (seconds, default 900),
# HUSK_VM_KEEP=1 keeps the work directory (console logs, disk image).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${HUSK_SCRATCH:-.build}
export HUSK_STATIC_SCRATCH=${HUSK_STATIC_SCRATCH:-.build-static}
CACHE=${HUSK_VM_CACHE:-.build-vm}
MIB=${HUSK_VM_DISK_MIB:-64}
TIMEOUT=${HUSK_VM_TIMEOUT:-900}
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(virtio-blk)

command -v qemu-system-x86_64 >/dev/null || { echo "vm-qemu-smoke: qemu-system-x86_64 not found (apt-get install qemu-system-x86)" >&2; exit 2; }
swift build --scratch-path "$SCRATCH" --product husk 2>&1 | tail -n 1
HUSK=$SCRATCH/debug/husk
IMAGE=$("$HUSK" vm image --cache "$CACHE")
KERNEL=$(awk '$1 == "kernel" {print $2}' <<<"$IMAGE")
INITRD=$(awk '$1 == "initrd" {print $2}' <<<"$IMAGE")
echo "$IMAGE"

WORK=$(mktemp -d /tmp/husk-vm-smoke.XXXXXX)
[ "${HUSK_VM_KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
BYTES=$((MIB << 20))
failed=0

expected_checks() {
    local common_kernel="server-stop modules-virtio kernel-disk"
    case "$1" in
    virtio-blk) echo "device-present modules-vfio bind-vfio-pci vfio-group server-start blk-open blk-size blk-read-pattern1 blk-write-pattern2 blk-flush blk-reread-pattern2 $common_kernel kernel-read-pattern2" ;;
    virtio-blk-uio) echo "device-present modules-uio bind-uio hugepages uio-node server-start blk-open blk-size blk-read-pattern1 blk-write-pattern2 blk-flush blk-reread-pattern2 $common_kernel kernel-read-pattern2" ;;
    virtio-blk-bench) echo "device-present modules-vfio bind-vfio-pci vfio-group server-start bench-husk $common_kernel bench-kernel" ;;
    *) echo "vm-qemu-smoke: unknown scenario $1" >&2; exit 2 ;;
    esac
}

for scenario in "${SCENARIOS[@]}"; do
    expect=$(expected_checks "$scenario")
    nonce=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
    disk=$WORK/disk-$scenario.img
    log=$WORK/console-$scenario.log
    "$HUSK" vm pattern --file "$disk" --bytes "$BYTES" --nonce "$nonce"
    append="console=ttyS0 panic=-1 no_timer_check intel_iommu=on husk.scenario=$scenario husk.nonce=$nonce husk.bytes=$BYTES husk.accel=tcg"
    [ "$scenario" = virtio-blk-uio ] && append="$append iommu=pt"
    echo "== $scenario: booting (TCG), console in $log"
    t0=$(date +%s.%N)
    set +e
    timeout "$TIMEOUT" qemu-system-x86_64 -machine q35,kernel-irqchip=split -accel tcg -m 512 -smp 2 \
        -device intel-iommu,intremap=on -kernel "$KERNEL" -initrd "$INITRD" -append "$append" \
        -drive file="$disk",if=none,id=d0,format=raw,cache=none \
        -device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
        -nographic -no-reboot </dev/null 2>&1 | tr -d '\r' > "$log"
    rc=${PIPESTATUS[0]}
    set -e
    t1=$(date +%s.%N)
    grep -E '^(HUSK-CHECK|HUSK-DONE|BENCH|HUSK-LOG init: (uptime|finished))' "$log" || true
    ok=1
    [ "$rc" = 0 ] || { echo "FAIL $scenario: qemu exit status $rc (124: timeout after $TIMEOUT s)"; ok=0; }
    for c in $expect; do
        grep -q "^HUSK-CHECK $c PASS" "$log" || { echo "FAIL $scenario: no 'HUSK-CHECK $c PASS'"; ok=0; }
    done
    if grep -q '^HUSK-CHECK [^ ]* FAIL' "$log"; then echo "FAIL $scenario: a check failed"; ok=0; fi
    n=$(grep -c '^HUSK-CHECK ' "$log" || true)
    grep -q "^HUSK-DONE $n\$" "$log" || { echo "FAIL $scenario: no 'HUSK-DONE $n'"; ok=0; }
    if [ "$scenario" != virtio-blk-bench ]; then
        "$HUSK" vm pattern --file "$disk" --bytes "$BYTES" --nonce "$nonce" --verify-second || ok=0
    fi
    echo "== $scenario: $( [ $ok = 1 ] && echo PASS || echo FAIL ) in $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s"
    if [ $ok = 0 ]; then
        failed=1
        echo "-- last console lines:"; tail -n 40 "$log"
    fi
done
rm -f "$WORK"/disk-*.img
exit $failed
