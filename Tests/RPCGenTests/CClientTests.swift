import Foundation
import HuskTestSupport
import XCTest

@testable import RPCGen

/// The generated C client and the C runtime (Sources/RPC/ClientC), compiled
/// outside SwiftPM with the package's C flags and run against a real
/// `husk echo serve` process over a real socket.
final class CClientTests: XCTestCase {
    static let flags = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]

    static var cc: String {
        for c in ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/bin/cc", "/usr/bin/gcc"]
        where FileManager.default.isExecutableFile(atPath: c) { return c }
        return "cc"
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The C program that drives the generated echo client (a fixture, not
    /// built by SwiftPM: compiled here with the runtime).
    static var checkProgram: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/echo_client_check.c").path
    }

    private func scratch() throws -> URL { try scratchURL(self) }

    /// Build the check program with the runtime and the generated echo client.
    private func buildCheck(in dir: URL) throws -> String {
        let root = Husk.packageRoot.appendingPathComponent("Sources/RPC/ClientC").path
        let sources =
            try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".c") }.map { root + "/" + $0 }
            + FileManager.default.contentsOfDirectory(atPath: root + "/generated").filter { $0.hasSuffix(".c") }.map {
                root + "/generated/" + $0
            }
        let out = dir.appendingPathComponent("check").path
        let r = try runTool(
            Self.cc,
            Self.flags + ["-I", root + "/include", "-I", root + "/generated"] + sources.sorted()
                + [Self.checkProgram, "-o", out, "-lpthread"], timeout: 120)
        guard r.status == 0 else { throw Failure(description: "compiling the C client failed:\n\(r.output)") }
        return out
    }

    /// The public header and a generated header compile on their own in strict C11 and as C++.
    func testHeadersCompileStandalone() throws {
        let dir = try scratch()
        let root = Husk.packageRoot.appendingPathComponent("Sources/RPC/ClientC").path
        let unit = dir.appendingPathComponent("h.c")
        try
            "#include \"husk_rpc_echo.h\"\nint main(void) { struct husk_rpc_requirement r = HUSK_ECHO_REQUIREMENT; return (int)r.interface - 1; }\n"
            .write(to: unit, atomically: true, encoding: .utf8)
        let r = try runTool(
            Self.cc,
            [
                "-std=c11", "-pedantic", "-Wall", "-Wextra", "-Werror", "-I", root + "/include", "-I", root + "/generated",
                "-fsyntax-only", unit.path
            ])
        XCTAssertEqual(r.status, 0, r.output)
    }

    /// C generated for every type compiles without warnings (echo.idl does not use them all).
    func testGeneratedCForEveryTypeCompiles() throws {
        let dir = try scratch()
        let idl = """
            interface all_types id 100 version 2
              op 1 scalars(a: u8, b: u16, c: u32, d: u64, e: i32, f: i64, g: bool) -> (h: u8, i: u16, j: u32, k: u64, l: i32, m: i64, n: bool)
              op 2 blobs(a: bytes, b: string, c: shm, d: fd, e: fd) -> (f: bytes, g: string, h: shm, i: fd, j: fd)
              op 3 arrays(a: [u8], b: [u16], c: [u32], d: [u64], e: [i32], f: [i64]) -> (g: [u8], h: [u16], i: [u32], j: [u64], k: [i32], l: [i64]) idempotent
              op 4 nothing() -> ()
            end
            """
        let out = try Generator.generate([(name: "all_types.idl", text: idl)])
        try Generator.write(out.c, into: dir.path, generatedSuffixes: [".h", ".c"])
        let root = Husk.packageRoot.appendingPathComponent("Sources/RPC/ClientC").path
        let r = try runTool(
            Self.cc,
            Self.flags + [
                "-I", root + "/include", "-I", dir.path, "-c",
                dir.appendingPathComponent("husk_rpc_all_types.c").path,
                "-o", dir.appendingPathComponent("all.o").path
            ])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(out.swift["AllTypes.swift"]?.contains("public protocol AllTypesService: Sendable") == true)
    }

    private var servers = 0
    private func startServer(socket: String) throws -> ChildProcess {
        servers += 1
        let dir = URL(fileURLWithPath: socket).deletingLastPathComponent().path
        return try ChildProcess.huskServer(self, ["echo", "serve", "--socket", socket], dir: dir, tag: "server\(servers)")
    }

    func testGeneratedCClientAgainstRealServer() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        let socket = dir.appendingPathComponent("echo.sock").path
        _ = try startServer(socket: socket)
        let r = try runTool(check, [socket, "basic"], timeout: 90)
        XCTAssertEqual(r.status, 0, r.output)
        for line in [
            "OK echo", "OK whoami", "OK stat", "OK shm", "OK raise", "OK open", "OK errors", "OK cancel EINTR",
            "OK signal-cancel EINTR", "OK signal-restart", "OK negotiation", "ALL OK",
            "version mismatch: interface 1 version 2 not offered by server 'echo': it has version 1"
        ] {
            XCTAssertTrue(r.stdout.contains(line), "missing '\(line)' in:\n\(r.output)")
        }
    }

    func testServerDeathFailsPendingCallWithECONNRESET() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        let socket = dir.appendingPathComponent("echo.sock").path
        let server = try startServer(socket: socket)
        let outPath = dir.appendingPathComponent("death.out").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: check)
        client.arguments = [socket, "death"]
        client.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        client.standardError = client.standardOutput
        try client.run()
        addTeardownBlock {
            if client.isRunning {
                kill(client.processIdentifier, SIGKILL)
                client.waitUntilExit()
            }
        }
        var deadline = Date().addingTimeInterval(20)
        while !((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "").contains("READY") {
            guard client.isRunning, Date() < deadline else { return XCTFail("client never became ready") }
            usleep(20_000)
        }
        usleep(300_000)  // let the sleep call reach the server
        server.kill9()
        deadline = Date().addingTimeInterval(20)
        while client.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(client.isRunning, "the pending call did not fail after the server died")
        client.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        XCTAssertEqual(client.terminationStatus, 0, out)
        XCTAssertTrue(out.contains("OK death"), out)
    }

    /// The C client with reconnect enabled across a server restart (SIGKILL,
    /// a new server on the same path): mirrors the Swift client's
    /// RPCSignalTests.testReconnectRetriesOnlyIdempotentCallsAndStaleHandles.
    func testReconnectRetriesOnlyIdempotentCallsAndStaleHandles() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        let socket = dir.appendingPathComponent("echo.sock").path
        var server = try startServer(socket: socket)
        let outPath = dir.appendingPathComponent("reconnect.out").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: check)
        client.arguments = [socket, "reconnect"]
        let input = Pipe()
        client.standardInput = input
        client.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        client.standardError = client.standardOutput
        try client.run()
        addTeardownBlock {
            if client.isRunning {
                kill(client.processIdentifier, SIGKILL)
                client.waitUntilExit()
            }
        }
        func output() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        func waitFor(_ word: String) -> Bool {
            let deadline = Date().addingTimeInterval(20)
            while !output().contains(word + "\n") {
                guard client.isRunning, Date() < deadline else { return false }
                usleep(10_000)
            }
            return true
        }
        func tell(_ word: String) { input.fileHandleForWriting.write(Data((word + "\n").utf8)) }

        guard waitFor("READY") else { return XCTFail("client never became ready:\n\(output())") }
        kill(server.pid, SIGSTOP)
        // kill() returns before every thread of the server has stopped: wait for all of them.
        guard waitUntilStopped(server.pid) else { return XCTFail("the server did not stop") }
        tell("stopped")
        guard waitFor("SENT") else { return XCTFail("no SENT:\n\(output())") }
        server.kill9()
        try? FileManager.default.removeItem(atPath: socket)  // so that startServer waits for the new one
        tell("killed")
        guard waitFor("RESET") else { return XCTFail("no RESET:\n\(output())") }
        usleep(200_000)  // the idempotent stat is retrying to connect meanwhile
        server = try startServer(socket: socket)
        tell("restarted")
        let deadline = Date().addingTimeInterval(40)
        while client.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(client.isRunning, "the client did not finish:\n\(output())")
        client.waitUntilExit()
        let out = output()
        XCTAssertEqual(client.terminationStatus, 0, out)
        XCTAssertTrue(out.contains("OK reconnect"), out)
        XCTAssertTrue(out.contains("ALL OK"), out)
        _ = server
    }
}
