import Glibc
import GlueAPI
import HypercallABI
import Synchronization
import XCTest

/// A NIC provided by the test: it records what it transmits and which lent
/// frames came back, and lends frames of its own.
final class TestNIC: @unchecked Sendable {
    // @unchecked: the recorders are Mutex-guarded; the rest is set before use.
    let sent = Mutex<[[UInt8]]>([])
    let returned = Mutex<[UInt]>([])
    var transmitStatus: Int32 = HUSK_OK
    var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> TestNIC { Unmanaged<TestNIC>.fromOpaque(p!).takeUnretainedValue() }

    static let transmit: @convention(c) (UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int32 = { priv, frame, len in
        let n = TestNIC.from(priv)
        n.sent.withLock { $0.append(Array(UnsafeRawBufferPointer(start: frame, count: len))) }
        return n.transmitStatus
    }
    static let rxReturn: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { priv, frame in
        TestNIC.from(priv).returned.withLock { $0.append(UInt(bitPattern: frame)) }
    }

    func describe(name: String, mtu: UInt32 = 1500, link: UInt32 = NETIF_LINK_UP) -> netif {
        var n = netif()
        n.name = UnsafePointer(strdup(name))
        n.info = netif_info(mac: (0x52, 0x54, 0, 0x12, 0x34, 0x56), reserved: 0, mtu: mtu, offloads: 0, link: link)
        n.transmit = TestNIC.transmit
        n.rx_return = TestNIC.rxReturn
        n.priv = arg
        return n
    }
}

/// A consumer that records the frames it receives and keeps them until told.
final class TestStack: @unchecked Sendable {
    // @unchecked: Mutex-guarded.
    let frames = Mutex<[(address: UInt, bytes: [UInt8])]>([])
    let links = Mutex<[UInt32]>([])
    var arg: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> TestStack { Unmanaged<TestStack>.fromOpaque(p!).takeUnretainedValue() }

    var consumer: netif_consumer {
        netif_consumer(
            input: { arg, frame, len in
                TestStack.from(arg).frames.withLock {
                    $0.append((UInt(bitPattern: frame), Array(UnsafeRawBufferPointer(start: frame, count: len))))
                }
            },
            link: { arg, link in TestStack.from(arg).links.withLock { $0.append(link) } },
            arg: arg)
    }
}

final class NetifRegistryTests: XCTestCase {
    /// An Ethernet frame of `len` bytes: broadcast destination, type 0x88b5
    /// (local experimental), payload bytes from `seed`.
    static func frame(_ len: Int, seed: UInt8 = 1) -> [UInt8] {
        var f = [UInt8](repeating: 0xff, count: 6) + [0x52, 0x54, 0, 0x12, 0x34, 0x56] + [0x88, 0xb5]
        f += (0..<max(0, len - 14)).map { UInt8(truncatingIfNeeded: Int($0) &+ Int(seed)) }
        return Array(f.prefix(len))
    }

    func testRegistrationRules() throws {
        let nic = TestNIC()
        try GlueHarness.run {
            var ok = nic.describe(name: "eth0")
            XCTAssertEqual(glue_netif_register(&ok), HUSK_OK)
            var twin = nic.describe(name: "eth0")
            XCTAssertEqual(glue_netif_register(&twin), HUSK_EEXIST)
            for (name, mtu, link) in [
                ("", 1500, NETIF_LINK_UP), ("a b", 1500, NETIF_LINK_UP),
                (String(repeating: "x", count: 16), 1500, NETIF_LINK_UP),
                ("tiny", 67, NETIF_LINK_UP), ("link", 1500, 7)
            ] {
                var n = nic.describe(name: name, mtu: UInt32(mtu), link: link)
                XCTAssertEqual(glue_netif_register(&n), HUSK_EINVAL, "\(name) mtu \(mtu) link \(link)")
            }
            var notx = nic.describe(name: "notx")
            notx.transmit = nil
            XCTAssertEqual(glue_netif_register(&notx), HUSK_EINVAL)
            let stack = TestStack()
            var c = stack.consumer
            var ref: OpaquePointer?
            XCTAssertEqual(glue_netif_open("nope", &c, &ref), HUSK_ENOENT)
            XCTAssertEqual(glue_netif_open("eth0", &c, &ref), HUSK_OK)
            var second: OpaquePointer?
            XCTAssertEqual(glue_netif_open("eth0", &c, &second), HUSK_EBUSY, "one consumer at a time")
            var info = netif_info()
            glue_netif_info(ref, &info)
            XCTAssertEqual(info.mtu, 1500)
            XCTAssertEqual(info.mac.0, 0x52)
            XCTAssertEqual(info.link, NETIF_LINK_UP)
            glue_netif_close(ref)
            XCTAssertEqual(glue_netif_open("eth0", &c, &second), HUSK_OK, "free again after close")
            glue_netif_close(second)
            glue_netif_unregister(&ok)
            XCTAssertEqual(glue_netif_open("eth0", &c, &ref), HUSK_ENOENT, "gone once unregistered")
        }
    }

    /// Sends are checked before the provider sees them and reach it intact;
    /// received frames are lent and come back exactly once.
    func testFramesBothWaysWithOwnership() throws {
        let nic = TestNIC(), stack = TestStack()
        try GlueHarness.run {
            var n = nic.describe(name: "eth1", mtu: 1500)
            XCTAssertEqual(glue_netif_register(&n), HUSK_OK)
            var c = stack.consumer
            var ref: OpaquePointer?
            XCTAssertEqual(glue_netif_open("eth1", &c, &ref), HUSK_OK)

            for len in [14, 60, 1514, 1518] {
                let f = Self.frame(len)
                XCTAssertEqual(f.withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, len) }, HUSK_OK, "length \(len)")
            }
            for len in [0, 13, 1519] {
                let f = Self.frame(max(len, 14))
                XCTAssertEqual(f.withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, len) }, HUSK_EINVAL, "length \(len)")
            }
            XCTAssertEqual(nic.sent.withLock { $0.map(\.count) }, [14, 60, 1514, 1518], "refused sends never reach the provider")
            XCTAssertEqual(nic.sent.withLock { $0[2] }, Self.frame(1514), "the bytes arrive unchanged")
            nic.transmitStatus = HUSK_EAGAIN
            XCTAssertEqual(Self.frame(60).withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, 60) }, HUSK_EAGAIN)

            // Receive: two frames lent, one returned at once, one held.
            let a = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
            let b = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 64)
            defer {
                a.deallocate()
                b.deallocate()
            }
            Self.frame(100, seed: 7).withUnsafeBytes { a.copyMemory(from: $0.baseAddress!, byteCount: 100) }
            Self.frame(64, seed: 9).withUnsafeBytes { b.copyMemory(from: $0.baseAddress!, byteCount: 64) }
            XCTAssertEqual(glue_netif_input(&n, a, 100), HUSK_OK)
            XCTAssertEqual(glue_netif_input(&n, b, 64), HUSK_OK)
            XCTAssertEqual(glue_netif_input(&n, b, 2000), HUSK_EINVAL, "longer than header + VLAN + MTU")
            XCTAssertEqual(stack.frames.withLock { $0.map(\.bytes) }, [Self.frame(100, seed: 7), Self.frame(64, seed: 9)])
            XCTAssertEqual(nic.returned.withLock { $0 }, [], "lent frames stay with the consumer")
            glue_netif_rx_done(ref, a)
            XCTAssertEqual(nic.returned.withLock { $0 }, [UInt(bitPattern: a)])

            // Link changes reach the consumer and the info.
            glue_netif_link(&n, NETIF_LINK_DOWN)
            var info = netif_info()
            glue_netif_info(ref, &info)
            XCTAssertEqual(info.link, NETIF_LINK_DOWN)
            XCTAssertEqual(stack.links.withLock { $0 }, [NETIF_LINK_DOWN])

            // Close gives back what the consumer still holds; later input finds no consumer.
            glue_netif_close(ref)
            XCTAssertEqual(Set(nic.returned.withLock { $0 }), [UInt(bitPattern: a), UInt(bitPattern: b)])
            XCTAssertEqual(glue_netif_input(&n, a, 100), HUSK_ENOENT, "nobody has it open")
            glue_netif_unregister(&n)
            XCTAssertEqual(glue_netif_input(&n, a, 100), HUSK_ENODEV)
        }
    }

    /// Unregister waits until the consumer returns the frames it holds;
    /// sends fail with ENODEV from the moment the provider withdraws.
    func testUnregisterWaitsForLentFrames() throws {
        let nic = TestNIC(), stack = TestStack()
        let order = Mutex<[String]>([])
        try GlueHarness.run {
            var n = nic.describe(name: "eth2")
            XCTAssertEqual(glue_netif_register(&n), HUSK_OK)
            var c = stack.consumer
            var ref: OpaquePointer?
            XCTAssertEqual(glue_netif_open("eth2", &c, &ref), HUSK_OK)
            let f = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
            defer { f.deallocate() }
            memset(f, 0xff, 64)
            XCTAssertEqual(glue_netif_input(&n, f, 64), HUSK_OK)
            let refBits = UInt(bitPattern: ref), frameBits = UInt(bitPattern: f)
            // The consumer returns the frame 200 ms later, from another thread.
            var t = pthread_t()
            final class Box: @unchecked Sendable {
                let run: () -> Void
                init(_ r: @escaping () -> Void) { run = r }
            }
            let box = Box {
                usleep(200_000)
                order.withLock { $0.append("returned") }
                glue_netif_rx_done(OpaquePointer(bitPattern: refBits), UnsafeMutableRawPointer(bitPattern: frameBits))
            }
            pthread_create(
                &t, nil,
                { raw in
                    Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().run()
                    return nil
                }, Unmanaged.passRetained(box).toOpaque())
            glue_netif_unregister(&n)
            order.withLock { $0.append("unregistered") }
            pthread_join(t, nil)
            XCTAssertEqual(order.withLock { $0 }, ["returned", "unregistered"])
            XCTAssertEqual(Self.frame(60).withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, 60) }, HUSK_ENODEV)
            glue_netif_close(ref)
        }
    }
}
