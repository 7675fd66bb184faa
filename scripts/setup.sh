#!/usr/bin/env bash
# Idempotent machine setup for Husk: installs the Debian packages the build
# and the tests need, only when they are missing. Safe to run every time.
set -euo pipefail

# Debian packages: binutils (nm/ld for the symbol checks), e2fsprogs,
# libseccomp-dev (the servers' seccomp filter), qemu-utils (qemu-io and
# qemu-img: the NBD oracles), fio (the QD32 baseline of `husk bench blk`),
# python3 (a protocol client written from docs/protocol.md, Tests/ProtocolClient),
# tcpdump (reads the pcap files of `husk nic dump`), iproute2 (network
# namespaces and TAP interfaces for the NIC tests), iputils-ping and iperf
# (iperf 2: the kernel's ping and TCP against the lwip component, whose
# lwiperf app speaks iperf 2), curl and socat (the kernel's HTTP client and
# a TCP/UDP relay against the net server, docs/net.md), libfuse3-dev and
# fuse3 (the FUSE frontend `husk fs mount` links libfuse3; fusermount3),
# fuse2fs (the baseline of `husk bench fs`),
# e2fsprogs also gives the file-system tests mkfs.ext4, debugfs and e2fsck.
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in binutils e2fsprogs libseccomp-dev qemu-utils fio python3 tcpdump iproute2 iputils-ping iperf curl socat libfuse3-dev fuse3 fuse2fs; do
    have_pkg "$pkg" || need+=("$pkg")
done

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "setup: swift is at /opt/swift/usr/bin but not on PATH; add it: export PATH=/opt/swift/usr/bin:\$PATH" >&2
    else
        echo "setup: Swift 6 toolchain not found (expected /opt/swift); install it first" >&2
    fi
    exit 1
fi

if [ "${#need[@]}" -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
else
    echo "setup: Debian packages present"
fi
