import Foundation
import Glibc
import HuskTestSupport
import XCTest

@testable import VMHost

/// The metal host (Sources/Metal, docs/porting.md) without libvirt: built
/// with scripts/build-metal.sh and booted by plain QEMU (TCG), its console
/// judged the way `husk vm test metal-conformance` judges it.
final class MetalHostTests: XCTestCase {
    static let qemu = installedTool("qemu-system-x86_64")

    /// Built once per test process, in a directory of its own.
    nonisolated(unsafe) static var image: String?
    /// The second image: the port library (glue + components) linked in.
    nonisolated(unsafe) static var glueImage: String?

    override class func tearDown() {
        for i in [image, glueImage].compactMap({ $0 }) {
            try? FileManager.default.removeItem(atPath: (i as NSString).deletingLastPathComponent)
        }
        image = nil
        glueImage = nil
        super.tearDown()
    }

    func build() throws -> String {
        if let image = Self.image { return image }
        let out = try temporaryDirectory(prefix: "husk-metal") + "/husk-metal.elf"
        let r = try runTool(Husk.packageRoot.path + "/scripts/build-metal.sh", ["-o", out], timeout: 300)
        guard r.ok else {
            XCTFail("scripts/build-metal.sh: \(r.output)")
            throw XCTSkip("the metal image did not build")
        }
        Self.image = out
        return out
    }

    func buildGlue() throws -> String {
        if let image = Self.glueImage { return image }
        let out = try temporaryDirectory(prefix: "husk-metal-glue") + "/husk-metal-glue.elf"
        let r = try runTool(Husk.packageRoot.path + "/scripts/build-metal.sh", ["--glue", "-o", out], timeout: 600)
        guard r.ok else {
            XCTFail("scripts/build-metal.sh --glue: \(r.output)")
            throw XCTSkip("the metal image with the port library did not build")
        }
        Self.glueImage = out
        return out
    }

    func boot(_ image: String, append: String, edu: Bool = true, extra: [String] = []) throws -> [String] {
        guard let qemu = Self.qemu else { throw XCTSkip("qemu-system-x86_64 is not installed") }
        var args = [
            "-machine", "q35", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-monitor", "none", "-nic", "none",
            "-serial", "stdio", "-kernel", image, "-append", append
        ]
        if edu { args += ["-device", "edu"] }
        args += extra
        let r = try runTool(qemu, args, timeout: 300)
        XCTAssertTrue(r.ok, "qemu: \(r.stderr)")
        // "\r\n" is one Character in Swift: split on newlines, not on "\n".
        return r.stdout.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    }

    func testTheImageHasAPVHEntryNote() throws {
        let image = try build()
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: image)))
        XCTAssertEqual(Array(bytes[0..<4]), [0x7f, 0x45, 0x4c, 0x46], "an ELF file")
        XCTAssertEqual(bytes[4], 2, "64-bit ELF (QEMU's PVH loader takes it; its multiboot loader would not)")
        // The note: namesz 4, descsz 4, type 18 (XEN_ELFNOTE_PHYS32_ENTRY), "Xen\0".
        let note: [UInt8] = [4, 0, 0, 0, 4, 0, 0, 0, 18, 0, 0, 0, 0x58, 0x65, 0x6e, 0]
        let found = (0...(bytes.count - note.count)).contains { i in bytes[i] == 4 && Array(bytes[i..<i + note.count]) == note }
        XCTAssertTrue(found, "no XEN_ELFNOTE_PHYS32_ENTRY note in \(image)")
    }

    func testTheConformanceSuitePassesOnEdu() throws {
        let lines = try boot(try build(), append: "conformance.probe=hello")
        let tap = ConformanceTAP(lines: lines)
        let done = lines.lazy.compactMap(parseDone).first
        let expected = Scenario.named("metal-conformance")!.expectedChecks
        XCTAssertEqual(tap.failures(done: done, expectedChecks: expected), [], lines.suffix(30).joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.contains("1234:11e8") && $0.contains("msi") }, "the boot lists edu with MSI")
    }

    func testEveryPanicCaseEndsTheRunWithAPanicLine() throws {
        let image = try build()
        let cases = [
            "explicit_panic", "unlock_not_owned", "unlock_other_owner", "destroy_locked_mutex", "relock_self",
            "cv_wait_without_mutex", "rw_exit_not_held", "rw_reenter_writer", "destroy_held_rw", "thread_exit_host"
        ]
        for c in cases {
            let lines = try boot(image, append: "conformance.panic_case=\(c)", edu: false)
            XCTAssertTrue(lines.contains { $0.hasPrefix("panic: conformance: ") }, "\(c): \(lines.suffix(5))")
            XCTAssertTrue(lines.contains("HUSK-METAL-EXIT 86"), "\(c): the run ends as a server's panic does")
            XCTAssertFalse(lines.contains { $0.hasPrefix("HUSK-DONE") }, "\(c): the misuse returned")
        }
    }

    /// The image with the port library: the unchanged virtio_blk component
    /// attaches a modern virtio-blk-pci device in polling mode, metal_disk
    /// writes, flushes and reads back a pattern through the glue's disk
    /// registry, and the disk file holds the pattern afterwards.
    func testVirtioBlkThroughTheGlueWritesTheDiskFile() throws {
        let image = try buildGlue()
        let disk = (image as NSString).deletingLastPathComponent + "/disk.img"
        let size = 4 << 20, offset = MetalDiskPattern.offset, length = MetalDiskPattern.length
        XCTAssertTrue(FileManager.default.createFile(atPath: disk, contents: Data(count: size)))
        defer { try? FileManager.default.removeItem(atPath: disk) }
        let lines = try boot(
            image, append: "metal.components=virtio_blk,metal_disk virtio_blk.poll=1", edu: false,
            extra: [
                "-drive", "file=\(disk),format=raw,if=none,id=d0",
                "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"
            ])
        let log = lines.suffix(30).joined(separator: "\n")
        XCTAssertTrue(lines.contains { $0.contains("virtio_blk:") && $0.contains("disk vblk0") && $0.contains("polling") }, log)
        for step in ["open disk", "write", "flush", "read back", "read back equals the pattern"] {
            XCTAssertTrue(lines.contains("[info] metal_disk: PASS \(step)"), "\(step):\n\(log)")
        }
        XCTAssertFalse(lines.contains { $0.contains("metal_disk: FAIL") }, log)
        XCTAssertTrue(lines.contains { $0.hasPrefix("[info] metal: metal_disk finished: run returned 0 ") }, log)
        XCTAssertTrue(lines.contains { $0.hasPrefix("HUSK-DONE") }, log)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: disk)))
        XCTAssertEqual(bytes.count, size)
        let region = Array(bytes[offset..<offset + length])
        XCTAssertEqual(region, (0..<length).map(MetalDiskPattern.byte), "the disk file holds the pattern at \(offset)")
        XCTAssertNil(MetalDiskPattern.mismatch(in: bytes))
        XCTAssertTrue(bytes[0..<offset].allSatisfy { $0 == 0 }, "nothing written before the pattern")
        XCTAssertTrue(bytes[(offset + length)...].allSatisfy { $0 == 0 }, "nothing written after the pattern")
    }

    /// metal_disk.bench=1 (metal-virtio-blk-bench, one second per case here):
    /// after the pattern, one BENCH line per case, named like
    /// virtio-blk-bench's, which the runner takes from the log.
    func testTheBenchModePrintsBenchLines() throws {
        let image = try buildGlue()
        let disk = (image as NSString).deletingLastPathComponent + "/bench.img"
        XCTAssertTrue(FileManager.default.createFile(atPath: disk, contents: Data(count: 4 << 20)))
        defer { try? FileManager.default.removeItem(atPath: disk) }
        let lines = try boot(
            image,
            append: "metal.components=virtio_blk,metal_disk virtio_blk.poll=1 metal_disk.bench=1 metal_disk.seconds=1 metal_disk.accel=tcg",
            edu: false,
            extra: [
                "-drive", "file=\(disk),format=raw,if=none,id=d0",
                "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"
            ])
        let log = lines.suffix(30).joined(separator: "\n")
        XCTAssertTrue(lines.contains("[info] metal_disk: PASS bench"), log)
        let bench = MetalBench.lines(lines)
        XCTAssertEqual(bench.count, 2, log)
        for (line, (name, unit)) in zip(bench, [("seq_read_1m", "MiB/s"), ("rand_read_4k_qd1", "iops")]) {
            let p = line.split(separator: " ")
            XCTAssertEqual(p.count, 4, line)
            guard p.count == 4 else { continue }
            XCTAssertEqual(p[1], "vm.\(name).tcg.metal")
            XCTAssertGreaterThan(Double(p[2]) ?? 0, 0, line)
            XCTAssertEqual(String(p[3]), unit)
        }
    }

    /// The image with the port library runs only what metal.components names.
    func testTheGlueImageRunsOnlyTheNamedComponents() throws {
        let lines = try boot(try buildGlue(), append: "", edu: false)
        XCTAssertTrue(
            lines.contains { $0.contains("name the components to run with metal.components=") }, lines.suffix(10).joined(separator: "\n"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("[info] metal: ") && $0.contains(" finished: ") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("HUSK-DONE") })
    }
}
