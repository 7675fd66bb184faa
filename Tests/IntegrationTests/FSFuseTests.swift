import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk fs mount`: the kernel mounts the served file system through FUSE
/// and ordinary programs (coreutils, dd, the shell) use it; debugfs and
/// e2fsck check the image afterwards. Needs root (to mount, and to run
/// another user's mount through fusermount3) and /dev/fuse.
final class FSFuseTests: XCTestCase {
    var dir = ""
    var image = ""
    var socket = ""
    var server: ChildProcess!
    var blk: ChildProcess?

    override func setUpWithError() throws {
        try Husk.requireRoot()
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("needs /dev/fuse") }
        dir = try scratchDirectory(self)
        image = "\(dir)/fs.img"
        let mkfs = try runTool(try Ext2fsComponentTests.tool("mkfs.ext4"), ["-q", "-F", image, "128M"])
        XCTAssertEqual(mkfs.status, 0, mkfs.output)
        socket = "\(dir)/fs.sock"
    }

    /// The server over the image, or (`stacked`) over `husk blk serve` serving it.
    func startServer(stacked: Bool = false) throws {
        var source = ["--image", image]
        if stacked {
            blk = try ChildProcess.huskServer(
                self, ["blk", "serve", "--image", image, "--socket", "\(dir)/blk.sock", "--mode", "666"], dir: dir, tag: "blk")
            source = ["--disk-socket", "\(dir)/blk.sock"]
        }
        server = try ChildProcess.huskServer(self, ["fs", "serve"] + source + ["--socket", socket, "--mode", "666"], dir: dir, tag: "fs")
    }

    /// `husk fs mount` on a new directory; unmounted at teardown at the latest.
    func mount(_ name: String, extra: [String] = []) throws -> (ChildProcess, String) {
        let point = "\(dir)/\(name)"
        XCTAssertEqual(mkdir(point, 0o755), 0)
        let command = [Husk.binary, "fs", "mount", "--socket", socket] + extra + [point]
        let m = try ChildProcess(command[0], Array(command.dropFirst()), dir: dir, tag: "mount-\(name)")
        addTeardownBlock {
            m.signal(SIGTERM)
            if m.wait(timeout: 10) == nil { m.kill9() }
            _ = try? runTool("/bin/umount", ["-l", point])
        }
        try m.waitForOutput("mounted on \(point)", timeout: 20)
        return (m, point)
    }

    func sh(_ script: String, via: [String] = []) throws -> ToolResult {
        let command = via + ["/bin/sh", "-c", script]
        return try runTool(command[0], Array(command.dropFirst()), timeout: 300)
    }

    func unmountAndCheck(_ m: ChildProcess, _ point: String) throws {
        m.signal(SIGTERM)
        XCTAssertEqual(m.wait(timeout: 20), 0, m.output)
        XCTAssertTrue(m.stderr.contains("unmounted \(point)"), m.output)
        XCTAssertFalse(try String(contentsOfFile: "/proc/mounts", encoding: .utf8).contains(point), "still mounted")
        server.signal(SIGTERM)
        XCTAssertEqual(server.wait(timeout: 30), 0, server.output)
        if let blk {
            blk.signal(SIGTERM)
            XCTAssertEqual(blk.wait(timeout: 30), 0, blk.output)
        }
        let fsck = try runTool(try Ext2fsComponentTests.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, fsck.output)
    }

    /// Ordinary programs over the mount: copies, a tree, hard and symbolic
    /// links, renames over files and directories, truncation, a sparse file
    /// with data past 4 GiB, a directory of 10,000 entries (hard links, made
    /// by Python's os.link: one process, and no open per entry); then debugfs
    /// reads it all back from the image and e2fsck finds it clean.
    func testOrdinaryProgramsOverTheMount() throws { try ordinaryPrograms(stacked: false) }
    func testOrdinaryProgramsOverTheMountStackedOverABlockServer() throws { try ordinaryPrograms(stacked: true) }

    func ordinaryPrograms(stacked: Bool) throws {
        try startServer(stacked: stacked)
        let (m, p) = try mount("mnt")
        let script = """
            set -e
            cd \(p)
            head -c 3000000 /dev/urandom > \(dir)/random.bin
            cp \(dir)/random.bin big.bin && cmp \(dir)/random.bin big.bin
            mkdir -p a/b/c && echo hello > a/b/c/f
            ln -s a/b/c/f sym && test "$(cat sym)" = hello && test "$(readlink sym)" = a/b/c/f
            ln a/b/c/f hard && test "$(stat -c %h hard)" = 2
            echo one > x && echo two > y && mv x y && test "$(cat y)" = one && test ! -e x
            mkdir d1 d2 && touch d1/inside && mv d1 d2 2>/dev/null && test -e d2/d1/inside
            mkdir e1 e2 && mv e1 e2 && test -d e2/e1 && mkdir f1 f2 && mv -T f1 f2 && test ! -e f1
            cp big.bin t && truncate -s 1000 t && test "$(stat -c %s t)" = 1000
            printf 'end' | dd of=sparse bs=1 seek=5000000000 conv=notrunc 2>/dev/null
            test "$(stat -c %s sparse)" = 5000000003 && test "$(tail -c 3 sparse)" = end
            test "$(stat -c %b sparse)" -lt 100
            mkdir many && echo same > many/f0
            python3 -c 'import os; [os.link("many/f0", "many/f%d" % i) for i in range(1, 10000)]'
            test "$(ls many | wc -l)" = 10000 && test "$(stat -c %h many/f0)" = 10000
            rm many/f5 && test "$(ls many | wc -l)" = 9999 && test "$(cat many/f9999)" = same
            sync
            """
        let r = try sh(script)
        XCTAssertEqual(r.status, 0, r.output + m.output)
        try unmountAndCheck(m, p)
        let debugfs = try Ext2fsComponentTests.tool("debugfs")
        let dump = try runTool(debugfs, ["-R", "dump /big.bin \(dir)/dumped.bin", image])
        XCTAssertEqual(dump.status, 0, dump.output)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: "\(dir)/dumped.bin")), try Data(contentsOf: URL(fileURLWithPath: "\(dir)/random.bin"))
        )
        XCTAssertEqual(try runTool(debugfs, ["-R", "cat /a/b/c/f", image]).stdout, "hello\n")
        let many = try runTool(debugfs, ["-R", "ls /many", image]).stdout
        XCTAssertTrue(many.contains("f9999") && !many.contains("f5 "), String(many.prefix(200)))
    }

    /// fsx-style: 3000 random writes (up to 64 KiB at offsets up to 4 MiB),
    /// truncates and reads on a file over the mount and on a reference file
    /// in /tmp, compared after every read and at the end; then e2fsck.
    func testRandomReadWriteTruncateMatchesAReferenceFile() throws { try randomReadWriteTruncate(stacked: false) }
    func testRandomReadWriteTruncateMatchesAReferenceFileStackedOverABlockServer() throws {
        try randomReadWriteTruncate(stacked: true)
    }

    func randomReadWriteTruncate(stacked: Bool) throws {
        try startServer(stacked: stacked)
        let (m, p) = try mount("fsx", extra: ["--cache-seconds", "0"])
        let script = """
            import os, random, sys
            random.seed(20261205)
            paths = ["\(p)/fsx.bin", "\(dir)/reference.bin"]
            fds = [os.open(x, os.O_CREAT | os.O_RDWR, 0o644) for x in paths]
            size = 0
            for op in range(3000):
                k = random.random()
                if k < 0.55:
                    off = random.randrange(0, 4 << 20); n = random.randrange(1, 65536)
                    data = os.urandom(n)
                    for fd in fds: os.pwrite(fd, data, off)
                    size = max(size, off + n)
                elif k < 0.65:
                    size = random.randrange(0, 4 << 20)
                    for fd in fds: os.ftruncate(fd, size)
                else:
                    off = random.randrange(0, (size or 1) + 4096); n = random.randrange(1, 65536)
                    a, b = [os.pread(fd, n, off) for fd in fds]
                    if a != b:
                        sys.exit("op %d: read of %d at %d differs (size %d)" % (op, n, off, size))
            for fd in fds: os.fsync(fd)
            sizes = [os.fstat(fd).st_size for fd in fds]
            if sizes[0] != sizes[1]: sys.exit("sizes differ: %s" % sizes)
            whole = [os.pread(fd, sizes[0], 0) for fd in fds]
            if whole[0] != whole[1]: sys.exit("contents differ")
            print("ok", sizes[0])
            """
        try script.write(toFile: "\(dir)/fsx.py", atomically: true, encoding: .utf8)
        let r = try runTool("/usr/bin/python3", ["\(dir)/fsx.py"], timeout: 600)
        XCTAssertEqual(r.status, 0, r.output + m.output)
        XCTAssertTrue(r.stdout.hasPrefix("ok "), r.output)
        try unmountAndCheck(m, p)
        let dump = try runTool(try Ext2fsComponentTests.tool("debugfs"), ["-R", "dump /fsx.bin \(dir)/dumped.bin", image])
        XCTAssertEqual(dump.status, 0, dump.output)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: "\(dir)/dumped.bin")),
            try Data(contentsOf: URL(fileURLWithPath: "\(dir)/reference.bin")))
    }

    /// The POSIX errors through the kernel, as a user who is not root
    /// (uid 65534 through setpriv) on root's --allow-other mount: the
    /// kernel checks that user's permissions against the server's
    /// attributes, and what the user creates is the user's.
    func testErrorsAndPermissionsThroughTheMountAsAnotherUser() throws { try errorsAndPermissions(stacked: false) }
    func testErrorsAndPermissionsThroughTheMountAsAnotherUserStackedOverABlockServer() throws {
        try errorsAndPermissions(stacked: true)
    }

    func errorsAndPermissions(stacked: Bool) throws {
        try startServer(stacked: stacked)
        // Root's things, made through the server's own clients.
        try "secret\n".write(toFile: "\(dir)/s.txt", atomically: true, encoding: .utf8)
        for args in [
            ["mkdir", "--mode", "755", "/roots"], ["put", "--mode", "600", "\(dir)/s.txt", "/secret"],
            ["mkdir", "--mode", "1777", "/tmp"], ["put", "\(dir)/s.txt", "/tmp/roots"], ["mkdir", "--mode", "777", "/pub"]
        ] {
            let r = try Husk.run(["fs", args[0], "--socket", socket] + Array(args.dropFirst()))
            XCTAssertEqual(r.status, 0, r.output)
        }
        let (m, p) = try mount("shared", extra: ["--allow-other"])
        func expect(_ script: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try sh("cd \(p) && \(script)", via: Husk.nobody)
            XCTAssertNotEqual(r.status, 0, "\(script) succeeded", file: file, line: line)
            XCTAssertTrue(r.stderr.contains(text), "\(script): \(r.stderr)", file: file, line: line)
        }
        try expect("cat secret", "Permission denied")
        try expect("touch roots/x", "Permission denied")
        try expect("rm tmp/roots", "Operation not permitted")
        try expect("cat nope", "No such file or directory")
        try expect("mkdir pub/d && mkdir pub/d", "File exists")
        try expect("touch pub/d/f && rmdir pub/d", "Directory not empty")
        try expect("cat pub/d", "Is a directory")
        try expect("ls pub/d/f/x", "Not a directory")
        try expect("touch pub/\(String(repeating: "n", count: 256))", "File name too long")
        try expect("mv pub/d pub/d/f/inside", "Not a directory")
        let ok = try sh(
            "cd \(p) && echo mine > pub/mine && stat -c '%u %g' pub/mine && mv pub/mine tmp/mine && rm tmp/mine", via: Husk.nobody)
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertEqual(ok.stdout, "65534 65534\n")
        try unmountAndCheck(m, p)
    }
}
