#!/usr/bin/env bash
# Idempotent setup for the VM scenarios (husk vm, docs/vm.md): installs
# QEMU, libvirt and busybox-static when missing, prepares libvirt to run
# without systemd (the libvirt-qemu user and group, qemu.conf, directories)
# and starts virtlogd and libvirtd unless they already run. Safe to run
# every time; prints what it does.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients \
           libvirt-dev pkg-config busybox-static; do
    have_pkg "$pkg" || need+=("$pkg")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ "${#need[@]}" -gt 0 ]; then
    echo "setup-vm: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # --no-install-recommends keeps out dnsmasq, firewalls and the like: the
    # scenarios use no libvirt network.
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "setup-vm: Debian packages present"
fi

# libvirt's qemu driver wants its user and group even when configured to
# run QEMU as root.
getent group libvirt-qemu >/dev/null || $SUDO groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || $SUDO useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu

# QEMU as root without a security driver: there is no AppArmor/SELinux here
# and the guests read kernels and disks from the build tree.
conf=/etc/libvirt/qemu.conf
want='# husk: run QEMU as root, no security driver (scripts/setup-vm.sh)
user = "root"
group = "root"
security_driver = "none"'
if ! grep -q '^# husk: run QEMU as root' "$conf" 2>/dev/null; then
    echo "setup-vm: configuring $conf"
    printf '%s\n' "$want" | $SUDO tee -a "$conf" >/dev/null
    restart=1
fi
$SUDO mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/qemu /var/cache/libvirt

running() { pgrep -x "$1" >/dev/null 2>&1; }
if ! running virtlogd; then
    echo "setup-vm: starting virtlogd"
    $SUDO virtlogd -d
fi
if running libvirtd && [ "${restart:-0}" = 1 ]; then
    echo "setup-vm: restarting libvirtd (qemu.conf changed)"
    $SUDO pkill -x libvirtd || true
    for _ in $(seq 50); do running libvirtd || break; sleep 0.1; done
fi
if ! running libvirtd; then
    echo "setup-vm: starting libvirtd"
    $SUDO libvirtd -d
fi
# Wait for the daemon's socket.
for _ in $(seq 100); do
    [ -S /var/run/libvirt/libvirt-sock ] && break
    sleep 0.1
done
[ -S /var/run/libvirt/libvirt-sock ] || { echo "setup-vm: libvirtd did not create /var/run/libvirt/libvirt-sock; see /var/log/libvirt/libvirtd.log" >&2; exit 1; }
echo "setup-vm: libvirtd running"
