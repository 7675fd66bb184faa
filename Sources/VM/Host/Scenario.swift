/// A VM scenario: what the guest runs (named on the kernel command line,
/// carried out by the guest image's /init and `husk vm guest`), the checks
/// its console must show, and what the host verifies afterwards.
public struct Scenario: Sendable {
    public let name: String
    public let summary: String
    /// Kernel arguments besides the console and the husk.* parameters.
    public let kernelArguments: String
    /// The virtio disk vda, filled with pattern 1 before boot; 0: no disk.
    public let diskBytes: UInt64
    /// Check names the guest must report as PASS (more may come).
    public let expectedChecks: [String]
    /// libvirt's block statistics of vda must count at least one flush.
    public let expectsFlush: Bool
    /// After power-off the image must hold pattern 2 (written by the guest).
    public let verifiesSecondPattern: Bool
    /// Two virtio NICs joined to each other on the host's loopback
    /// (DomainDescription.NIC.crossedPair), for a driver on one and the
    /// guest kernel on the other.
    public var nicPair = false
    /// Boots the metal host (Sources/Metal, scripts/build-metal.sh) instead of
    /// the Linux guest: no initramfs, and the checks are the areas of the
    /// conformance suite's TAP lines on the console (ConformanceTAP).
    public var metal = false
    /// With `metal`: boots the second metal image, the port library linked
    /// in (scripts/build-metal.sh --glue), whose metal_disk component
    /// writes MetalDiskPattern to the disk; the checks are its PASS lines.
    public var metalGlue = false
    /// QEMU devices libvirt's XML has no element for (`-device ARG`).
    public var qemuDevices: [String] = []

    public static let all: [Scenario] = [
        Scenario(
            name: "virtio-blk",
            summary: "the virtio_blk driver on the vfio backend serves the disk through the block server; kernel virtio_blk cross-check",
            kernelArguments: "intel_iommu=on", diskBytes: 32 << 20,
            expectedChecks: [
                "device-present", "modules-vfio", "bind-vfio-pci", "vfio-group", "server-start", "blk-open",
                "blk-size", "blk-read-pattern1", "blk-write-pattern2", "blk-flush", "blk-reread-pattern2",
                "server-stop", "modules-virtio", "kernel-disk", "kernel-read-pattern2"
            ],
            expectsFlush: true, verifiesSecondPattern: true),
        Scenario(
            name: "virtio-blk-uio",
            summary: "the same through the uio backend (uio_pci_generic, hugepage DMA pool)",
            kernelArguments: "intel_iommu=on iommu=pt", diskBytes: 32 << 20,
            expectedChecks: [
                "device-present", "modules-uio", "bind-uio", "hugepages", "uio-node", "server-start", "blk-open",
                "blk-size", "blk-read-pattern1", "blk-write-pattern2", "blk-flush", "blk-reread-pattern2",
                "server-stop", "modules-virtio", "kernel-disk", "kernel-read-pattern2"
            ],
            expectsFlush: true, verifiesSecondPattern: true),
        Scenario(
            name: "virtio-blk-bench",
            summary: "the project's driver vs the guest kernel's virtio_blk (O_DIRECT), BENCH lines",
            kernelArguments: "intel_iommu=on", diskBytes: 64 << 20,
            expectedChecks: [], expectsFlush: false, verifiesSecondPattern: false),
        Scenario(
            name: "virtio-net",
            summary: "the virtio_net driver on the vfio backend through the NIC server; the guest kernel's virtio_net is the peer",
            kernelArguments: "intel_iommu=on", diskBytes: 0,
            expectedChecks: [
                "device-present", "modules-vfio", "bind-vfio-pci", "vfio-group", "modules-virtio-net", "kernel-nic",
                "server-start", "probe-arp", "probe-icmp", "kernel-counters", "server-counters", "kernel-neighbour", "server-stop"
            ],
            expectsFlush: false, verifiesSecondPattern: false, nicPair: true),
        Scenario(
            name: "virtio-net-uio",
            summary: "the same through the uio backend (uio_pci_generic, hugepage DMA pool)",
            kernelArguments: "intel_iommu=on iommu=pt", diskBytes: 0,
            expectedChecks: [
                "device-present", "modules-uio", "bind-uio", "hugepages", "uio-node", "modules-virtio-net", "kernel-nic",
                "server-start", "probe-arp", "probe-icmp", "kernel-counters", "server-counters", "kernel-neighbour", "server-stop"
            ],
            expectsFlush: false, verifiesSecondPattern: false, nicPair: true),
        Scenario(
            name: "virtio-net-tcp",
            summary:
                "husk net serve (lwIP) over the virtio_net driver on the vfio backend serves TCP to the guest kernel: "
                + "wget and nc move 1 MiB each way, refused connects",
            kernelArguments: "intel_iommu=on", diskBytes: 0,
            expectedChecks: [
                "device-present", "modules-vfio", "bind-vfio-pci", "vfio-group", "modules-virtio-net", "kernel-nic",
                "server-start", "tcp-husk-to-kernel", "tcp-kernel-to-husk", "tcp-refused", "server-stop"
            ],
            expectsFlush: false, verifiesSecondPattern: false, nicPair: true),
        Scenario(
            name: "virtio-net-wiring",
            summary: "both NICs on the guest kernel's virtio_net: arping across the loopback wiring (no husk driver)",
            kernelArguments: "intel_iommu=on", diskBytes: 0,
            expectedChecks: ["device-present", "modules-virtio-net", "kernel-nics", "wiring-a-to-b", "wiring-b-to-a"],
            expectsFlush: false, verifiesSecondPattern: false, nicPair: true),
        Scenario(
            name: "metal-conformance",
            summary: "the metal host (no Linux) runs the conformance suite with QEMU's edu; every area without host files passes",
            kernelArguments: "conformance.probe=hello", diskBytes: 0,
            expectedChecks: [
                "version", "ctx_current", "random", "log", "config_get", "time", "memory", "threads", "mutex", "rwlock",
                "cv", "cancel", "errors", "dma", "pci", "irq"
            ].map { "cf-" + $0 },
            expectsFlush: false, verifiesSecondPattern: false, metal: true,
            qemuDevices: ["edu,bus=pcie.0,addr=0x10"]),
        Scenario(
            name: "metal-virtio-blk",
            summary:
                "the metal host with the port library: the unchanged virtio_blk (polling) serves vda through the glue; "
                + "metal_disk writes, flushes and reads back a pattern the host then finds in the image",
            kernelArguments: "metal.components=virtio_blk,metal_disk virtio_blk.poll=1", diskBytes: 4 << 20,
            expectedChecks: ["open disk", "pattern fits the disk", "write", "flush", "read back", "read back equals the pattern"],
            // No libvirt flush statistics: the metal guest flushes and powers
            // off within milliseconds, between two polls of the statistics
            // (flush_operations=0 in the first run); metal_disk's PASS flush
            // is the check.
            expectsFlush: false, verifiesSecondPattern: false, metal: true, metalGlue: true),
        Scenario(
            name: "metal-virtio-blk-bench",
            summary:
                "metal-virtio-blk on virtio-blk-bench's 64 MiB disk, then metal_disk.bench=1: sequential 1 MiB and random "
                + "4 KiB QD1 reads through glue_disk_transfer, BENCH lines vm.<case>.<accel>.metal; run beside "
                + "virtio-blk-bench, the host prints metal_vs_kernel ratios",
            kernelArguments: "metal.components=virtio_blk,metal_disk virtio_blk.poll=1 metal_disk.bench=1", diskBytes: 64 << 20,
            expectedChecks: [
                "open disk", "pattern fits the disk", "write", "flush", "read back", "read back equals the pattern", "bench"
            ],
            expectsFlush: false, verifiesSecondPattern: false, metal: true, metalGlue: true)
    ]

    public static func named(_ n: String) -> Scenario? { all.first { $0.name == n } }
}

/// The metal bench's figures against the Linux guest kernel's, when one
/// `husk vm test` ran both metal-virtio-blk-bench and virtio-blk-bench.
public enum MetalBench {
    /// metal_disk's `[info] metal_disk: BENCH vm.…` log lines as BENCH lines.
    static func lines(_ console: [String]) -> [String] {
        console.compactMap { line in line.firstRange(of: "metal_disk: BENCH ").map { "BENCH " + line[$0.upperBound...] } }
    }

    /// `BENCH vm.CASE.ACCEL.metal_vs_kernel R x` for every metal line whose
    /// case, accelerator and unit a kernel line has.
    public static func ratios(bench: [String]) -> [String] {
        typealias Figure = (name: String, value: Double, unit: String)
        func parse(_ l: String, side: String) -> Figure? {
            let p = l.split(separator: " ").map(String.init)
            guard p.count == 4, p[0] == "BENCH", p[1].hasSuffix("." + side), let v = Double(p[2]) else { return nil }
            return (String(p[1].dropLast(side.count + 1)), v, p[3])
        }
        let kernel = bench.compactMap { parse($0, side: "kernel") }
        return bench.compactMap { parse($0, side: "metal") }.compactMap { m in
            guard let k = kernel.first(where: { $0.name == m.name && $0.unit == m.unit }), k.value > 0 else { return nil }
            let r = (m.value / k.value * 100).rounded() / 100
            return "BENCH \(m.name).metal_vs_kernel \(r) x"
        }
    }
}

/// One line the guest printed: `HUSK-CHECK <name> PASS|FAIL <detail>`.
public struct GuestCheck: Sendable, Equatable {
    public let name: String
    public let passed: Bool
    public let detail: String

    static func parse(_ line: String) -> GuestCheck? {
        guard let r = line.firstRange(of: "HUSK-CHECK ") else { return nil }
        let parts = line[r.upperBound...].split(separator: " ", maxSplits: 2).map(String.init)
        guard parts.count >= 2, parts[1] == "PASS" || parts[1] == "FAIL" else { return nil }
        return GuestCheck(name: parts[0], passed: parts[1] == "PASS", detail: parts.count > 2 ? parts[2] : "")
    }
}

/// `HUSK-DONE <n>` from a console line, if it is one.
func parseDone(_ line: String) -> Int? {
    guard let r = line.firstRange(of: "HUSK-DONE ") else { return nil }
    return Int(line[r.upperBound...].prefix { $0.isNumber })
}

/// What Sources/Metal/disktest (metal_disk) writes with its default
/// parameters: `length` bytes at `offset`, byte i = i*13 + (i>>9)*101 + 0x5a.
public enum MetalDiskPattern {
    public static let offset = 65536
    public static let length = 32768
    public static func byte(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 13 &+ (i >> 9) &* 101 &+ 0x5a) }

    /// Does the image hold the pattern? nil when it does, else why not.
    public static func mismatch(in bytes: [UInt8]) -> String? {
        guard bytes.count >= offset + length else { return "the image has \(bytes.count) bytes" }
        for i in 0..<length where bytes[offset + i] != byte(i) {
            return "byte \(offset + i) is \(bytes[offset + i]), metal_disk wrote \(byte(i))"
        }
        return nil
    }

    /// The metal_disk log lines as checks: `[info] metal_disk: PASS <step>`.
    static func checks(_ lines: [String]) -> [GuestCheck] {
        lines.compactMap { line in
            for (tag, passed) in [("metal_disk: PASS ", true), ("metal_disk: FAIL ", false)] {
                if let r = line.firstRange(of: tag) {
                    let step = trimmed(line[r.upperBound...])
                    if step.hasSuffix("failure(s)") { return nil }  // the summary line
                    if passed { return GuestCheck(name: step, passed: true, detail: "") }
                    let name = trimmed(step.split(separator: "(", maxSplits: 1).first ?? Substring(step))
                    return GuestCheck(name: name, passed: false, detail: step)
                }
            }
            return nil
        }
    }

    private static func trimmed(_ s: Substring) -> String {
        String(s.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
