import Foundation
import XCTest

/// docs/protocol.md claims a client can be written from it alone in another
/// language: Tests/ProtocolClient/echo_client.py is such a client (Python
/// standard library, no Husk code), run here against a real server process.
final class ProtocolFromSpecTests: XCTestCase {
    func testAPythonClientWrittenFromTheSpecTalksToTheServer() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("ProtocolClient/echo_client.py").path
        let client = try ChildProcess("/usr/bin/python3", [script, server.socket], dir: dir, tag: "python")
        XCTAssertEqual(client.wait(timeout: 60), 0, client.stdout + client.stderr)
        let lines = client.stdout.split(separator: "\n").map(String.init)
        for check in [
            "hello", "echo.ping", "echo.echo", "echo.whoami", "unknown operation", "control.ping",
            "control.register_shm", "echo.checksum", "shm outside the region"
        ] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("\(check): ok") }, "\(check) in:\n\(client.stdout)")
        }
    }
}
