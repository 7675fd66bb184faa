import Foundation
import XCTest

/// docs/protocol.md claims a client can be written from it alone in another
/// language: Tests/ProtocolClient/echo_client.py is such a client (Python
/// standard library, no Husk code), run here against a real server process.
final class ProtocolFromSpecTests: XCTestCase {
    func testAPythonClientWrittenFromTheSpecTalksToTheServer() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let script = Husk.packageRoot.appendingPathComponent("Tests/ProtocolClient/echo_client.py").path
        let client = try runTool("/usr/bin/python3", [script, server.socket], timeout: 60)
        XCTAssertEqual(client.status, 0, client.output)
        let lines = client.stdout.split(separator: "\n").map(String.init)
        for check in [
            "hello", "echo.ping", "echo.echo", "echo.whoami", "unknown operation", "control.ping",
            "control.register_shm", "echo.checksum", "shm outside the region"
        ] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("\(check): ok") }, "\(check) in:\n\(client.stdout)")
        }
    }
}
