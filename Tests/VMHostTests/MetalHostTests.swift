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

    override class func tearDown() {
        if let image { try? FileManager.default.removeItem(atPath: (image as NSString).deletingLastPathComponent) }
        image = nil
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

    func boot(_ image: String, append: String, edu: Bool = true) throws -> [String] {
        guard let qemu = Self.qemu else { throw XCTSkip("qemu-system-x86_64 is not installed") }
        var args = [
            "-machine", "q35", "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-monitor", "none", "-nic", "none",
            "-serial", "stdio", "-kernel", image, "-append", append
        ]
        if edu { args += ["-device", "edu"] }
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
}
