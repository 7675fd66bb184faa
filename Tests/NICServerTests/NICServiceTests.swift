import Foundation
import Glibc
import GlueAPI
import HuskHost
import HuskTestSupport
import HypercallABI
import NICClient
import NICServer
import RPCClient
import RPCInterfaces
import RPCServer
import RPCWire
import XCTest

/// The NIC server's semantics (docs/nic.md) with the real RPC server and
/// client over a socket, above a provider the test controls: ports and
/// their exclusivity, both directions on a monitor, counters, the checks on
/// what a client sends, bounded queues, link changes, dead clients.
final class NICServiceTests: XCTestCase {
    private var host: ComponentHost!
    private var provider: TestProvider!
    private var service: NICService!
    private var server: RPCServer!
    private var client: NICServerClient!
    private var socket = ""

    override func setUpWithError() throws {
        let dir = try scratchDirectory(self, prefix: "nicsvc")
        // The host binds the glue to a real hypercall table (posix backend).
        host = ComponentHost(backend: try BackendFactory.make(name: "posix", devices: []))
        provider = TestProvider(name: "t\(getpid() % 10000)")
        XCTAssertEqual(provider.register(), HUSK_OK)
        service = try NICService(interfaces: [ifname])
        server = RPCServer(configuration: RPCServer.Configuration(name: "nic-test"), handlers: [NicDispatcher(service)])
        socket = dir + "/nic.sock"
        try server.listen(path: socket)
        client = try NICServerClient(socket: socket)
    }

    override func tearDown() {
        client?.rpc.close()
        server?.shutdown(deadline: 1)
        service?.shutdown()
        provider?.unregister()
        XCTAssertEqual(provider?.lent.withLock { $0 } ?? 0, 0, "every lent frame came back to the provider")
        host?.shutdown()
    }

    private var ifname: String { "t\(getpid() % 10000)" }

    private func counters(_ port: NICPort) throws -> [Nic.Counter: UInt64] {
        Dictionary(uniqueKeysWithValues: zip(Nic.Counter.allCases, try port.stats()))
    }

    func testStackAndMonitorPortsSeeWhatTheyShould() throws {
        XCTAssertEqual(try client.interfaces(), [ifname])
        let stack = try client.open(ifname, monitor: false)
        defer { stack.close() }
        let monitor = try client.open(ifname, monitor: true)
        defer { monitor.close() }
        XCTAssertEqual(stack.mac, [0x52, 0x54, 0, 0xab, 0xcd, 0xef])
        XCTAssertEqual(stack.mtu, 1500)
        XCTAssertEqual(try stack.link(), NETIF_LINK_UP)

        let out = [TestProvider.frame(60, seed: 1), TestProvider.frame(1514, seed: 2), TestProvider.frame(1518, seed: 3)]
        XCTAssertEqual(try stack.send(out), 3)
        XCTAssertEqual(provider.transmitted.withLock { $0 }, out, "the driver got the frames byte for byte, in order")
        let incoming = TestProvider.frame(98, seed: 9)
        XCTAssertEqual(provider.deliver(incoming), HUSK_OK)

        let got = try stack.receive(timeoutMs: 2000)
        XCTAssertEqual(got.frames.map(\.bytes), [incoming], "the stack port receives, and does not see its own sends")
        XCTAssertEqual(got.frames.first?.flags, 0)
        var seen: [NICPort.Frame] = []
        XCTAssertTrue(
            waitUntil(5) {
                seen += (try? monitor.receive(timeoutMs: 200).frames) ?? []
                return seen.count >= 4
            })
        XCTAssertEqual(seen.map(\.bytes), out + [incoming], "the monitor sees both directions in order")
        XCTAssertEqual(seen.map(\.flags), [1, 1, 1, 0])
        let now = UInt64(Date().timeIntervalSince1970 * 1e9)
        XCTAssertTrue(seen.allSatisfy { $0.time <= now && now - $0.time < 60_000_000_000 }, "wall-clock capture times")

        let c = try counters(stack)
        XCTAssertEqual(c[.txFrames], 3)
        XCTAssertEqual(c[.txBytes], UInt64(60 + 1514 + 1518))
        XCTAssertEqual(c[.rxFrames], 1)
        XCTAssertEqual(c[.rxBytes], 98)
        XCTAssertEqual(c[.txErrors], 0)

        // One stack port at a time; monitors are unlimited.
        XCTAssertThrowsError(try client.open(ifname, monitor: false)) { e in
            XCTAssertEqual((e as? RPCError)?.status, RPCStatus.busy, "\(e)")
        }
        let second = try client.open(ifname, monitor: true)
        second.close()
    }

    /// Whatever a client puts in a send, the driver sees nothing unless
    /// every frame is well formed; the errors are the documented ones.
    func testMalformedRequestsAreRefusedWhole() throws {
        let nic = NicClient(client.rpc)
        XCTAssertThrowsError(try nic.open(name: ifname, mode: 3)) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval) }
        XCTAssertThrowsError(try nic.open(name: "nosuch", mode: 1)) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.noent) }
        XCTAssertThrowsError(try nic.getInfo()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.badf, "not on a port") }

        let fd = try nic.open(name: ifname, mode: 1).port
        let conn = try RPCClient.adopt(fd: fd, require: [(Nic.interfaceID, Nic.interfaceVersion)], parent: client.rpc)
        defer { conn.close() }
        let port = NicClient(conn)
        let window = try conn.registerSharedMemory(size: 8192)
        let ref = window.ref(offset: 0, length: 4096)
        for (lengths, why) in [
            ([], "no frame"), ([13], "shorter than a header"), ([1519], "longer than 18 + MTU"),
            ([1500, 1500, 1500], "more bytes than the region"),
            ([UInt32](repeating: 60, count: 257), "more than 256 frames"), ([60, 0], "a zero-length frame after a good one")
        ] as [([UInt32], String)] {
            XCTAssertThrowsError(try port.send(frames: ref, lengths: lengths), why) {
                XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval, why)
            }
        }
        XCTAssertThrowsError(try port.send(frames: window.ref(offset: 8000, length: 1000), lengths: [1000]), "outside the region") {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.fault)
        }
        XCTAssertEqual(provider.transmitted.withLock { $0.count }, 0, "nothing reached the driver")
        XCTAssertThrowsError(try port.receive(frames: window.ref(offset: 0, length: 1000), timeoutMs: 0), "region smaller than a frame") {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval)
        }
        XCTAssertThrowsError(try port.receive(frames: ref, timeoutMs: 60_001), "timeout too long") {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval)
        }
        XCTAssertEqual(try port.receive(frames: ref, timeoutMs: 0).lengths, [], "nothing waiting, no wait")
        _ = try port.close()
        XCTAssertThrowsError(try port.stats()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.badf, "closed port") }

        let monitor = try client.open(ifname, monitor: true)
        defer { monitor.close() }
        XCTAssertThrowsError(try monitor.send([TestProvider.frame(60, seed: 0)])) {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.badf, "a monitor cannot send")
        }
    }

    /// A port that does not read loses the newest frames beyond its queue,
    /// counted; the driver gets every buffer back at once regardless.
    func testAFullQueueDropsAndCounts() throws {
        let stack = try client.open(ifname, monitor: false)
        defer { stack.close() }
        let extra = 76
        for i in 0..<(Nic.Limits.queueFrames + extra) {
            XCTAssertEqual(provider.deliver(TestProvider.frame(64, seed: UInt8(truncatingIfNeeded: i))), HUSK_OK)
        }
        XCTAssertEqual(provider.lent.withLock { $0 }, 0, "no driver buffer is held by the server")
        XCTAssertEqual(try counters(stack)[.rxQueueFull], UInt64(extra))
        var frames: [[UInt8]] = []
        while true {
            let got = try stack.receive(timeoutMs: 0).frames
            if got.isEmpty { break }
            frames += got.map(\.bytes)
        }
        XCTAssertEqual(frames.count, Nic.Limits.queueFrames)
        XCTAssertEqual(frames.first, TestProvider.frame(64, seed: 0), "the oldest frames are kept")
        XCTAssertEqual(frames.last, TestProvider.frame(64, seed: UInt8(truncatingIfNeeded: Nic.Limits.queueFrames - 1)))
    }

    func testALinkChangeWakesAWaitingReceive() throws {
        let stack = try client.open(ifname, monitor: false)
        defer { stack.close() }
        let start = Date()
        let provider = self.provider!
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { provider.setLink(false) }
        let got = try stack.receive(timeoutMs: 20_000)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "the receive returned on the link change, not at its timeout")
        XCTAssertEqual(got.frames.count, 0)
        XCTAssertEqual(got.link, NETIF_LINK_DOWN)
        XCTAssertEqual(try stack.link(), NETIF_LINK_DOWN)
        XCTAssertEqual(try counters(stack)[.linkChanges], 1)
    }

    /// A stack that vanishes without closing its port frees the interface.
    func testADeadClientFreesTheStackPort() throws {
        let other = try NICServerClient(socket: socket)
        let stack = try other.open(ifname, monitor: false)
        XCTAssertThrowsError(try client.open(ifname, monitor: false))
        stack.rpc.close()  // the port's connection goes without nic.close
        other.rpc.close()
        var reopened: NICPort?
        XCTAssertTrue(
            waitUntil(5) {
                reopened = try? self.client.open(self.ifname, monitor: false)
                return reopened != nil
            })
        reopened?.close()
        XCTAssertEqual(provider.deliver(TestProvider.frame(60, seed: 5)), HUSK_OK)
        XCTAssertEqual(provider.lent.withLock { $0 }, 0)
    }
}
