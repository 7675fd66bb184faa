import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// A client interrupted in a long read or write: Ctrl-C (SIGINT) or
/// SIGTERM reaches `husk fs put` / `get` while an 8 MiB call is in flight;
/// the client cancels it, the server stops between its pieces, the command
/// reports exactly what the file holds and exits with 128 + the signal.
/// The oracles: the file's size and bytes (through the server and
/// debugfs), and e2fsck -fn.
final class FSInterruptTests: XCTestCase {
    func testSignalsInterruptALongPutAndGetAndLeaveExactlyWhatTheyReport() throws {
        let dir = try scratchDirectory(self)
        let image = "\(dir)/fs.img"
        let mkfs = try runTool(try Ext2fsComponentTests.tool("mkfs.ext4"), ["-q", "-F", image, "2G"])
        XCTAssertEqual(mkfs.status, 0, mkfs.output)
        // 512 MiB whose every 8 bytes name their MiB, so a misplaced piece shows.
        let source = "\(dir)/source.bin"
        let made = try runTool(
            "/usr/bin/python3",
            [
                "-c", "import sys\nwith open(sys.argv[1], 'wb') as f:\n  for i in range(512): f.write(i.to_bytes(8, 'little') * (1 << 17))",
                source
            ])
        XCTAssertEqual(made.status, 0, made.output)
        let socket = "\(dir)/fs.sock"
        let server = try ChildProcess.huskServer(self, ["fs", "serve", "--image", image, "--socket", socket], dir: dir, tag: "fs")
        func size(_ path: String) throws -> UInt64? {
            let r = try Husk.run(["fs", "stat", "--socket", socket, path])
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("size: ") }.flatMap { UInt64($0.dropFirst(6)) }
        }

        // put, interrupted once the file has grown past 16 MiB.
        let put = try ChildProcess(Husk.binary, ["fs", "put", "--socket", socket, source, "/big"], dir: dir, tag: "put")
        addTeardownBlock { put.kill9() }
        try waitUntil(
            "the file grows past 16 MiB while put runs", { (try? size("/big")).flatMap { $0 } ?? 0 >= 16 << 20 }, whileRunning: put)
        put.signal(SIGINT)
        XCTAssertEqual(put.wait(timeout: 30), 130, put.output)
        let held = try XCTUnwrap(try size("/big"))
        XCTAssertTrue(put.stderr.contains("interrupted by SIGINT: /big holds the first \(held) bytes (fsync'd)"), put.output)
        XCTAssertLessThan(held, 512 << 20, "interrupted before the end")

        // get of a whole copy, interrupted once 8 MiB arrived.
        let full = try Husk.run(["fs", "put", "--socket", socket, source, "/full"], timeout: 300)
        XCTAssertEqual(full.status, 0, full.output)
        let local = "\(dir)/out.bin"
        let get = try ChildProcess(Husk.binary, ["fs", "get", "--socket", socket, "/full", local], dir: dir, tag: "get")
        addTeardownBlock { get.kill9() }
        func localSize() -> UInt64 {
            var st = stat()
            return stat(local, &st) == 0 ? UInt64(st.st_size) : 0
        }
        try waitUntil("out.bin grows past 8 MiB while get runs", { localSize() >= 8 << 20 }, whileRunning: get)
        get.signal(SIGTERM)
        XCTAssertEqual(get.wait(timeout: 30), 143, get.output)
        let got = localSize()
        XCTAssertTrue(get.stderr.contains("interrupted by SIGTERM: \(local) holds the first \(got) bytes"), get.output)
        XCTAssertLessThan(got, 512 << 20)
        let sourceData = try Data(contentsOf: URL(fileURLWithPath: source))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: local)), sourceData.prefix(Int(got)))

        // The server goes on; its image is clean and holds the reported prefix.
        XCTAssertEqual(try Husk.run(["fs", "mkdir", "--socket", socket, "/after"]).status, 0)
        server.signal(SIGTERM)
        XCTAssertEqual(server.wait(timeout: 30), 0, server.output)
        let fsck = try runTool(try Ext2fsComponentTests.tool("e2fsck"), ["-fn", image])
        XCTAssertEqual(fsck.status, 0, fsck.output)
        let dump = try runTool(try Ext2fsComponentTests.tool("debugfs"), ["-R", "dump /big \(dir)/dumped.bin", image])
        XCTAssertEqual(dump.status, 0, dump.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/dumped.bin")), sourceData.prefix(Int(held)))
    }

    /// Poll `condition` every 5 ms; fail if `process` ends first (it was
    /// too fast to interrupt) or after 60 s.
    func waitUntil(_ what: String, _ condition: () throws -> Bool, whileRunning process: ChildProcess) throws {
        let end = Date().addingTimeInterval(60)
        while try !condition() {
            guard process.process.isRunning else { throw TestFailure("\(what): it ended first\n\(process.output)") }
            guard Date() < end else { throw TestFailure("\(what): timed out\n\(process.output)") }
            usleep(5000)
        }
    }
}
