import Foundation
import Glibc
import HuskTestSupport
import NetClient
import Platform
import RPCInterfaces
import RPCWire
import XCTest

/// The net interface's watch events and dup through the Swift client
/// (NetClient), in this test process, against `husk net serve` in a
/// network namespace with socat as the kernel's peer.
final class NetClientEventTests: XCTestCase {
    private var namespace = ""
    private var dir = ""
    private var socket: String { dir + "/net.sock" }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root for network namespaces and TAP interfaces") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/socat") else { throw XCTSkip("no /usr/bin/socat (Debian socat)") }
        namespace = "husknetev\(getpid())"
        dir = try scratchDirectory(self, prefix: "husknetev")
        _ = try runTool("/usr/sbin/ip", ["netns", "del", namespace])
        XCTAssertEqual(try runTool("/usr/sbin/ip", ["netns", "add", namespace]).status, 0)
        let ns = namespace
        addTeardownBlock { _ = try? runTool("/usr/sbin/ip", ["netns", "del", ns]) }
    }

    private var inNamespace: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }

    final class Events: @unchecked Sendable {
        // @unchecked: behind `monitor`.
        let monitor = Monitor()
        var seen: [(id: UInt64, revents: UInt32)] = []
    }

    func testWatchPostsOneEventAndDupKeepsTheSocketOpen() throws {
        let server = try ChildProcess.huskServer(
            self, ["net", "serve", "--tap", "hk0", "--address", "10.77.0.2/24", "--socket", socket], dir: dir, tag: "net", via: inNamespace)
        for args in [["addr", "add", "10.77.0.1/24", "dev", "hk0"], ["link", "set", "hk0", "up"]] {
            XCTAssertEqual(try runTool("/usr/sbin/ip", ["-n", namespace] + args).status, 0)
        }
        let net = try NetServerClient(socket: socket)
        let listener = try net.socket(family: Net.Family.inet, kind: Net.Kind.stream)
        try listener.bind(NetAddress.any(family: Net.Family.inet, port: 7300))
        try listener.listen()
        let events = Events()
        listener.rpc.onEvent = { header, body in
            guard header.interface == Net.interfaceID, header.operation == Net.Operation.watch.rawValue else { return }
            let decoded: (UInt64, UInt32)? = body.withUnsafeBytes { b in
                var r = PayloadReader(b)
                guard let id = r.u64(), let revents = r.u32() else { return nil }
                return (id, revents)
            }
            if let decoded { events.monitor.withLock { events.seen.append(decoded) } }
        }
        try listener.watch(Net.Event.readable)
        usleep(200_000)
        XCTAssertTrue(events.monitor.withLock { events.seen.isEmpty }, "nothing is ready yet")
        let peer = try ChildProcess(
            inNamespace[0], Array(inNamespace.dropFirst()) + ["/bin/sh", "-c", "printf hello | /usr/bin/socat -t 5 - TCP4:10.77.0.2:7300"],
            tag: "socat")
        addTeardownBlock { peer.kill9() }
        XCTAssertTrue(waitUntil(10) { events.monitor.withLock { !events.seen.isEmpty } }, "no watch event")
        let first = events.monitor.withLock { events.seen[0] }
        XCTAssertEqual(first.id, listener.id)
        XCTAssertNotEqual(first.revents & Net.Event.readable, 0)
        let (conn, from) = try listener.accept()
        XCTAssertEqual(from.host, "10.77.0.1")
        let twin = try conn.dup()
        XCTAssertEqual(twin.id, conn.id)
        conn.close()
        // The socket lives on through the other descriptor.
        var got: [UInt8] = []
        while got.count < 5 {
            let d = try twin.recv(max: 16)
            if d.isEmpty { break }
            got += d
        }
        XCTAssertEqual(String(decoding: got, as: UTF8.self), "hello")
        usleep(200_000)
        XCTAssertEqual(events.monitor.withLock { events.seen.count }, 1, "one event per watch")
        twin.close()
        listener.close()
        net.close()
        _ = peer.wait(timeout: 10)
        let r = try server.finish(timeout: 30, signalAfter: (0, SIGTERM))
        XCTAssertEqual(r.status, 0, r.output)
    }
}
