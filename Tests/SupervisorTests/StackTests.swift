import Foundation
import Glibc
import HuskTestSupport
import XCTest

/// `husk up` / `status` / `down` with real processes. Every process a test
/// starts has the test's scratch directory in its command line (config path
/// or socket path), so teardown kills whatever is left by scanning /proc.
final class StackTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try scratchDirectory(self, prefix: "supt")
        let d = dir
        addTeardownBlock { for pid in Self.processes(mentioning: d) { kill(pid, SIGKILL) } }
    }

    /// Pids whose command line contains `text`.
    static func processes(mentioning text: String) -> [pid_t] {
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { e -> pid_t? in
            guard let pid = pid_t(e), pid != me,
                let data = FileManager.default.contents(atPath: "/proc/\(e)/cmdline")
            else { return nil }
            if let stat = try? String(contentsOfFile: "/proc/\(e)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] == "Z"
            {
                return nil
            }  // zombie
            let cmd = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return cmd.contains(text) ? pid : nil
        }
    }

    /// Run `husk ARGS` to completion (killed after `timeout` s).
    @discardableResult
    func husk(_ args: [String], timeout: Double = 20) throws -> (status: Int32, out: String, err: String) {
        let r = try Husk.run(args, timeout: timeout)
        return (r.status, r.stdout, r.stderr)
    }

    /// `husk up` in the background; stderr (the log) in a file.
    final class Supervisor {
        let child: ChildProcess
        init(config: String, dir: String) throws {
            child = try ChildProcess(Husk.binary, ["up", "--config", config], dir: dir, tag: "up")
        }
        var process: Process { child.process }
        var log: String { child.stderr }
        func wait(timeout: Double) -> Int32? { child.wait(timeout: timeout) }
    }

    func writeConfig(_ servers: String, stopTimeout: Int = 5) -> String {
        let path = "\(dir)/stack.toml"
        let text = "[stack]\nname = \"t\(getpid())\"\nstate_dir = \"\(dir)/state\"\nstop_timeout = \(stopTimeout)\n\n" + servers
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func until(_ what: String, timeout: Double = 20, _ cond: () throws -> Bool) throws {
        guard waitUntil(timeout, { (try? cond()) == true }) else { throw TestFailure("timed out waiting for \(what)") }
    }

    struct Row { let name: String, state: String, pid: Int32?, restarts: Int, lastExit: String }

    func status(_ config: String) throws -> [String: Row] {
        let r = try husk(["status", "--config", config], timeout: 10)
        guard r.status == 0 else { throw TestFailure("status failed: \(r.err)") }
        var rows: [String: Row] = [:]
        for line in r.out.split(separator: "\n").dropFirst(2) {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 6 else { continue }
            rows[f[0]] = Row(
                name: f[0], state: f[1], pid: Int32(f[2]), restarts: Int(f[3]) ?? -1,
                lastExit: f[5...].joined(separator: " "))
        }
        return rows
    }

    func ping(_ socket: String) throws -> Bool {
        let r = try husk(["echo", "ping", "--socket", socket], timeout: 10)
        return r.status == 0 && r.out.hasPrefix("pong")
    }

    // MARK: tests

    func testBadConfigIsReportedWithLine() throws {
        let path = "\(dir)/bad.toml"
        _ = FileManager.default.createFile(atPath: path, contents: Data("[stack]\nname = \"x\"\nflavour = 1\n".utf8))
        let r = try husk(["up", "--config", path], timeout: 10)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("\(path):3: unknown key `flavour`"), r.err)
        let h = try husk(["up", "--help"], timeout: 10)
        XCTAssertTrue(h.out.contains("[server.echo-a]"), h.out)
    }

    func testTwoServerStackRestartAndDown() throws {
        let a = "\(dir)/a.sock", b = "\(dir)/b.sock"
        let config = writeConfig(
            """
            [server.a]
            kind = "echo"
            socket = "\(a)"
            restart = "on-failure"

            [server.b]
            kind = "echo"
            socket = "\(b)"
            args = ["--workers", "4"]

            """)
        let up = try Supervisor(config: config, dir: dir)
        defer { if up.process.isRunning { kill(up.process.processIdentifier, SIGKILL) } }
        try until("both servers answer") { try ping(a) && ping(b) }

        let before = try status(config)
        let pidA = try XCTUnwrap(before["a"]?.pid), pidB = try XCTUnwrap(before["b"]?.pid)
        XCTAssertEqual(before["a"]?.state, "running")
        XCTAssertEqual(before["b"]?.restarts, 0)

        XCTAssertEqual(kill(pidA, SIGKILL), 0)
        var st = stat()
        XCTAssertEqual(lstat(a, &st), 0, "the socket path stays while the server is down")
        try until("a restarted") {
            let s = try status(config)
            return s["a"]?.state == "running" && s["a"]?.restarts == 1 && s["a"]?.pid != pidA
        }
        let after = try status(config)
        XCTAssertEqual(after["a"]?.lastExit, "killed by signal 9 (SIGKILL)")
        XCTAssertNotEqual(after["a"]?.pid, pidA)
        XCTAssertEqual(after["b"]?.pid, pidB, "the other server never went down")
        XCTAssertEqual(after["b"]?.restarts, 0)
        XCTAssertTrue(try ping(a), "a new client is served through the same path")
        let call = try husk(["echo", "call", "--socket", a, "--data", "again"], timeout: 10)
        XCTAssertEqual(call.out, "again\n")
        XCTAssertTrue(try ping(b))
        XCTAssertTrue(up.log.contains("server a (pid \(pidA)) killed by signal 9 (SIGKILL)"), up.log)

        let down = try husk(["down", "--config", config], timeout: 30)
        XCTAssertEqual(down.status, 0, down.err)
        XCTAssertEqual(up.wait(timeout: 10), 0, up.log)
        XCTAssertEqual(Self.processes(mentioning: dir), [], "no process left")
        XCTAssertNotEqual(lstat(a, &st), 0, "socket a removed")
        XCTAssertNotEqual(lstat(b, &st), 0, "socket b removed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/state"), "state directory removed")
        let gone = try husk(["status", "--config", config], timeout: 10)
        XCTAssertEqual(gone.status, 1)
    }

    /// A block server as a stack member: what a client wrote and flushed is
    /// served again by the instance the supervisor starts after a SIGKILL,
    /// on the same socket path.
    func testBlockServerKindSurvivesARestart() throws {
        let image = "\(dir)/disk.img"
        XCTAssertTrue(FileManager.default.createFile(atPath: image, contents: Data(count: 1 << 20)))
        let socket = "\(dir)/blk.sock"
        let config = writeConfig(
            """
            [server.disk]
            kind = "blk"
            socket = "\(socket)"
            args = ["--image", "\(image)"]

            """)
        let up = try Supervisor(config: config, dir: dir)
        defer { if up.process.isRunning { kill(up.process.processIdentifier, SIGKILL) } }
        try until("the block server answers") { try husk(["blk", "info", "--socket", socket], timeout: 10).status == 0 }
        let block = String(String(repeating: "husk up restarted the block server; ", count: 20).prefix(512))
        let data = "\(dir)/block.txt"
        XCTAssertTrue(FileManager.default.createFile(atPath: data, contents: Data(block.utf8)))
        let write = try runTool("/bin/sh", ["-c", "\"$0\" blk write --socket \"$1\" --offset 4096 < \"$2\"", Husk.binary, socket, data])
        XCTAssertEqual(write.status, 0, write.output)
        guard let pid = try status(config)["disk"]?.pid else { throw TestFailure("no pid for disk: \(up.log)") }
        kill(pid, SIGKILL)
        try until("a new instance") { try status(config)["disk"]?.pid.map { $0 != pid } == true }
        let read = try husk(["blk", "read", "--socket", socket, "--offset", "4096", "--length", "512"], timeout: 20)
        XCTAssertEqual(read.status, 0, read.err)
        XCTAssertEqual(read.out, block, "the new instance serves what was written and flushed before the kill")
        kill(up.process.processIdentifier, SIGTERM)
        XCTAssertEqual(up.wait(timeout: 20), 0, up.log)
        XCTAssertEqual(Self.processes(mentioning: dir), [])
    }

    func testCrashLoopBacksOff() throws {
        let ok = "\(dir)/ok.sock"
        let config = writeConfig(
            """
            [server.crash]
            kind = "echo"
            socket = "\(dir)/crash.sock"
            args = ["--workers", "0"]
            restart = "always"

            [server.ok]
            kind = "echo"
            socket = "\(ok)"

            """)
        let up = try Supervisor(config: config, dir: dir)
        defer { if up.process.isRunning { kill(up.process.processIdentifier, SIGKILL) } }
        // 100 + 200 + 400 + 800 ms of delays: at least 4 restarts scheduled.
        try until("four restarts", timeout: 30) { up.log.components(separatedBy: "server crash (pid").count - 1 >= 5 }
        let lines = up.log.split(separator: "\n").filter { $0.contains("server crash (pid") && $0.contains("exited with status") }
        let delays = lines.compactMap { l -> Int? in
            guard let r = l.range(of: " in "), let ms = l[r.upperBound...].split(separator: " ").first else { return nil }
            return Int(ms)
        }
        XCTAssertGreaterThanOrEqual(delays.count, 4, up.log)
        XCTAssertEqual(Array(delays.prefix(4)), [100, 200, 400, 800], up.log)
        // Timestamps (loosely): the gap before the 4th start is larger than before the 2nd.
        let starts = up.log.split(separator: "\n").filter { $0.contains("server crash started") }.compactMap { l -> Double? in
            guard let o = l.firstIndex(of: "["), let c = l.firstIndex(of: "]") else { return nil }
            return Double(l[l.index(after: o)..<c])
        }
        XCTAssertGreaterThanOrEqual(starts.count, 4)
        if starts.count >= 4 { XCTAssertGreaterThan(starts[3] - starts[2], starts[1] - starts[0], up.log) }
        XCTAssertTrue(try ping(ok), "the healthy server is unaffected")
        let s = try status(config)
        XCTAssertEqual(s["crash"]?.lastExit, "exited with status 64")
        XCTAssertGreaterThanOrEqual(s["crash"]?.restarts ?? 0, 3)

        kill(up.process.processIdentifier, SIGTERM)
        XCTAssertEqual(up.wait(timeout: 20), 0, up.log)
        XCTAssertEqual(Self.processes(mentioning: dir), [])
        var st = stat()
        XCTAssertNotEqual(lstat(ok, &st), 0)
    }

    func testSecondSupervisorIsRefused() throws {
        let config = writeConfig("[server.a]\nkind = \"echo\"\nsocket = \"\(dir)/a.sock\"\n")
        let up = try Supervisor(config: config, dir: dir)
        defer { if up.process.isRunning { kill(up.process.processIdentifier, SIGKILL) } }
        try until("a answers") { try ping("\(dir)/a.sock") }
        let second = try husk(["up", "--config", config], timeout: 10)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.err.contains("already running"), second.err)
        XCTAssertTrue(try ping("\(dir)/a.sock"), "the running stack is untouched")
        XCTAssertEqual(try husk(["down", "--state-dir", "\(dir)/state"], timeout: 30).status, 0)
        XCTAssertEqual(up.wait(timeout: 10), 0)
        XCTAssertEqual(Self.processes(mentioning: dir), [])
    }
}
