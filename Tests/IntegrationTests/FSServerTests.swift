import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk fs serve` as a real process over an image made by mkfs.ext4 and
/// filled by debugfs, driven by the `husk fs` clients as real processes;
/// the oracles are debugfs (reads back what the server wrote) and
/// `e2fsck -fn` (the image is clean after every workload), both from
/// e2fsprogs, which nobody here wrote.
final class FSServerTests: XCTestCase {
    /// A served image: the server process, its socket, the image path.
    struct Served {
        var server: ChildProcess
        var socket: String
        var image: String
        var dir: String
        var blk: ChildProcess? = nil  // the block server below, in the stacked form
    }

    static func tool(_ name: String) throws -> String { try Ext2fsComponentTests.tool(name) }

    /// An image of 64 MiB with /hello.txt, /dir/a.txt and /secret (mode 600)
    /// written by debugfs, served with --mode 666 (other users may connect).
    /// `stacked`: the same over `husk blk serve` (--disk-socket).
    func serve(readOnly: Bool = false, image existing: String? = nil, stacked: Bool = false) throws -> Served {
        let dir = try scratchDirectory(self)
        let image = existing ?? "\(dir)/fs.img"
        if existing == nil {
            let mkfs = try runTool(try Self.tool("mkfs.ext4"), ["-q", "-F", image, "64M"])
            XCTAssertEqual(mkfs.status, 0, mkfs.output)
            try "hello from debugfs\n".write(toFile: "\(dir)/hello.txt", atomically: true, encoding: .utf8)
            try "a\n".write(toFile: "\(dir)/a.txt", atomically: true, encoding: .utf8)
            let script = """
                write \(dir)/hello.txt hello.txt
                mkdir dir
                write \(dir)/a.txt dir/a.txt
                write \(dir)/a.txt secret
                set_inode_field secret mode 0100600
                """
            try script.write(toFile: "\(dir)/fill.debugfs", atomically: true, encoding: .utf8)
            let fill = try runTool(try Self.tool("debugfs"), ["-w", "-f", "\(dir)/fill.debugfs", image])
            XCTAssertEqual(fill.status, 0, fill.output)
        }
        let socket = "\(dir)/fs.sock"
        var blk: ChildProcess?
        var source = ["--image", image]
        if stacked {
            let blkSocket = "\(dir)/blk.sock"
            blk = try ChildProcess.huskServer(
                self, ["blk", "serve", "--image", image, "--socket", blkSocket, "--mode", "666"] + (readOnly ? ["--read-only"] : []),
                dir: dir, tag: "blk")
            source = ["--disk-socket", blkSocket]
        }
        let server = try ChildProcess.huskServer(
            self, ["fs", "serve"] + source + ["--socket", socket, "--mode", "666"] + (readOnly ? ["--read-only"] : []),
            dir: dir, tag: "fs")
        return Served(server: server, socket: socket, image: image, dir: dir, blk: blk)
    }

    /// `husk fs CMD --socket S ARGS` (as `via`, e.g. Husk.nobody).
    @discardableResult
    func fs(_ s: Served, _ cmd: String, _ args: [String], via: [String] = []) throws -> ToolResult {
        try Husk.run(["fs", cmd, "--socket", s.socket] + args, timeout: 60, via: via)
    }

    /// SIGTERM, exit 0, and e2fsck -fn finds the image clean.
    func stopAndCheck(_ s: Served) throws {
        s.server.signal(SIGTERM)
        XCTAssertEqual(s.server.wait(timeout: 30), 0, s.server.output)
        XCTAssertTrue(s.server.output.contains("ext2fs: disk 'disk0': unmounted"), s.server.output)
        if let blk = s.blk {
            blk.signal(SIGTERM)
            XCTAssertEqual(blk.wait(timeout: 30), 0, blk.output)
        }
        let fsck = try runTool(try Self.tool("e2fsck"), ["-fn", s.image])
        XCTAssertEqual(fsck.status, 0, "e2fsck -fn:\n\(fsck.output)")
    }

    func debugfs(_ s: Served, _ request: String) throws -> ToolResult {
        try runTool(try Self.tool("debugfs"), ["-R", request, s.image])
    }

    func testAWorkloadThroughTheClientsReadsBackWithDebugfsAndStaysClean() throws { try workload(stacked: false) }
    func testTheWorkloadStackedOverABlockServer() throws { try workload(stacked: true) }
    func testErrorsArePOSIXAndNamedStackedOverABlockServer() throws { try errors(stacked: true) }

    func workload(stacked: Bool) throws {
        let s = try serve(stacked: stacked)
        // What debugfs wrote reads back through the server.
        XCTAssertEqual(try fs(s, "cat", ["/hello.txt"]).stdout, "hello from debugfs\n")
        let ls = try fs(s, "ls", ["/"])
        XCTAssertEqual(ls.stdout.split(separator: "\n"), [".", "..", "dir", "hello.txt", "lost+found", "secret"], ls.output)
        XCTAssertEqual(try fs(s, "cat", ["/dir/a.txt"]).stdout, "a\n")

        // A tree, a 3 MiB file of random bytes, renames, removals.
        XCTAssertEqual(try fs(s, "mkdir", ["-p", "/a/b/c"]).status, 0)
        var rng = SystemRandomNumberGenerator()
        let big = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let local = "\(s.dir)/big.bin"
        try Data(big).write(to: URL(fileURLWithPath: local))
        XCTAssertEqual(try fs(s, "put", [local, "/a/b/c/big.bin"]).status, 0)
        XCTAssertEqual(try fs(s, "get", ["/a/b/c/big.bin", "\(s.dir)/back.bin"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(s.dir)/back.bin")), Data(big))
        XCTAssertEqual(try fs(s, "mv", ["/a/b/c/big.bin", "/big.bin"]).status, 0)
        XCTAssertEqual(try fs(s, "mv", ["/a/b", "/dir/b"]).status, 0, "a directory moves to another parent")
        for i in 0..<20 {
            let r = try fs(s, "put", ["-", "/dir/b/f\(i)"])
            XCTAssertEqual(r.status, 0, r.output)
        }
        XCTAssertEqual(try fs(s, "rm", ["/dir/b/f3"]).status, 0)
        XCTAssertEqual(try fs(s, "put", ["\(s.dir)/hello.txt", "/hello.txt"]).status, 0, "put replaces an existing file")
        let stat = try fs(s, "stat", ["/big.bin"])
        XCTAssertTrue(stat.stdout.contains("size: \(big.count)"), stat.output)
        XCTAssertEqual(try fs(s, "rm", ["-r", "/a"]).status, 0)
        try stopAndCheck(s)

        // debugfs reads what the server wrote.
        let cat = try runTool(try Self.tool("debugfs"), ["-R", "dump /big.bin \(s.dir)/dumped.bin", s.image])
        XCTAssertEqual(cat.status, 0, cat.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(s.dir)/dumped.bin")), Data(big))
        let names = try debugfs(s, "ls -l /dir/b").stdout
        XCTAssertTrue(names.contains("f0") && names.contains("f19") && !names.contains("f3 "), names)
        XCTAssertTrue(names.contains("c"), names)
        XCTAssertFalse(try debugfs(s, "ls /").stdout.contains(" a "), "the removed tree is gone")
    }

    func testErrorsArePOSIXAndNamed() throws { try errors(stacked: false) }

    func errors(stacked: Bool) throws {
        let s = try serve(stacked: stacked)
        func fails(_ cmd: String, _ args: [String], _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try fs(s, cmd, args)
            XCTAssertEqual(r.status, 1, r.output, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(text), "\(cmd) \(args): \(r.stderr)", file: file, line: line)
        }
        try fails("cat", ["/nope"], "/nope: No such file or directory (ENOENT)")
        try fails("cat", ["/dir"], "/dir: Is a directory (EISDIR)")
        try fails("ls", ["/hello.txt/x"], "(ENOTDIR)")
        try fails("mkdir", ["/dir"], "/dir: File exists (EEXIST)")
        try fails("rm", ["-d", "/dir"], "/dir: Directory not empty (ENOTEMPTY)")
        try fails("rm", ["/dir"], "(EISDIR)")
        try fails("put", ["\(s.dir)/hello.txt", "/" + String(repeating: "n", count: 256)], "(ENAMETOOLONG)")
        XCTAssertEqual(try fs(s, "mkdir", ["-p", "/m/n"]).status, 0)
        try fails("mv", ["/m", "/m/n/inside"], "Invalid argument (EINVAL)")
        try fails("mv", ["/hello.txt", "/m"], "(EISDIR)")
        try fails("mv", ["/m", "/hello.txt"], "(ENOTDIR)")
        // Bad input to the server itself.
        let missing = try Husk.run(["fs", "serve", "--image", "\(s.dir)/absent.img", "--socket", "\(s.dir)/x.sock"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("absent.img: No such file or directory"), missing.output)
        let zeros = "\(s.dir)/zeros.img"
        XCTAssertTrue(FileManager.default.createFile(atPath: zeros, contents: Data(count: 4 << 20)))
        let notFS = try Husk.run(["fs", "serve", "--image", zeros, "--socket", "\(s.dir)/y.sock"])
        XCTAssertEqual(notFS.status, 1, notFS.output)
        XCTAssertTrue(notFS.output.contains("Bad magic number in super-block"), notFS.output)
        try stopAndCheck(s)
    }

    /// The server checks with the caller's kernel credentials: nobody
    /// (uid 65534) reads what others may read, and nothing else.
    func testPermissionsComeFromTheCallersCredentials() throws { try permissions(stacked: false) }
    func testPermissionsComeFromTheCallersCredentialsStackedOverABlockServer() throws { try permissions(stacked: true) }

    func permissions(stacked: Bool) throws {
        try Husk.requireRoot()
        let s = try serve(stacked: stacked)
        XCTAssertEqual(try fs(s, "cat", ["/hello.txt"], via: Husk.nobody).stdout, "hello from debugfs\n")
        func denied(_ cmd: String, _ args: [String], _ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try fs(s, cmd, args, via: Husk.nobody)
            XCTAssertEqual(r.status, 1, r.output, file: file, line: line)
            XCTAssertTrue(r.stderr.contains(text), "\(cmd) \(args) as nobody: \(r.stderr)", file: file, line: line)
        }
        try denied("cat", ["/secret"], "/secret: Permission denied (EACCES)")
        try denied("put", ["\(s.dir)/hello.txt", "/hello.txt"], "(EACCES)")
        try denied("mkdir", ["/mine"], "(EACCES)")
        try denied("rm", ["/hello.txt"], "(EACCES)")
        // A world-writable directory: nobody creates, and owns what it creates.
        XCTAssertEqual(try fs(s, "mkdir", ["--mode", "777", "/pub"]).status, 0)
        XCTAssertEqual(try fs(s, "put", ["\(s.dir)/hello.txt", "/pub/n"], via: Husk.nobody).status, 0)
        let st = try fs(s, "stat", ["/pub/n"])
        XCTAssertTrue(st.stdout.contains("uid: 65534") && st.stdout.contains("gid: 65534"), st.output)
        // The sticky bit: nobody may not remove root's file in a 1777 directory.
        XCTAssertEqual(try fs(s, "mkdir", ["--mode", "1777", "/tmp"]).status, 0)
        XCTAssertEqual(try fs(s, "put", ["\(s.dir)/hello.txt", "/tmp/roots"]).status, 0)
        try denied("rm", ["/tmp/roots"], "Operation not permitted (EPERM)")
        XCTAssertEqual(try fs(s, "put", ["\(s.dir)/hello.txt", "/tmp/nobodys"], via: Husk.nobody).status, 0)
        XCTAssertEqual(try fs(s, "rm", ["/tmp/nobodys"], via: Husk.nobody).status, 0)
        try stopAndCheck(s)
    }

    func testReadOnlyRefusesChangesAndWritesNothing() throws {
        let s0 = try serve()
        try stopAndCheck(s0)
        let before = try Data(contentsOf: URL(fileURLWithPath: s0.image))
        let s = try serve(readOnly: true, image: s0.image)
        XCTAssertEqual(try fs(s, "cat", ["/hello.txt"]).stdout, "hello from debugfs\n")
        let r = try fs(s, "mkdir", ["/x"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Read-only file system (EROFS)"), r.output)
        s.server.signal(SIGTERM)
        XCTAssertEqual(s.server.wait(timeout: 30), 0, s.server.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: s.image)), before, "a read-only mount writes nothing")
    }

    /// After SIGKILL, what put (which fsyncs) wrote is intact, and e2fsck
    /// finds nothing to repair.
    func testFsyncedDataSurvivesSIGKILL() throws { try fsyncedDataSurvivesSIGKILL(stacked: false) }
    func testFsyncedDataSurvivesSIGKILLStackedOverABlockServer() throws { try fsyncedDataSurvivesSIGKILL(stacked: true) }

    func fsyncedDataSurvivesSIGKILL(stacked: Bool) throws {
        let s = try serve(stacked: stacked)
        let payload = String(repeating: "durable line\n", count: 5000)
        try payload.write(toFile: "\(s.dir)/p.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try fs(s, "mkdir", ["/k"]).status, 0)
        XCTAssertEqual(try fs(s, "put", ["\(s.dir)/p.txt", "/k/p.txt"]).status, 0)
        s.server.kill9()
        let fsck = try runTool(try Self.tool("e2fsck"), ["-fy", s.image])
        XCTAssertTrue([0, 1].contains(fsck.status), "e2fsck -fy repairs at most: \(fsck.output)")
        let again = try runTool(try Self.tool("e2fsck"), ["-fn", s.image])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try debugfs(s, "cat /k/p.txt").stdout, payload)
    }

    /// The stacked form: `husk fs serve --disk-socket` over `husk blk serve`.
    /// The same checks as over an image, and a SIGKILL and restart of the
    /// block server in the middle: the file system reconnects and goes on.
    func testStackedOverABlockServerSurvivesItsRestart() throws {
        let dir = try scratchDirectory(self)
        let image = "\(dir)/fs.img"
        XCTAssertEqual(try runTool(try Self.tool("mkfs.ext4"), ["-q", "-F", image, "64M"]).status, 0)
        let blkSocket = "\(dir)/blk.sock"
        // --mode 666: the file-system server runs as nobody once started, and reconnects as nobody.
        let blkArgs = ["blk", "serve", "--image", image, "--socket", blkSocket, "--mode", "666"]
        var blk = try ChildProcess.huskServer(self, blkArgs, dir: dir, tag: "blk")
        let socket = "\(dir)/fs.sock"
        let server = try ChildProcess.huskServer(
            self, ["fs", "serve", "--disk-socket", blkSocket, "--socket", socket], dir: dir, tag: "fs")
        let s = Served(server: server, socket: socket, image: image, dir: dir)
        let payload = String(repeating: "stacked\n", count: 40_000)
        try payload.write(toFile: "\(dir)/p.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try fs(s, "mkdir", ["-p", "/x/y"]).status, 0)
        XCTAssertEqual(try fs(s, "put", ["\(dir)/p.txt", "/x/y/p.txt"]).status, 0)

        blk.kill9()
        unlink(blkSocket)
        blk = try ChildProcess.huskServer(self, blkArgs, dir: dir, tag: "blk")
        let again = try fs(s, "put", ["\(dir)/p.txt", "/x/after.txt"])
        XCTAssertEqual(again.status, 0, again.output + server.stderr)
        XCTAssertEqual(try fs(s, "cat", ["/x/y/p.txt"]).stdout, payload)
        XCTAssertEqual(try fs(s, "mv", ["/x/after.txt", "/after.txt"]).status, 0)
        try stopAndCheck(s)
        XCTAssertTrue(server.stderr.contains("reconnected to the block server 1 time(s)"), server.stderr)
        blk.signal(SIGTERM)
        XCTAssertEqual(blk.wait(timeout: 30), 0, blk.output)
        let fsck = try runTool(try Self.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, fsck.output)
        XCTAssertEqual(try debugfs(s, "cat /after.txt").stdout, payload)
    }

    /// `husk up` runs a block server and a file-system server stacked on it
    /// (kind fs); SIGKILL of either is followed by a restart, the other
    /// side reconnects, fsync'd data is intact and e2fsck stays clean.
    func testHuskUpSupervisesABlockServerAndAFileSystemServerOverIt() throws {
        try Husk.requireRoot()
        let dir = try scratchDirectory(self)
        let image = "\(dir)/fs.img"
        XCTAssertEqual(try runTool(try Self.tool("mkfs.ext4"), ["-q", "-F", image, "64M"]).status, 0)
        // The servers drop to nobody: the image must be theirs to write.
        XCTAssertEqual(chown(image, 65534, 65534), 0)
        let socket = "\(dir)/fs.sock"
        let config = "\(dir)/stack.toml"
        let text = """
            [stack]
            name = "fs\(getpid())"
            state_dir = "\(dir)/state"

            [server.blk]
            kind = "blk"
            socket = "\(dir)/blk.sock"
            mode = "666"
            args = ["--image", "\(image)"]

            [server.fs]
            kind = "fs"
            socket = "\(socket)"
            mode = "666"
            args = ["--disk-socket", "\(dir)/blk.sock"]

            """
        XCTAssertTrue(FileManager.default.createFile(atPath: config, contents: Data(text.utf8)))
        let up = try ChildProcess(Husk.binary, ["up", "--config", config], dir: dir, tag: "up")
        addTeardownBlock { up.kill9() }
        let s = Served(server: up, socket: socket, image: image, dir: dir)
        XCTAssertTrue(try waitUntil(30) { try fs(s, "ls", ["/"]).status == 0 }, up.stderr)
        let payload = String(repeating: "supervised\n", count: 30_000)
        try payload.write(toFile: "\(dir)/p.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try fs(s, "put", ["\(dir)/p.txt", "/one.txt"]).status, 0)

        func pid(of name: String) throws -> Int32 {
            guard let line = up.stderr.split(separator: "\n").last(where: { $0.contains("server \(name) started (pid ") }),
                let pid = Int32(line.split(separator: "(pid ")[1].prefix { $0.isNumber })
            else { throw TestFailure("no start line for \(name): \(up.stderr)") }
            return pid
        }
        func killAndAwaitRestart(_ name: String) throws {
            let starts = up.stderr.components(separatedBy: "server \(name) started").count
            kill(try pid(of: name), SIGKILL)
            guard waitUntil(30, { up.stderr.components(separatedBy: "server \(name) started").count > starts }) else {
                throw TestFailure("\(name) was not restarted: \(up.stderr)")
            }
        }
        try killAndAwaitRestart("blk")
        let second = try fs(s, "put", ["\(dir)/p.txt", "/two.txt"])
        XCTAssertEqual(second.status, 0, second.output + up.stderr)
        try killAndAwaitRestart("fs")
        XCTAssertTrue(try waitUntil(30) { try fs(s, "ls", ["/"]).status == 0 }, up.stderr)
        XCTAssertEqual(try fs(s, "cat", ["/one.txt"]).stdout, payload, "fsync'd before the SIGKILLs")
        XCTAssertEqual(try fs(s, "cat", ["/two.txt"]).stdout, payload)
        kill(up.pid, SIGTERM)
        XCTAssertEqual(up.wait(timeout: 60), 0, up.stderr)
        let fsck = try runTool(try Self.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, fsck.output)
    }
}
