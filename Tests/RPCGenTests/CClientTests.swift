import Foundation
import HuskTestSupport
import XCTest

@testable import RPCGen

/// The generated C client and the C runtime (Sources/RPC/ClientC), compiled
/// outside SwiftPM with the package's C flags and run against a real
/// `husk echo serve` process over a real socket.
final class CClientTests: XCTestCase {
    static let flags = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"]

    /// The C program that drives the generated echo client (a fixture, not
    /// built by SwiftPM: compiled here with the runtime).
    static var checkProgram: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/echo_client_check.c").path
    }

    private func scratch() throws -> URL { try scratchURL(self) }

    /// Build the check program (default: the echo one) with the runtime and the generated clients.
    private func buildCheck(in dir: URL, program: String = CClientTests.checkProgram) throws -> String {
        let root = Husk.packageRoot.appendingPathComponent("Sources/RPC/ClientC").path
        let sources =
            try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasSuffix(".c") }.map { root + "/" + $0 }
            + FileManager.default.contentsOfDirectory(atPath: root + "/generated").filter { $0.hasSuffix(".c") }.map {
                root + "/generated/" + $0
            }
        let out = dir.appendingPathComponent("check").path
        let r = try runTool(
            cCompiler,
            Self.flags + ["-I", root + "/include", "-I", root + "/generated"] + sources.sorted()
                + [program, "-o", out, "-lpthread"], timeout: 120)
        guard r.status == 0 else { throw TestFailure("compiling the C client failed:\n\(r.output)") }
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
            cCompiler,
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
            cCompiler,
            Self.flags + [
                "-I", root + "/include", "-I", dir.path, "-c",
                dir.appendingPathComponent("husk_rpc_all_types.c").path,
                "-o", dir.appendingPathComponent("all.o").path
            ])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(out.swift["AllTypes.swift"]?.contains("public protocol AllTypesService: Sendable") == true)
    }

    func testGeneratedCClientAgainstRealServer() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        let server = try EchoServerProcess(self, dir: dir.path)
        let r = try runTool(check, [server.socket, "basic"], timeout: 90)
        XCTAssertEqual(r.status, 0, r.output)
        for line in [
            "OK echo", "OK whoami", "OK stat", "OK shm", "OK raise", "OK open", "OK errors", "OK cancel EINTR",
            "OK signal-cancel EINTR", "OK signal-restart", "OK negotiation", "ALL OK",
            "version mismatch: interface 1 version 2 not offered by server 'echo': it has version 1"
        ] {
            XCTAssertTrue(r.stdout.contains(line), "missing '\(line)' in:\n\(r.output)")
        }
    }

    /// The block queue from C: the generated husk_blk_queue_setup and
    /// husk/blk_queue.h against a `husk blk serve --image` process; what the
    /// program wrote and flushed is in the image.
    func testBlockQueueFromC() throws {
        let dir = try scratch()
        let program = URL(fileURLWithPath: Self.checkProgram).deletingLastPathComponent().appendingPathComponent("blk_queue_check.c")
        let check = try buildCheck(in: dir, program: program.path)
        let image = TempImage(bytes: 1 << 20)
        let socket = dir.appendingPathComponent("blk.sock").path
        _ = try ChildProcess.huskServer(self, ["blk", "serve", "--image", image.path, "--socket", socket], dir: dir.path, tag: "blk")
        let r = try runTool(check, [socket], timeout: 60)
        XCTAssertEqual(r.status, 0, r.output)
        for line in ["OK setup", "OK writes and flush", "OK reads", "OK per-entry status", "ALL OK"] {
            XCTAssertTrue(r.stdout.contains(line), "missing '\(line)' in:\n\(r.output)")
        }
        for i in 0..<16 {
            let want = (0..<4096).map { UInt8((i * 7 + $0) & 0xff) }
            XCTAssertEqual(image.contents(offset: i * 8192, count: 4096), want, "block \(i) in the image")
        }
    }

    /// The check program in `mode` against the server on `socket`, killed at
    /// the test's teardown at the latest.
    private func startCheck(_ check: String, _ mode: String, socket: String, input: Bool = false) throws -> ChildProcess {
        let dir = URL(fileURLWithPath: socket).deletingLastPathComponent().path
        let client = try ChildProcess(check, [socket, mode], dir: dir, tag: mode, input: input)
        addTeardownBlock { client.kill9() }
        return client
    }

    func testServerDeathFailsPendingCallWithECONNRESET() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        let server = try EchoServerProcess(self, dir: dir.path)
        let client = try startCheck(check, "death", socket: server.socket)
        try client.waitForOutput("READY")
        usleep(300_000)  // let the sleep call reach the server
        server.kill9()
        let status = client.wait(timeout: 20)
        XCTAssertNotNil(status, "the pending call did not fail after the server died")
        XCTAssertEqual(status, 0, client.output)
        XCTAssertTrue(client.stdout.contains("OK death"), client.output)
    }

    /// The C client with reconnect enabled across a server restart (SIGKILL,
    /// a new server on the same path): mirrors the Swift client's
    /// RPCSignalTests.testReconnectRetriesOnlyIdempotentCallsAndStaleHandles.
    func testReconnectRetriesOnlyIdempotentCallsAndStaleHandles() throws {
        let dir = try scratch()
        let check = try buildCheck(in: dir)
        var server = try EchoServerProcess(self, dir: dir.path)
        let client = try startCheck(check, "reconnect", socket: server.socket, input: true)
        try client.waitForOutput("READY\n")
        guard server.stop() else { return XCTFail("the server did not stop") }
        client.send("stopped")
        try client.waitForOutput("SENT\n")
        server.kill9()
        client.send("killed")
        try client.waitForOutput("RESET\n")
        usleep(200_000)  // the idempotent stat is retrying to connect meanwhile
        server = try EchoServerProcess(self, dir: dir.path)
        client.send("restarted")
        let status = client.wait(timeout: 40)
        XCTAssertNotNil(status, "the client did not finish:\n\(client.output)")
        XCTAssertEqual(status, 0, client.output)
        XCTAssertTrue(client.stdout.contains("OK reconnect"), client.output)
        XCTAssertTrue(client.stdout.contains("ALL OK"), client.output)
        _ = server
    }
}
