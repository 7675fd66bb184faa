#!/usr/bin/env bash
# The README's test command: set up, build, run the whole test suite
# (unit tests on the sim backend, the C conformance suite on posix and sim,
# component symbol checks, end-to-end runs of the husk binary).
# Prints the duration of each phase.
set -euo pipefail
cd "$(dirname "$0")/.."

phase_start=$(date +%s)
phase() {
    local now; now=$(date +%s)
    echo "== phase '$1' took $((now - phase_start)) s"
    phase_start=$now
}

scripts/setup.sh
# libvirt-dev (husk-vm links libvirt) and a running libvirtd for the VM scenarios.
scripts/setup-vm.sh
phase setup

# Layout conventions (.swift-format, .clang-format): a few seconds.
scripts/lint.sh || status_lint=1
phase lint

swift build --build-tests 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking|Applying)' || true
# grep's status hides swift's: check the build for real.
swift build --build-tests >/dev/null
# The metal host (docs/porting.md): a freestanding kernel with the
# conformance component, a few seconds with clang and ld.lld.
scripts/build-metal.sh
phase build

export SWIFT_BACKTRACE=enable=no
# A hung test must fail the run, not hold CI until its own limit.
# PIPESTATUS must be read right after the pipeline: `... || true` would
# replace it with true's status and hide failing tests.
set +e
timeout --kill-after=30 1800 swift test --skip-build 2>&1 | tee .build/test-output.txt | grep -Ev '^(Test Case .* (started|passed))'
status=${PIPESTATUS[0]}
set -e
phase test

# The RPC suites again with every client on the shared-memory call rings
# (docs/protocol.md §11): the Swift and C clients ask for them when
# HUSK_RPC_RING=1, so the same tests check that policy, credentials,
# cancellation, signals, events and the limits behave as on the socket.
# HUSK_BLK_QUEUE=0: block devices do not set up their block queue here, so
# the block suites (BlockServer*) run on blk.read/write/flush calls, while the
# test phase above ran them over the queue (docs/block.md; BlockQueueTests
# ask for the queue explicitly either way).
set +e
HUSK_RPC_RING=1 HUSK_BLK_QUEUE=0 timeout --kill-after=30 900 swift test --skip-build \
    --filter 'RPCTests|RPCSignalTests|RPCGenTests|NICServerTests|NetServerTests' >.build/ring-test-output.txt 2>&1
ring_tests=$?
# The NBD suites over a stacked block server: the fixture's disk is a
# RemoteDisk of a `husk blk serve` child, reached through its block queue
# (HUSK_NBD_STACKED=1, Tests/NBDTests/Fixture.swift); the test phase ran
# them over the in-process disk.
HUSK_NBD_STACKED=1 timeout --kill-after=30 600 swift test --skip-build \
    --filter 'NBDTests' >.build/ring-nbd-test-output.txt 2>&1
ring_nbd_tests=$?
set -e
grep -E '(error:|failed|Executed [0-9]+ tests)' .build/ring-test-output.txt | tail -n 8
grep -E '(error:|failed|Executed [0-9]+ tests)' .build/ring-nbd-test-output.txt | tail -n 4
[ "$ring_tests" -eq 0 ] || { echo "ring: the RPC suites failed over the call rings"; status=1; }
[ "$ring_nbd_tests" -eq 0 ] || { echo "ring: the NBD suites failed over a stacked block server"; status=1; }
phase ring

# What users run: the release husk (the README's main command builds it).
# The component-model tests (dlopen, ABI refusals, panics, leak report, the
# exported glue symbols) run again against it, and the example component is
# built with the documented command and loaded into it.
swift build -c release --product husk 2>&1 | tail -n 1
release="$PWD/.build/release/husk"
scripts/demo.sh >.build/demo-output.txt 2>&1 || { echo "release: scripts/demo.sh failed:"; tail -n 20 .build/demo-output.txt; status=1; }
tail -n 1 .build/demo-output.txt
set +e
HUSK_BIN="$release" timeout --kill-after=30 600 swift test --skip-build --filter 'IntegrationTests' \
    >.build/release-test-output.txt 2>&1
release_tests=$?
set -e
grep -E '(error:|failed|Executed [0-9]+ tests)' .build/release-test-output.txt | tail -n 8
[ "$release_tests" -eq 0 ] || { echo "release: the integration tests failed against $release"; status=1; }
example_so=.build/hello-example.so
scripts/build-component.sh examples/component/hello.c -o "$example_so"
# Output to a file first: `grep -q` on a pipe would end the pipeline early
# (SIGPIPE) and pipefail would call that a failure.
"$release" run --component-file "$example_so" --param hello.ticks=3 >.build/example-output.txt 2>&1 || true
if grep -q "3 ticks in" .build/example-output.txt && grep -q "hello finished: OK" .build/example-output.txt; then
    echo "release: the example component builds and runs in the release husk"
else
    echo "release: the example component failed:"; cat .build/example-output.txt; status=1
fi
phase release

# The static executable (what the VM guests run): it must build, run the
# embedded default, and refuse dynamic components with a clear message.
scripts/build-static.sh
static=.build-static/release/husk
if readelf -l "$static" | grep -c INTERP >/dev/null; then echo "static: $static has a dynamic loader"; status=1; fi
"$static" demo --size-mib 1 >/dev/null 2>&1 || { echo "static: husk demo failed"; status=1; }
refusal=$("$static" run --component-file /nonexistent.so 2>&1 || true)
if grep -q "static executable" <<<"$refusal"; then
    echo "static: ok (statically linked, demo passes, dlopen refused)"
else
    echo "static: --component-file was not refused as expected"; status=1
fi
phase static

# Hardware tests in libvirt VMs (docs/vm.md): the virtio_blk driver through
# VFIO and through uio in a q35 guest with an Intel vIOMMU, checked by the
# guest kernel's own virtio_blk and by the host; the virtio_net driver the
# same ways on one of two NICs joined over 127.0.0.1, the guest kernel's
# virtio_net on the other answering; and the lwIP stack (husk net serve)
# over that driver serving TCP to the guest kernel (virtio-net-tcp).
# setup-vm.sh has installed QEMU and started libvirtd; a machine where that
# is impossible fails here.
# Two runs at once on one libvirt host: neither may remove the other's VM,
# and their NICs must not share loopback ports. Eight TCG VMs on two cores
# (see docs/vm.md for the timings); the first run also boots the metal host
# twice, without Linux: the conformance suite (6 to 18 s of a VM's time), and
# the glue with the unchanged virtio_blk writing the VM's disk (a few s).
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    .build/debug/husk vm test virtio-blk virtio-blk-uio virtio-net metal-conformance metal-virtio-blk --timeout 600 >.build/vm-run-1.txt 2>&1 &
    first=$!
    .build/debug/husk vm test virtio-blk virtio-net-uio virtio-net-tcp --timeout 600 >.build/vm-run-2.txt 2>&1 || { echo "vm: the second run failed"; status=1; }
    wait "$first" || { echo "vm: the first run failed"; status=1; }
    for f in .build/vm-run-1.txt .build/vm-run-2.txt; do echo "-- $f"; grep -vE '^husk vm: (image|(virtio-(blk|net)|metal)[a-z-]*: guest):' "$f" | tail -n 80; done
else
    echo "vm: skipped: qemu-system-x86_64 is not installed and could not be (no QEMU support on this machine)"
fi
phase vm

# A short libFuzzer run over the RPC decoder and dispatch path (docs/fuzzing.md).
scripts/fuzz-rpc.sh 30 || status=1
phase fuzz
if [ "${status_lint:-0}" -ne 0 ]; then echo "lint: failed (scripts/lint.sh)"; status=1; fi
exit "$status"
