import DiskPattern
import Foundation
import Glibc
import HuskTestSupport
import XCTest

@testable import VMHost

final class DomainDescriptionTests: XCTestCase {
    func testTheXMLHasWhatVFIOInAGuestNeeds() {
        var d = DomainDescription(
            name: "husk-t<1>", accel: .tcg, kernel: "/k/vmlinuz", initrd: "/k/initrd.cpio",
            cmdline: "console=ttyS0 intel_iommu=on husk.scenario=virtio-blk")
        d.disks = [.init(path: "/tmp/a&b.img", target: "vda")]
        d.hostPCI = ["0000:03:00.1"]
        let x = d.xml
        XCTAssertTrue(x.hasPrefix("<domain type='qemu'>"))
        XCTAssertTrue(x.contains("<name>husk-t&lt;1&gt;</name>"), "names are escaped")
        XCTAssertTrue(x.contains("machine='q35'"))
        XCTAssertTrue(x.contains("<iommu model='intel'>"))
        XCTAssertTrue(x.contains("<ioapic driver='qemu'/>"))
        XCTAssertTrue(x.contains("iommu='on'"), "every disk under test has ACCESS_PLATFORM")
        XCTAssertTrue(x.contains("<source file='/tmp/a&amp;b.img'/>"))
        XCTAssertTrue(x.contains("<kernel>/k/vmlinuz</kernel>"))
        XCTAssertTrue(x.contains("<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>"))
        XCTAssertTrue(x.contains("<on_poweroff>destroy</on_poweroff>"))
        XCTAssertFalse(x.contains("host-passthrough"))
        d.accel = .kvm
        XCTAssertTrue(d.xml.hasPrefix("<domain type='kvm'>"))
        XCTAssertFalse(x.contains("<interface"), "no NIC unless asked for")
    }

    func testTwoNICsAreCrossedOverLoopback() {
        var d = DomainDescription(name: "husk-n", accel: .tcg, kernel: "/k", initrd: "/i", cmdline: "")
        d.nics = DomainDescription.NIC.crossedPair(macs: ("52:54:00:12:34:0a", "52:54:00:12:34:0b"), ports: (40001, 40002))
        XCTAssertEqual(d.nics[0].wiring, .udp(localPort: 40001, remotePort: 40002))
        XCTAssertEqual(d.nics[1].wiring, .udp(localPort: 40002, remotePort: 40001))
        let x = d.xml
        let interfaces = x.components(separatedBy: "<interface ").dropFirst().map { $0.components(separatedBy: "</interface>")[0] }
        XCTAssertEqual(interfaces.count, 2)
        // NIC A sends to B's local port and B to A's: one cable, in order.
        XCTAssertTrue(interfaces[0].contains("<mac address='52:54:00:12:34:0a'/>"))
        XCTAssertTrue(interfaces[0].contains("<source address='127.0.0.1' port='40002'>"), interfaces[0])
        XCTAssertTrue(interfaces[0].contains("<local address='127.0.0.1' port='40001'/>"), interfaces[0])
        XCTAssertTrue(interfaces[1].contains("<mac address='52:54:00:12:34:0b'/>"))
        XCTAssertTrue(interfaces[1].contains("<source address='127.0.0.1' port='40001'>"), interfaces[1])
        XCTAssertTrue(interfaces[1].contains("<local address='127.0.0.1' port='40002'/>"), interfaces[1])
        for i in interfaces {
            XCTAssertTrue(i.hasPrefix("type='udp'>"), i)
            XCTAssertTrue(i.contains("<model type='virtio-non-transitional'/>"), "modern virtio only (1af4:1041)")
            XCTAssertTrue(i.contains("<driver iommu='on'/>"), "DMA through the vIOMMU, as VFIO in the guest needs")
            XCTAssertTrue(i.contains("<rom enabled='no'/>"))
            // Every IP address is the loopback (the <mac address=...> aside).
            let ips = i.components(separatedBy: "address='").dropFirst().map { String($0.prefix { $0 != "'" }) }.filter {
                !$0.contains(":")
            }
            XCTAssertEqual(ips, ["127.0.0.1", "127.0.0.1"], "no frame may leave the machine's loopback")
        }
        XCTAssertLessThan(x.range(of: "<interface")!.lowerBound, x.range(of: "<serial")!.lowerBound)
    }
}

final class LoopbackPortTests: XCTestCase {
    func testPortsAreDistinctAndFreeAgain() throws {
        let ports = try LoopbackPorts.freeUDP(count: 2)
        XCTAssertEqual(ports.count, 2)
        XCTAssertNotEqual(ports[0], ports[1])
        XCTAssertFalse(ports.contains(0))
        for p in ports { XCTAssertEqual(LoopbackPorts.socketsBound(to: p), 0, "released for QEMU to bind") }
        // A socket bound to one of them is seen, as QEMU's would be.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        a.sin_port = ports[0].bigEndian
        let bound = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))
        XCTAssertEqual(LoopbackPorts.socketsBound(to: ports[0]), 1)
    }

    func testTheTableIsReadByLocalAddress() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
             4252: 0100007F:B807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 736795 2 0000 0
             4253: 0100007F:B807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 736796 2 0000 0
             4254: 00000000:B807 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 736797 2 0000 0
             4255: 0100007F:0050 0100007F:B807 01 00000000:00000000 00:00000000 00000000     0        0 736798 2 0000 0
            """
        XCTAssertEqual(LoopbackPorts.count(port: 47111, inTable: table), 2, "two sockets on 127.0.0.1:47111 (B807)")
        XCTAssertEqual(LoopbackPorts.count(port: 80, inTable: table), 1)
        XCTAssertEqual(LoopbackPorts.count(port: 1, inTable: table), 0)
    }

    func testAnAddressInUseIsRecognised() {
        struct E: Error, CustomStringConvertible {
            let description =
                "internal error: qemu unexpectedly closed the monitor: can't bind ip=127.0.0.1 to socket: Address already in use"
        }
        XCTAssertTrue(LoopbackPorts.isPortInUse(E()))
    }
}

final class ConsoleProtocolTests: XCTestCase {
    func testCheckAndDoneLines() {
        XCTAssertEqual(
            GuestCheck.parse("HUSK-CHECK blk-flush PASS 5.19 ms"), GuestCheck(name: "blk-flush", passed: true, detail: "5.19 ms"))
        XCTAssertEqual(GuestCheck.parse("[  3.1] HUSK-CHECK x FAIL"), GuestCheck(name: "x", passed: false, detail: ""))
        XCTAssertNil(GuestCheck.parse("HUSK-CHECK x MAYBE"))
        XCTAssertNil(GuestCheck.parse("HUSK-LOG server: HUSK-CHECKING"))
        XCTAssertEqual(parseDone("HUSK-DONE 15"), 15)
        XCTAssertNil(parseDone("HUSK-DONE"))
        XCTAssertNil(parseDone("nothing"))
    }

    func testMetalBenchRatiosPairMetalAndKernelLines() {
        XCTAssertEqual(
            MetalBench.lines(["[info] metal_disk: BENCH vm.seq_read_1m.tcg.metal 50.5 MiB/s", "[info] metal_disk: PASS bench"]),
            ["BENCH vm.seq_read_1m.tcg.metal 50.5 MiB/s"])
        let bench = [
            "BENCH vm.seq_read_1m.tcg.husk 129 MiB/s", "BENCH vm.seq_read_1m.tcg.kernel 400 MiB/s",
            "BENCH vm.rand_read_4k_qd1.tcg.kernel 1600 iops", "BENCH vm.rand_read_4k_qd32.tcg.kernel 4437 iops",
            "BENCH vm.seq_read_1m.tcg.metal 100 MiB/s", "BENCH vm.rand_read_4k_qd1.tcg.metal 400 iops",
            "BENCH vm.rand_read_4k_qd1.kvm.metal 400 iops"
        ]
        XCTAssertEqual(
            MetalBench.ratios(bench: bench),
            ["BENCH vm.seq_read_1m.tcg.metal_vs_kernel 0.25 x", "BENCH vm.rand_read_4k_qd1.tcg.metal_vs_kernel 0.25 x"])
        XCTAssertEqual(MetalBench.ratios(bench: Array(bench.prefix(4))), [], "no metal figures: no ratios")
    }

    func testScenariosAreKnownByName() {
        XCTAssertEqual(
            Scenario.all.map(\.name),
            [
                "virtio-blk", "virtio-blk-uio", "virtio-blk-bench", "virtio-net", "virtio-net-uio", "virtio-net-tcp",
                "virtio-net-wiring", "metal-conformance", "metal-virtio-blk", "metal-virtio-blk-bench"
            ])
        XCTAssertTrue(Scenario.named("virtio-blk-uio")!.kernelArguments.contains("iommu=pt"))
        XCTAssertTrue(Scenario.named("virtio-net-uio")!.kernelArguments.contains("iommu=pt"))
        for s in Scenario.all where s.name.hasPrefix("virtio-net") {
            XCTAssertTrue(s.nicPair)
            XCTAssertEqual(s.diskBytes, 0, "no disk: nothing to flush or compare")
            XCTAssertFalse(s.expectsFlush || s.verifiesSecondPattern)
        }
        XCTAssertEqual(
            Scenario.named("virtio-net-tcp")!.expectedChecks.suffix(4),
            ["tcp-husk-to-kernel", "tcp-kernel-to-husk", "tcp-refused", "server-stop"])
        XCTAssertNil(Scenario.named("nope"))
    }
}

final class DiskPatternTests: XCTestCase {
    func testFillVerifyAndFindTheFirstBadWord() throws {
        let image = TempImage(bytes: 0)
        let path = image.path
        defer { withExtendedLifetime(image) {} }
        try writePatternFile(path: path, bytes: 3 << 20, nonce: 0x1234)
        XCTAssertTrue(verifyPatternFile(path: path, bytes: 3 << 20, nonce: 0x1234, second: false, direct: false).matches)
        let other = verifyPatternFile(path: path, bytes: 3 << 20, nonce: 0x1234, second: true, direct: false)
        XCTAssertEqual(other.firstBad, 0, "the other pattern differs at once")
        XCTAssertTrue(other.detail.contains("still pattern 1"), other.detail)
        // Corrupt one word in the second MiB.
        let f = open(path, O_WRONLY)
        var junk: UInt64 = 0
        pwrite(f, &junk, 8, (1 << 20) + 4096)
        close(f)
        let one = verifyPatternFile(path: path, bytes: 3 << 20, nonce: 0x1234, second: false, direct: false)
        XCTAssertEqual(one.firstBad, (1 << 20) + 4096)
        XCTAssertEqual(one.bad, 1)
        XCTAssertEqual(verifyPatternFile(path: path + ".missing", bytes: 8, nonce: 1, second: false, direct: false).bad, -1)
    }
}

final class LibvirtConnectionTests: XCTestCase {
    func testABadURIIsAClearError() {
        XCTAssertThrowsError(try VirConnection(uri: "qemu:///nonsense")) { e in
            XCTAssertTrue("\(e)".contains("cannot connect to qemu:///nonsense"), "\(e)")
        }
    }
}

/// Who owns a VM or a run's files, and whether that can be proven gone:
/// two runs on one libvirt host must never remove each other's VMs.
final class RunOwnerTests: XCTestCase {
    func testTheOwnerTagRoundTripsThroughTheDomainXML() throws {
        let me = RunOwner.current
        XCTAssertEqual(me.pid, getpid())
        XCTAssertGreaterThan(me.start, 0)
        XCTAssertFalse(me.boot.isEmpty)
        XCTAssertEqual(me.liveness, .alive)
        let d = DomainDescription(name: "husk-t", accel: .tcg, kernel: "/k", initrd: "/i", cmdline: "")
        XCTAssertTrue(d.xml.contains("<metadata>"), d.xml)
        XCTAssertTrue(d.xml.contains(RunOwner.namespace))
        XCTAssertEqual(RunOwner(xmlElement: me.xmlElement), me)
        // libvirt hands the element back with its own quoting.
        let relabelled =
            "<husk:owner xmlns:husk=\"\(RunOwner.namespace)\" pid=\"\(me.pid)\" start=\"\(me.start)\" "
            + "boot=\"\(me.boot)\" host=\"\(me.host)\"/>"
        XCTAssertEqual(RunOwner(xmlElement: relabelled), me)
        XCTAssertNil(RunOwner(xmlElement: "<other pid='1'/>"))
    }

    func testAnExitedProcessIsGoneAndAnotherMachineIsUnknown() throws {
        let sleeper = try ChildProcess("/bin/sleep", ["30"])
        let child = sleeper.pid
        guard let start = RunOwner.startTime(of: child) else { return XCTFail("no /proc/\(child)/stat") }
        let owner = RunOwner(host: RunOwner.current.host, boot: RunOwner.current.boot, pid: child, start: start)
        XCTAssertEqual(owner.liveness, .alive)
        var reused = owner
        reused.start += 1
        XCTAssertEqual(reused.liveness, .gone, "same pid, other start time: a reused pid")
        sleeper.kill9()
        XCTAssertEqual(owner.liveness, .gone)
        var elsewhere = owner
        elsewhere.host += "-other"
        XCTAssertEqual(elsewhere.liveness, .unknown, "another machine's process cannot be judged")
        var rebooted = RunOwner.current
        rebooted.boot = "00000000-0000-0000-0000-000000000000"
        XCTAssertEqual(rebooted.liveness, .gone, "a process from before a reboot is gone")
    }

    func testOnlyTheFilesOfRunsThatAreGoneAreRemoved() throws {
        let dir = "/tmp/husk-runowner-\(getpid())"
        mkdir(dir, 0o755)
        defer { _ = try? FileManager.default.removeItem(atPath: dir) }
        let sleeper = try ChildProcess("/bin/sleep", ["30"])
        let child = sleeper.pid
        let start = RunOwner.startTime(of: child) ?? 0
        sleeper.kill9()
        let dead = dir + "/run-\(child)-\(start)"
        let live = dir + "/" + RunOwner.current.directoryName
        for d in [dead, live] {
            mkdir(d, 0o755)
            for f in ["husk-x.img", "husk-x.log"] { _ = FileManager.default.createFile(atPath: d + "/" + f, contents: Data([1])) }
        }
        let removed = Reaper.removeAbandonedRunFiles(workDir: dir, logs: false)
        XCTAssertEqual(removed, [dead + "/husk-x.img"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dead + "/husk-x.log"), "a failed run's log stays")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live + "/husk-x.img"), "a live run keeps its disk")
        XCTAssertEqual(Reaper.removeAbandonedRunFiles(workDir: dir, logs: true), [dead + "/husk-x.log"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead), "the empty run directory goes too")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live + "/husk-x.log"))
    }
}

final class ConformanceTAPTests: XCTestCase {
    let passing = [
        "husk metal: booting",
        "[info] conformance: # husk conformance: backend metal",
        "[info] conformance: ok 1 - version: abi_major/abi_minor/size/backend\r",
        "[info] conformance: ok 2 - mutex: contention 8 threads x 20000",
        "[info] conformance: ok 3 - blk: open # SKIP no HUSK_FEAT_BLK on backend metal",
        "[info] conformance: 1..3",
        "[info] conformance: conformance: 2 passed, 0 failed, 1 skipped",
        "HUSK-DONE 3"
    ]

    func testAPassingRunGivesOneCheckPerArea() {
        let tap = ConformanceTAP(lines: passing)
        XCTAssertEqual(tap.tests.map(\.number), [1, 2, 3])
        XCTAssertEqual(tap.plan, 3)
        XCTAssertEqual(tap.areaChecks.map(\.name), ["cf-version", "cf-mutex", "cf-blk"])
        XCTAssertTrue(tap.areaChecks.allSatisfy(\.passed), "\(tap.areaChecks)")
        XCTAssertEqual(tap.failures(done: 3, expectedChecks: ["cf-version", "cf-mutex"]), [])
    }

    func testFailuresSkipsLostLinesAndPanicsAreCaught() {
        var lines = passing
        lines[3] = "[info] conformance: not ok 2 - mutex: contention: counter 7, expected 8 (conformance_sync.c:190)"
        let tap = ConformanceTAP(lines: lines)
        XCTAssertFalse(tap.areaChecks[1].passed)
        XCTAssertTrue(tap.areaChecks[1].detail.contains("counter 7"), tap.areaChecks[1].detail)
        let f = tap.failures(done: 3, expectedChecks: ["cf-version", "cf-cv"])
        XCTAssertTrue(f.contains { $0.hasPrefix("conformance: not ok 2 - mutex") }, "\(f)")
        XCTAssertTrue(f.contains { $0.contains("area cv") }, "an expected area that never ran fails: \(f)")
        // An area that ran nothing and may not be skipped whole fails.
        let skipped = ConformanceTAP(lines: ["conformance: ok 1 - time: sleep # SKIP no clock"])
        XCTAssertFalse(skipped.areaChecks[0].passed)
        // An expected area must run something even where it may be skipped whole.
        XCTAssertTrue(ConformanceTAP(lines: passing).areaChecks[2].passed, "blk may be skipped")
        XCTAssertTrue(
            ConformanceTAP(lines: passing).failures(done: 3, expectedChecks: ["cf-blk"]).contains { $0.contains("area blk") })
        // A lost line, a missing plan, a panic.
        XCTAssertFalse(ConformanceTAP(lines: passing).failures(done: 4, expectedChecks: []).isEmpty)
        let unfinished = ConformanceTAP(lines: Array(passing[0..<4]) + ["panic: conformance: conformance test 3 hung"])
        let uf = unfinished.failures(done: nil, expectedChecks: [])
        XCTAssertTrue(uf.contains { $0.contains("no plan line") }, "\(uf)")
        XCTAssertTrue(uf.contains { $0.contains("panic: conformance") }, "\(uf)")
        XCTAssertTrue(uf.contains("no HUSK-DONE line"), "\(uf)")
    }

    func testTheMetalVirtioBlkScenarioReadsMetalDiskLines() {
        let s = Scenario.named("metal-virtio-blk")!
        XCTAssertTrue(s.metal && s.metalGlue && s.diskBytes > 0)
        XCTAssertTrue(s.kernelArguments.contains("metal.components=virtio_blk,metal_disk"))
        XCTAssertTrue(s.kernelArguments.contains("virtio_blk.poll=1"))
        let checks = MetalDiskPattern.checks([
            "[info] metal_disk: PASS open disk", "[error] metal_disk: FAIL write (I/O error)", "[info] metal_disk: PASS: 0 failure(s)"
        ])
        XCTAssertEqual(
            checks,
            [
                GuestCheck(name: "open disk", passed: true, detail: ""),
                GuestCheck(name: "write", passed: false, detail: "write (I/O error)")
            ])
        var image = [UInt8](repeating: 0, count: 1 << 20)
        XCTAssertNotNil(MetalDiskPattern.mismatch(in: image))
        for i in 0..<MetalDiskPattern.length { image[MetalDiskPattern.offset + i] = MetalDiskPattern.byte(i) }
        XCTAssertNil(MetalDiskPattern.mismatch(in: image))
    }

    func testTheMetalScenarioBootsTheMetalImageWithEdu() {
        let s = Scenario.named("metal-conformance")!
        XCTAssertTrue(s.metal)
        var d = DomainDescription(name: "husk-m", accel: .tcg, kernel: "/m.elf", initrd: "", cmdline: s.kernelArguments)
        d.qemuDevices = s.qemuDevices
        let x = d.xml
        XCTAssertFalse(x.contains("<initrd>"), "the metal image boots alone")
        XCTAssertTrue(x.hasPrefix("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"))
        XCTAssertTrue(x.contains("<qemu:arg value='-device'/>\n    <qemu:arg value='edu,bus=pcie.0,addr=0x10'/>"), x)
    }
}
