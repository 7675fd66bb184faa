import Foundation
import Glibc
import HuskTestSupport
import Sandbox
import XCTest

/// `husk echo serve` processes with the sandbox of docs/sandbox.md, checked
/// from the outside (/proc/PID/task/*/status) and from the inside (the
/// hidden --selftest-forbidden-syscall mode).
final class SandboxTests: XCTestCase {

    // MARK: pure logic

    func testEveryAllowListNameIsASystemCallHere() {
        XCTAssertEqual(Sandbox.unknownSyscalls(SyscallAllowList.rules(SyscallAllowList.server)), [])
        XCTAssertEqual(Sandbox.unknownSyscalls([.allow("no_such_call")]), ["no_such_call"])
    }

    func testTheAllowListKeepsProcessCreationAndCredentialsOut() {
        let names = Set(SyscallAllowList.rules(SyscallAllowList.server).map(\.name))
        for forbidden in [
            "execve", "execveat", "fork", "vfork", "setuid", "setresuid", "setgid", "setgroups",
            "ptrace", "open", "openat", "socket", "connect", "bind", "mount", "kill", "personality"
        ] {
            XCTAssertFalse(names.contains(forbidden), forbidden)
        }
        let rules = SyscallAllowList.rules(SyscallAllowList.server)
        XCTAssertTrue(rules.contains(.fail("clone3", ENOSYS)), "clone3 must fail with ENOSYS so that glibc falls back to clone")
        XCTAssertTrue(rules.contains(.allowArg0Bits("clone", 0x0001_0000)), "clone only for threads")
    }

    func testCredentialChoice() throws {
        XCTAssertEqual(try Credentials.choose(user: nil, group: nil, noDrop: false, euid: 0), .nobody)
        XCTAssertNil(try Credentials.choose(user: nil, group: nil, noDrop: true, euid: 0))
        XCTAssertNil(try Credentials.choose(user: nil, group: nil, noDrop: false, euid: 1000))
        XCTAssertEqual(try Credentials.choose(user: 1234, group: 5678, noDrop: false, euid: 0), Credentials(uid: 1234, gid: 5678))
        XCTAssertThrowsError(try Credentials.choose(user: 1234, group: 5678, noDrop: false, euid: 1000)) { e in
            XCTAssertTrue("\(e)".contains("only root can change its uid and gid"), "\(e)")
        }
        XCTAssertThrowsError(try Credentials.choose(user: 1234, group: nil, noDrop: false, euid: 0))
        XCTAssertThrowsError(try Credentials.choose(user: 1234, group: 1234, noDrop: true, euid: 0))
        XCTAssertThrowsError(try Credentials.choose(user: 0, group: 0, noDrop: false, euid: 0))
    }

    // MARK: real servers

    func testRootStartedServerDropsToNobodyOnEveryThread() throws {
        try Husk.requireRoot()
        let dir = try scratch()
        let server = try EchoServerProcess(self, dir: dir)
        // Calls make the worker pool start threads; they must carry the sandbox too.
        let batch = try Husk.run(["echo", "batch", "--socket", server.socket, "ping", "sleep:50", "echo:x", "open:o"], timeout: 30)
        XCTAssertEqual(batch.status, 0, batch.stderr)
        XCTAssertTrue(batch.stdout.contains("echo:x: OK x"), batch.stdout)
        let threads = taskStatuses(server.pid)
        XCTAssertGreaterThan(threads.count, 2, "server threads")
        for (tid, s) in threads {
            XCTAssertEqual(s["Uid"], "65534\t65534\t65534\t65534", "thread \(tid)")
            XCTAssertEqual(s["Gid"], "65534\t65534\t65534\t65534", "thread \(tid)")
            XCTAssertEqual(s["Groups"], "", "thread \(tid)")
            XCTAssertEqual(s["NoNewPrivs"], "1", "thread \(tid)")
            XCTAssertEqual(s["Seccomp"], "2", "thread \(tid)")
            XCTAssertEqual(s["CapEff"], "0000000000000000", "thread \(tid)")
            XCTAssertEqual(s["CapPrm"], "0000000000000000", "thread \(tid)")
        }
        // It still serves, and removes its socket file at shutdown (through the keeper:
        // the scratch directory belongs to root).
        server.child.signal(SIGTERM)
        XCTAssertEqual(server.child.wait(timeout: 15), 0, server.child.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socket), "socket file removed")
    }

    func testExplicitUserAndGroup() throws {
        try Husk.requireRoot()
        let dir = try scratch()
        let server = try EchoServerProcess(self, dir: dir, extra: ["--user", "4242", "--group", "4343"])
        for (tid, s) in taskStatuses(server.pid) {
            XCTAssertEqual(s["Uid"], "4242\t4242\t4242\t4242", "thread \(tid)")
            XCTAssertEqual(s["Gid"], "4343\t4343\t4343\t4343", "thread \(tid)")
        }
    }

    func testForbiddenSystemCallsGetENOSYS() throws {
        let dir = try scratch()
        let server = try EchoServerProcess(self, dir: dir, extra: ["--selftest-forbidden-syscall"])
        let out = server.child.stdout
        XCTAssertTrue(out.contains("sandbox-selftest personality -> ENOSYS"), out)
        XCTAssertTrue(out.contains("sandbox-selftest setresuid -> ENOSYS"), out)
        XCTAssertTrue(out.contains("sandbox-selftest fork -> ENOSYS"), out)
        XCTAssertTrue(out.contains("sandbox-selftest thread -> OK"), out)  // clone3 ENOSYS -> clone
        XCTAssertFalse(server.child.stderr.contains("blocked syscall"), "ENOSYS mode logs nothing")
        let ping = try Husk.run(["echo", "ping", "--socket", server.socket], timeout: 30)
        XCTAssertEqual(ping.status, 0, ping.stderr)
    }

    func testLogModeNamesTheCallAndAnswersENOSYS() throws {
        let dir = try scratch()
        let server = try EchoServerProcess(self, dir: dir, extra: ["--seccomp", "log", "--selftest-forbidden-syscall"])
        let out = server.child.stdout, err = server.child.stderr
        XCTAssertTrue(out.contains("sandbox-selftest personality -> ENOSYS"), out)
        XCTAssertTrue(out.contains("sandbox-selftest fork -> ENOSYS"), out)
        XCTAssertTrue(out.contains("sandbox-selftest thread -> OK"), out)
        let nr = SyscallNumber.personality
        XCTAssertTrue(err.contains("husk-sandbox: blocked syscall personality (\(nr))"), err)
        XCTAssertTrue(err.contains("husk-sandbox: blocked syscall setresuid"), err)
        XCTAssertTrue(err.contains("husk-sandbox: blocked syscall clone ("), err)
        XCTAssertFalse(err.contains("blocked syscall clone3"), "clone3 fails quietly: \(err)")
        let ping = try Husk.run(["echo", "batch", "--socket", server.socket, "ping", "echo:x", "sleep:5"], timeout: 30)
        XCTAssertEqual(ping.status, 0, ping.stderr)
        XCTAssertEqual(ping.stdout, "ping: OK\necho:x: OK x\nsleep:5: OK slept 5\n")
        for (tid, s) in taskStatuses(server.pid) { XCTAssertEqual(s["Seccomp"], "2", "thread \(tid)") }
    }

    /// The call rings (docs/protocol.md §11) are set up after the server
    /// entered the sandbox: RING_SETUP, the futex waits and wake-ups, the
    /// spin and the hang-up checks need nothing the allow-list leaves out.
    func testCallRingsInLogModeMakeNoBlockedSyscall() throws {
        let dir = try scratch()
        let server = try EchoServerProcess(self, dir: dir, extra: ["--seccomp", "log"])
        let r = try Husk.run(
            ["echo", "batch", "--socket", server.socket, "ping", "echo:x", "sleep:5", "whoami"], timeout: 30,
            via: ["/usr/bin/env", "HUSK_RPC_RING=1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("ping: OK\necho:x: OK x\nsleep:5: OK slept 5\n"), r.stdout)
        XCTAssertTrue(waitUntil(10) { server.child.stderr.contains("call rings set up") }, server.child.stderr)
        // The client has gone: the server's reader noticed without a blocked call.
        XCTAssertTrue(waitUntil(10) { server.child.stderr.contains("connection 1 closed") }, server.child.stderr)
        XCTAssertFalse(server.child.stderr.contains("blocked syscall"), server.child.stderr)
    }

    func testNoDropPrivilegesAndSeccompOff() throws {
        try Husk.requireRoot()
        let dir = try scratch()
        let keep = try EchoServerProcess(self, dir: dir, extra: ["--no-drop-privileges"], name: "keep")
        for (tid, s) in taskStatuses(keep.pid) {
            XCTAssertEqual(s["Uid"], "0\t0\t0\t0", "thread \(tid)")
            XCTAssertEqual(s["Seccomp"], "2", "thread \(tid)")
            XCTAssertEqual(s["NoNewPrivs"], "1", "thread \(tid)")
        }
        let off = try EchoServerProcess(self, dir: dir, extra: ["--seccomp", "off"], name: "off")
        for (tid, s) in taskStatuses(off.pid) {
            XCTAssertEqual(s["Uid"], "65534\t65534\t65534\t65534", "thread \(tid)")
            XCTAssertEqual(s["Seccomp"], "0", "thread \(tid)")
            // Without a TSYNC filter load, no_new_privs stays per thread: the
            // thread that entered the sandbox (and threads it starts later).
            if tid == "\(off.pid)" { XCTAssertEqual(s["NoNewPrivs"], "1", "main thread") }
        }
    }

    func testNonRootCallerAskingToDropGetsAClearError() throws {
        try Husk.requireRoot()  // to become another user first
        let dir = try scratch()
        let c = try Husk.run(
            ["echo", "serve", "--socket", "\(dir)/x.sock", "--user", "1000", "--group", "1000"], timeout: 30, via: Husk.nobody)
        XCTAssertNotEqual(c.status, 0)
        XCTAssertTrue(c.stderr.contains("cannot drop privileges to uid 1000 gid 1000: the server runs as uid 65534"), c.stderr)
        XCTAssertTrue(c.stderr.contains("only root can change its uid and gid"), c.stderr)
    }

    func testNonRootServerKeepsItsIdsAndIsFiltered() throws {
        try Husk.requireRoot()
        let dir = try scratch()
        chmod(dir, 0o777)
        let socket = "\(dir)/n.sock"
        let c = try ChildProcess.huskServer(
            self, ["echo", "serve", "--socket", socket], dir: dir, tag: "nobody-server", via: Husk.nobody)
        for (tid, s) in taskStatuses(c.pid) {
            XCTAssertEqual(s["Uid"], "65534\t65534\t65534\t65534", "thread \(tid)")
            XCTAssertEqual(s["Seccomp"], "2", "thread \(tid)")
            XCTAssertEqual(s["NoNewPrivs"], "1", "thread \(tid)")
        }
        c.signal(SIGTERM)
        XCTAssertEqual(c.wait(timeout: 15), 0, c.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    }

    // MARK: helpers

    /// A short scratch directory (sun_path), root's 0755 like RPCTests', removed afterwards.
    func scratch() throws -> String { try scratchDirectory(self, prefix: "sbx") }

    /// Key -> value of /proc/PID/task/TID/status, for every thread.
    func taskStatuses(_ pid: Int32) -> [(String, [String: String])] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.sorted().compactMap { tid in
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8) else { return nil }
            var d: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                d[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return (tid, d)
        }
    }
}

enum SyscallNumber {
    #if arch(x86_64)
        static let personality = 135
    #elseif arch(arm64)
        static let personality = 92
    #endif
}
