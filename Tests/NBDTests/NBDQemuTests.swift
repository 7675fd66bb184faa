import Foundation
import HuskTestSupport
import PlatformC
import XCTest

/// The frontend against independent NBD clients: qemu-img and qemu-io
/// (scripts/setup.sh installs qemu-utils), over the real blkfile component.
final class NBDQemuTests: XCTestCase {
    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        guard Tool.available("qemu-io"), Tool.available("qemu-img") else {
            throw XCTSkip("qemu-utils not installed (run scripts/setup.sh)")
        }
    }

    func testQemuImgInfoShowsTheVirtualSize() throws {
        let f = try NBDFixture(self, sizeBytes: 8 << 20)
        let byOpts = try Tool.run(
            "qemu-img",
            [
                "info", "--image-opts",
                "driver=nbd,server.type=unix,server.path=\(f.socket),export=disk0"
            ])
        XCTAssertTrue(byOpts.ok, byOpts.output)
        XCTAssertTrue(byOpts.output.contains("(8388608 bytes)"), byOpts.output)
        let byURI = try Tool.run("qemu-img", ["info", "-f", "raw", f.uri()])
        XCTAssertTrue(byURI.ok, byURI.output)
        XCTAssertTrue(byURI.output.contains("(8388608 bytes)"), byURI.output)
    }

    func testQemuIOWriteReachesTheImage() throws {
        let f = try NBDFixture(self)
        let r = try Tool.qemuIO(f.uri(), ["write -P 0xab 0 1M", "write -P 0xcd 3M 64k"])
        XCTAssertTrue(r.qemuIOClean, r.output)
        let bytes = try f.imageBytes()
        XCTAssertTrue(bytes[0..<(1 << 20)].allSatisfy { $0 == 0xab })
        XCTAssertTrue(bytes[(1 << 20)..<(3 << 20)].allSatisfy { $0 == 0 })
        XCTAssertTrue(bytes[(3 << 20)..<(3 << 20) + 65536].allSatisfy { $0 == 0xcd })
        XCTAssertTrue(bytes[((3 << 20) + 65536)...].allSatisfy { $0 == 0 })
    }

    func testQemuIOReadsWhatTheImageHolds() throws {
        let f = try NBDFixture(self)
        try f.writeImage([UInt8](repeating: 0x5c, count: 1 << 20), at: 2 << 20)
        let good = try Tool.qemuIO(f.uri(), ["read -P 0x5c 2M 1M", "read -P 0 0 2M", "read -P 0 3M 5M"])
        XCTAssertTrue(good.qemuIOClean, good.output)
        // The oracle's own check: a wrong expectation must be reported.
        let bad = try Tool.qemuIO(f.uri(), ["read -P 0x5d 2M 4k"])
        XCTAssertTrue(bad.output.contains("Pattern verification failed"), bad.output)
    }

    func testQemuImgConvertOutOfAndIntoTheExport() throws {
        let size = 8 << 20
        let f = try NBDFixture(self, sizeBytes: size) { $0 = testPattern(42, size) }
        let out = f.dir + "/out.img"
        let r1 = try Tool.run("qemu-img", ["convert", "-f", "raw", "-O", "raw", f.uri(), out])
        XCTAssertTrue(r1.ok, r1.output)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: out))), try f.imageBytes())

        // Into the export: another pattern, with zero runs that qemu-img
        // may send as WRITE_ZEROES.
        var src = testPattern(7, size)
        for i in (1 << 20)..<(3 << 20) { src[i] = 0 }
        let srcPath = f.dir + "/src.img"
        try Data(src).write(to: URL(fileURLWithPath: srcPath))
        let r2 = try Tool.run("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", srcPath, f.uri()])
        XCTAssertTrue(r2.ok, r2.output)
        XCTAssertEqual(try f.imageBytes(), src)
    }

    func testFlushAndFUAWrites() throws {
        let f = try NBDFixture(self)
        let r = try Tool.qemuIO(
            f.uri(),
            [
                "write -P 0x11 0 64k", "flush", "write -f -P 0x22 64k 64k",
                "write -z 1M 1M", "flush", "read -P 0x22 64k 64k"
            ])
        XCTAssertTrue(r.qemuIOClean, r.output)
        let bytes = try f.imageBytes()
        XCTAssertTrue(bytes[0..<65536].allSatisfy { $0 == 0x11 })
        XCTAssertTrue(bytes[65536..<131072].allSatisfy { $0 == 0x22 })
    }

    func testWriteZeroesClearsARange() throws {
        let f = try NBDFixture(self) { $0 = [UInt8](repeating: 0xee, count: $0.count) }
        let r = try Tool.qemuIO(f.uri(), ["write -z 512k 5M", "read -P 0 512k 5M", "read -P 0xee 0 512k"])
        XCTAssertTrue(r.qemuIOClean, r.output)
        let bytes = try f.imageBytes()
        XCTAssertTrue(bytes[(512 << 10)..<((512 << 10) + (5 << 20))].allSatisfy { $0 == 0 })
        XCTAssertTrue(bytes[((512 << 10) + (5 << 20))...].allSatisfy { $0 == 0xee })
    }

    func testReadOnlyServerRefusesWritesAndServesReads() throws {
        let f = try NBDFixture(self, serverReadOnly: true) { $0 = [UInt8](repeating: 0x33, count: $0.count) }
        try assertReadOnly(f)
    }

    func testReadOnlyDiskRefusesWritesAndServesReads() throws {
        let f = try NBDFixture(self, blkfile: ["ro": "1"]) { $0 = [UInt8](repeating: 0x33, count: $0.count) }
        try assertReadOnly(f)
    }

    private func assertReadOnly(_ f: NBDFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        let w = try Tool.qemuIO(f.uri(), ["write -P 0x44 0 4k"])
        XCTAssertFalse(w.qemuIOClean, "write through a read-only export succeeded: \(w.output)", file: file, line: line)
        let r = try Tool.qemuIO(f.uri(), readOnly: true, ["read -P 0x33 0 1M"])
        XCTAssertTrue(r.qemuIOClean, r.output, file: file, line: line)
        XCTAssertTrue(try f.imageBytes().allSatisfy { $0 == 0x33 }, "image changed", file: file, line: line)
    }

    func testUnknownExportIsNamedInTheError() throws {
        let f = try NBDFixture(self)
        let r = try Tool.run("qemu-img", ["info", "-f", "raw", f.uri("nosuchdisk")])
        XCTAssertFalse(r.ok, r.output)
        XCTAssertTrue(r.output.contains("nosuchdisk"), r.output)
    }

    func testTwoClientsConcurrentlyOnDifferentRanges() throws {
        let f = try NBDFixture(self)
        let a = try Tool.start(
            "qemu-io",
            [
                "-f", "raw", "-c", "write -P 0xa1 0 2M", "-c", "write -P 0xa2 2M 2M",
                "-c", "read -P 0xa1 0 2M", "-c", "read -P 0xa2 2M 2M", f.uri()
            ])
        let b = try Tool.start(
            "qemu-io",
            [
                "-f", "raw", "-c", "write -P 0xb1 4M 2M", "-c", "write -P 0xb2 6M 2M",
                "-c", "read -P 0xb1 4M 2M", "-c", "read -P 0xb2 6M 2M", f.uri()
            ])
        let ra = try Tool.finish(a), rb = try Tool.finish(b)
        XCTAssertTrue(ra.qemuIOClean, ra.output)
        XCTAssertTrue(rb.qemuIOClean, rb.output)
        let bytes = try f.imageBytes()
        for (i, v) in [UInt8(0xa1), 0xa2, 0xb1, 0xb2].enumerated() {
            XCTAssertTrue(bytes[(i * 2 << 20)..<((i + 1) * 2 << 20)].allSatisfy { $0 == v }, "range \(i)")
        }
    }

    /// O_DIRECT provider: the server's buffers must be aligned.
    func testDirectIOProvider() throws {
        // Some file systems (tmpfs) refuse O_DIRECT: nothing to test there.
        let probe = "/tmp/husk-nbd-odirect-\(getpid())"
        let fd = open(probe, O_CREAT | O_RDWR | husk_o_direct(), 0o600)
        unlink(probe)
        guard fd >= 0 else { throw XCTSkip("/tmp does not support O_DIRECT") }
        close(fd)
        let f = try NBDFixture(self, blkfile: ["direct": "1"])
        let r = try Tool.qemuIO(f.uri(), ["write -P 0x77 4k 1M", "read -P 0x77 4k 1M"])
        XCTAssertTrue(r.qemuIOClean, r.output + "\n" + f.log)
        XCTAssertTrue(try f.imageBytes()[4096..<(4096 + (1 << 20))].allSatisfy { $0 == 0x77 })
    }
}
