import Glibc
import RPCClientC
import XCTest

/// The ring core (husk/rpc_ring.h, docs/protocol.md §11) in one process: a
/// client and a server view over one anonymous shared mapping.
final class RingCoreTests: XCTestCase {
    let slots: UInt32 = 4, slotSize: UInt32 = 128
    var base: UnsafeMutableRawPointer!
    var size = 0
    var client = husk_ring()
    var server = husk_ring()

    override func setUpWithError() throws {
        size = Int(husk_ring_size(slots, slotSize))
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw XCTSkip("mmap")
        }
        base = p
        XCTAssertEqual(husk_ring_init(&client, base, size, slots, slotSize, 0), 0)
        XCTAssertEqual(husk_ring_init(&server, base, size, slots, slotSize, 1), 0)
        husk_ring_activate(&client)
        husk_ring_activate(&server)
    }
    override func tearDown() { munmap(base, size) }

    func send(_ r: inout husk_ring, _ bytes: [UInt8], kind: UInt32 = HUSK_RING_KIND_INLINE) -> Int32 {
        bytes.withUnsafeBytes { husk_ring_send(&r, kind, $0.baseAddress, $0.count, nil, 0) }
    }
    func receive(_ r: inout husk_ring) -> (Int32, [UInt8], String) {
        var buf = [UInt8](repeating: 0, count: Int(slotSize))
        var kind: UInt32 = 0, len: UInt32 = 0
        var why: UnsafePointer<CChar>? = nil
        let rc = buf.withUnsafeMutableBytes { husk_ring_receive(&r, $0.baseAddress, $0.count, &kind, &len, &why) }
        return (rc, Array(buf.prefix(Int(len))), why.map { String(cString: $0) } ?? "")
    }
    func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> { (base + offset).assumingMemoryBound(to: UInt32.self) }

    func testParameters() {
        XCTAssertEqual(husk_ring_params_valid(64, 4096), 1)
        XCTAssertEqual(husk_ring_params_valid(6, 4096), 0, "not a power of two")
        XCTAssertEqual(husk_ring_params_valid(1, 4096), 0)
        XCTAssertEqual(husk_ring_params_valid(2048, 4096), 0)
        XCTAssertEqual(husk_ring_params_valid(8, 100), 0, "not a multiple of 64")
        XCTAssertEqual(husk_ring_params_valid(8, 131072), 0)
        var r = husk_ring()
        XCTAssertEqual(husk_ring_init(&r, base, size - 1, slots, slotSize, 0), EINVAL, "mapping too small")
        XCTAssertEqual(husk_ring_inline_max(&client), slotSize - 8)
    }

    func testBothDirectionsInOrderAndAFullRing() {
        let m = (0..<40).map { UInt8($0) }
        for i in 0..<Int(slots) { XCTAssertEqual(send(&client, m + [UInt8(i)]), 0) }
        XCTAssertEqual(send(&client, m), EAGAIN, "full")
        XCTAssertEqual(husk_ring_can_send(&client), EAGAIN)
        for i in 0..<Int(slots) {
            let (rc, got, _) = receive(&server)
            XCTAssertEqual(rc, 0)
            XCTAssertEqual(got, m + [UInt8(i)])
        }
        XCTAssertEqual(receive(&server).0, EAGAIN, "empty")
        XCTAssertEqual(husk_ring_can_send(&client), 0)
        XCTAssertEqual(send(&server, m), 0)
        XCTAssertEqual(receive(&client).1, m)
        XCTAssertEqual(send(&client, [UInt8](repeating: 1, count: Int(slotSize))), EMSGSIZE, "larger than a slot")
        XCTAssertEqual(send(&client, [], kind: HUSK_RING_KIND_SOCKET), 0)
        let (rc, got, _) = receive(&server)
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(got, [], "an announcement carries no bytes")
    }

    func testGarbageIsRefusedWithAReason() {
        word(0).pointee = 1000  // request tail far beyond the ring
        XCTAssertEqual(receive(&server).0, EPROTO)
        XCTAssertTrue(receive(&server).2.contains("beyond"))
        word(0).pointee = 0
        var s2 = husk_ring()
        XCTAssertEqual(husk_ring_init(&s2, base, size, slots, slotSize, 1), 0)
        word(4096).pointee = 39  // below a header
        word(4100).pointee = 0
        word(0).pointee = 1
        XCTAssertTrue(receive(&s2).2.contains("length"))
        word(4096).pointee = 0
        word(4100).pointee = 2  // unknown kind
        XCTAssertTrue(receive(&s2).2.contains("kind"))
        word(4100).pointee = HUSK_RING_KIND_SOCKET
        word(4096).pointee = 8  // an announcement with a length
        XCTAssertTrue(receive(&s2).2.contains("socket slot"))
        // The peer's head moved past what we wrote: our sends refuse.
        word(64).pointee = 77
        XCTAssertEqual(husk_ring_can_send(&client), EPROTO)
    }

    func testSleepingFlagAndWakeUps() {
        // Nothing pending: the flag is set and stays until the sleep ends.
        XCTAssertEqual(husk_ring_prepare_sleep(&server, HUSK_RING_SLEEP_FUTEX), 0)
        XCTAssertEqual(word(128).pointee, HUSK_RING_SLEEP_FUTEX)
        // A send sees it, clears it and wakes (the futex wait then returns at once).
        XCTAssertEqual(send(&client, [UInt8](repeating: 0, count: 40)), 0)
        XCTAssertEqual(word(128).pointee, HUSK_RING_AWAKE)
        XCTAssertEqual(husk_ring_futex_sleep(&server, 1000), 0)
        husk_ring_end_sleep(&server)
        // Something pending: no sleep.
        XCTAssertEqual(husk_ring_prepare_sleep(&server, HUSK_RING_SLEEP_FUTEX), EAGAIN)
        XCTAssertEqual(word(128).pointee, HUSK_RING_AWAKE)
        _ = receive(&server)
        // A consumer sleeping on the socket asks the producer for a RING_WAKE.
        XCTAssertEqual(husk_ring_prepare_sleep(&client, HUSK_RING_SLEEP_SOCKET), 0)
        XCTAssertEqual(send(&server, [UInt8](repeating: 0, count: 40)), HUSK_RING_NEEDS_SOCKET_WAKE)
        husk_ring_end_sleep(&client)
        // Stopped: no sleep.
        _ = receive(&client)
        husk_ring_stop(&server)
        XCTAssertEqual(husk_ring_prepare_sleep(&server, HUSK_RING_SLEEP_FUTEX), ECANCELED)
        // A timed sleep times out.
        XCTAssertEqual(husk_ring_prepare_sleep(&client, HUSK_RING_SLEEP_FUTEX), 0)
        XCTAssertEqual(husk_ring_futex_sleep(&client, 20), ETIMEDOUT)
        husk_ring_end_sleep(&client)
    }

    /// Both "on one CPU" (the peer's CPU field names ours): no spinning.
    func testNoSpinWhenThePeerSharesTheCPU() {
        _ = husk_ring_spin(&client)  // stores the CPU we run on (client_cpu, offset 384)
        var ok = false
        for _ in 0..<20 where !ok {
            word(448).pointee = word(384).pointee  // server_cpu: "the server runs here too"
            let misses = client.misses, budget = client.spin_ns
            XCTAssertEqual(husk_ring_spin(&client), 0)
            // Unless the thread moved to another CPU in between, nothing was spun.
            if word(384).pointee == word(448).pointee {
                XCTAssertEqual(client.misses, misses)
                XCTAssertEqual(client.spin_ns, budget)
                ok = true
            }
        }
        XCTAssertTrue(ok, "the test thread never stayed on one CPU for two calls")
    }
}
