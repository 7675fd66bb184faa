import Foundation
import HuskTestSupport
import XCTest

/// The ext2fs component on its own (docs/fs.md): `husk run` with the
/// blkfile component serving an image made by mkfs.ext4 and filled by
/// debugfs; the component mounts it through its io_manager over the glue
/// disk, unmounts at SIGTERM, and e2fsck finds the image clean.
final class Ext2fsComponentTests: XCTestCase {
    static func tool(_ name: String) throws -> String {
        guard let path = installedTool(name, in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) else {
            throw XCTSkip("needs \(name) (Debian package e2fsprogs; scripts/setup.sh installs it)")
        }
        return path
    }

    /// A fresh ext4 image of `megabytes` with hello.txt in it.
    static func makeImage(_ test: XCTestCase, megabytes: Int = 32) throws -> String {
        let dir = try scratchURL(test)
        let image = dir.appendingPathComponent("fs.img").path
        let mkfs = try runTool(try tool("mkfs.ext4"), ["-q", "-F", image, "\(megabytes)M"])
        guard mkfs.ok else { throw TestFailure("mkfs.ext4: \(mkfs.output)") }
        let local = dir.appendingPathComponent("hello.txt").path
        try "hello from debugfs\n".write(toFile: local, atomically: true, encoding: .utf8)
        let w = try runTool(try tool("debugfs"), ["-w", "-R", "write \(local) hello.txt", image])
        guard w.ok else { throw TestFailure("debugfs: \(w.output)") }
        return image
    }

    func testMountsAnImageAndUnmountsCleanly() throws {
        let image = try Self.makeImage(self)
        let r = try Husk.run(
            ["run", "--component", "blkfile", "--component", "ext2fs", "--param", "blkfile.path=\(image)"],
            timeout: 60, signalAfter: (3, SIGTERM))
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("ext2fs: file system 'fs0' on disk 'disk0': ext4, 32768 blocks of 1024 bytes"), r.output)
        XCTAssertTrue(r.output.contains("ext2fs: disk 'disk0': unmounted"), r.output)
        let fsck = try runTool(try Self.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, fsck.output)
    }

    func testRefusesWhatIsNotAnExtFileSystem() throws {
        let image = try scratchURL(self).appendingPathComponent("zero.img").path
        XCTAssertTrue(FileManager.default.createFile(atPath: image, contents: Data(count: 4 << 20)))
        let r = try Husk.run(
            ["run", "--component", "blkfile", "--component", "ext2fs", "--param", "blkfile.path=\(image)"],
            timeout: 60, signalAfter: (5, SIGTERM))
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("cannot open an ext2/3/4 file system on disk 'disk0'"), r.output)
        XCTAssertTrue(r.output.contains("Bad magic number in super-block"), r.output)
    }

    func testAMissingDiskIsAClearError() throws {
        let r = try Husk.run(["run", "--component", "ext2fs", "--param", "ext2fs.disk=nosuch"], timeout: 60, signalAfter: (5, SIGTERM))
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("no disk 'nosuch' in the disk registry"), r.output)
    }
}
