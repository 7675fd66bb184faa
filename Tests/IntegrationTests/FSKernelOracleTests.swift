import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// The Linux kernel's ext4 as the oracle: what the kernel writes through a
/// loop mount reads back through `husk fs serve`, and what the server
/// writes reads back through the kernel; e2fsck -fn is clean after each
/// side. Needs root and loop devices (skipped without them).
final class FSKernelOracleTests: XCTestCase {
    var dir = ""
    var image = ""

    override func setUpWithError() throws {
        try Husk.requireRoot()
        guard FileManager.default.fileExists(atPath: "/dev/loop-control") else { throw XCTSkip("needs loop devices") }
        dir = try scratchDirectory(self)
        image = "\(dir)/fs.img"
        let mkfs = try runTool(try Ext2fsComponentTests.tool("mkfs.ext4"), ["-q", "-F", image, "96M"])
        XCTAssertEqual(mkfs.status, 0, mkfs.output)
    }

    func testTheKernelAndTheServerReadWhatTheOtherWrote() throws { try exchange(stacked: false) }
    func testTheKernelAndTheServerReadWhatTheOtherWroteStackedOverABlockServer() throws { try exchange(stacked: true) }

    /// Mount the image with the kernel at DIR/NAME, run `script` there
    /// (sh -e), unmount; the mount goes at teardown at the latest. `first`:
    /// a mount that fails skips the test (the machine has no loop mounts);
    /// later ones fail it.
    func kernel(_ name: String, first: Bool = false, readOnly: Bool = false, _ script: String) throws -> ToolResult {
        let point = "\(dir)/\(name)"
        XCTAssertEqual(mkdir(point, 0o755), 0)
        let mounted = try runTool("/bin/mount", ["-o", readOnly ? "loop,ro" : "loop", image, point])
        if mounted.status != 0 {
            if first { throw XCTSkip("the kernel cannot loop-mount here: \(mounted.output)") }
            XCTFail("mount: \(mounted.output)")
            return mounted
        }
        addTeardownBlock { _ = try? runTool("/bin/umount", ["-l", point]) }
        let r = try runTool("/bin/sh", ["-ec", "cd \(point)\n" + script], timeout: 300)
        let unmounted = try runTool("/bin/umount", [point])
        XCTAssertEqual(unmounted.status, 0, unmounted.output)
        return r
    }

    func fsck() throws {
        let fsck = try runTool(try Ext2fsComponentTests.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, "e2fsck -fn:\n\(fsck.output)")
    }

    func exchange(stacked: Bool) throws {
        // 1. The kernel writes: data, a tree, links, owners and modes, a
        // sparse file, and a directory big enough to get an htree index.
        let random = "\(dir)/random.bin"
        XCTAssertEqual(try runTool("/bin/sh", ["-c", "head -c 2500000 /dev/urandom > \(random)"]).status, 0)
        let wrote = try kernel(
            "kernel-writes", first: true,
            """
            cp \(random) random.bin
            mkdir -p a/b/c && echo kernel > a/b/c/f
            ln -s a/b/c/f sym && ln a/b/c/f hard
            echo owned > owned && chown 1234:5678 owned && chmod 640 owned
            printf tail | dd of=sparse bs=1 seek=200000000 conv=notrunc 2>/dev/null
            mkdir many && for i in $(seq 0 2999); do : > many/entry-$i; done
            """)
        XCTAssertEqual(wrote.status, 0, wrote.output)
        try fsck()

        // 2. The server reads it back and changes it.
        var source = ["--image", image]
        var blk: ChildProcess?
        if stacked {
            blk = try ChildProcess.huskServer(self, ["blk", "serve", "--image", image, "--socket", "\(dir)/blk.sock"], dir: dir, tag: "blk")
            source = ["--disk-socket", "\(dir)/blk.sock"]
        }
        let socket = "\(dir)/fs.sock"
        let server = try ChildProcess.huskServer(self, ["fs", "serve"] + source + ["--socket", socket], dir: dir, tag: "fs")
        func fs(_ args: [String]) throws -> ToolResult {
            let r = try Husk.run(["fs", args[0], "--socket", socket] + args.dropFirst(), timeout: 120)
            XCTAssertEqual(r.status, 0, "husk fs \(args.joined(separator: " ")): \(r.output)")
            return r
        }
        _ = try fs(["get", "/random.bin", "\(dir)/back.bin"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/back.bin")), try Data(contentsOf: URL(fileURLWithPath: random)))
        XCTAssertEqual(try fs(["cat", "/sym"]).stdout, "kernel\n")
        XCTAssertTrue(try fs(["ls", "-l", "/"]).stdout.contains(" sym -> a/b/c/f"))
        XCTAssertTrue(try fs(["stat", "/hard"]).stdout.contains("links: 2"))
        let owned = try fs(["stat", "/owned"]).stdout
        XCTAssertTrue(owned.contains("uid: 1234\ngid: 5678") && owned.contains("mode: 640"), owned)
        let sparse = try fs(["stat", "/sparse"]).stdout
        XCTAssertTrue(sparse.contains("size: 200000004"), sparse)
        XCTAssertEqual(try fs(["ls", "/many"]).stdout.split(separator: "\n").count, 3002)
        try "from husk\n".write(toFile: "\(dir)/note.txt", atomically: true, encoding: .utf8)
        _ = try fs(["put", random, "/husk.bin"])
        _ = try fs(["mkdir", "-p", "/husk/d"])
        _ = try fs(["put", "\(dir)/note.txt", "/husk/d/note"])
        _ = try fs(["mv", "/a/b/c/f", "/husk/f"])
        _ = try fs(["rm", "/many/entry-100"])
        _ = try fs(["put", "\(dir)/note.txt", "/many/added"])
        server.signal(SIGTERM)
        XCTAssertEqual(server.wait(timeout: 30), 0, server.output)
        if let blk {
            blk.signal(SIGTERM)
            XCTAssertEqual(blk.wait(timeout: 30), 0, blk.output)
        }
        try fsck()

        // 3. The kernel reads what the server wrote.
        let read = try kernel(
            "kernel-reads", readOnly: true,
            """
            cmp \(random) husk.bin
            test "$(cat husk/f)" = kernel && test ! -e a/b/c/f && test "$(stat -c %h husk/f)" = 2
            test "$(cat husk/d/note)" = "from husk" && test "$(cat many/added)" = "from husk"
            test ! -e many/entry-100 && test -e many/entry-2999 && test "$(ls many | wc -l)" = 3000
            test "$(readlink sym)" = a/b/c/f && test ! -e sym
            """)
        XCTAssertEqual(read.status, 0, read.output)
        try fsck()
    }
}
