import Foundation
import Glibc
import Platform
import RPCClient
import RPCClientC
import RPCEcho
import RPCInterfaces
import RPCServer
import RPCSys
import RPCTransport
import RPCWire
import XCTest

/// The shared-memory call rings (docs/protocol.md §11): negotiation and
/// fallback, every kind of call over them, and hostile rings against a real
/// server process. (The rest of the RPC suites run over the rings too with
/// HUSK_RPC_RING=1, as scripts/test.sh does.)
final class RPCRingTests: XCTestCase {
    func echoClient(_ path: String, ring: Bool) throws -> (RPCClient, EchoSession) {
        let rpc = try RPCClient.connect(path: path, require: [(EchoHandler.id, EchoHandler.version)], ring: ring)
        return (rpc, EchoSession(rpc))
    }

    func testEveryKindOfCallOverTheRings() throws {
        let (_, path) = try inProcessServer(self)
        let (rpc, echo) = try echoClient(path, ring: true)
        defer { rpc.close() }
        XCTAssertTrue(rpc.server.ringActive)
        XCTAssertEqual(rpc.server.interfaces[RPCControl.interface], 2)
        XCTAssertEqual(rpc.server.features & RPCControl.featureRing, RPCControl.featureRing)
        try echo.ping()
        XCTAssertEqual(try echo.echo(Array("inline".utf8)), Array("inline".utf8))
        // Larger than a slot (announced socket messages), and larger than a
        // message (MORE fragments, all announced).
        for size in [4000, 4096, 70_000, 300_000] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            XCTAssertEqual(try echo.echo(data), data, "\(size) bytes")
        }
        // Descriptors: shared memory registration, then a call referencing it.
        let shm = try rpc.registerSharedMemory(size: 1 << 16)
        let r = try echo.checksum(SharedMemoryRef(id: shm.id, offset: 0, length: 1 << 16))
        XCTAssertEqual(r.length, 1 << 16)
        try rpc.unregisterSharedMemory(shm)
        // An opened object's connection (a descriptor in the reply) uses the rings too.
        let fd = try echo.open(name: "obj")
        let obj = try RPCClient.adopt(fd: fd, require: [(EchoHandler.id, EchoHandler.version)], parent: rpc)
        XCTAssertTrue(obj.server.ringActive)
        XCTAssertEqual(try EchoSession(obj).whoami().uid, getuid())
        obj.close()
        // Cancellation: a long sleep cancelled ends with EINTR, at once.
        let id = try rpc.start(
            interface: EchoHandler.id, operation: Echo.Operation.sleep.rawValue, payload: EchoSession.sleepPayload(ms: 10_000))
        usleep(50_000)
        rpc.cancel(id)
        XCTAssertEqual(rpc.wait(id, timeoutSeconds: 5).status, RPCStatus.intr)
        // Many threads at once, replies out of order.
        let errors = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for i in 0..<200 {
                let d = Array("t\(t) i\(i)".utf8)
                if (try? echo.echo(d)) != d { errors.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(errors.get(), 0)
    }

    /// Calling threads take replies off the reply ring themselves while
    /// the reader thread sleeps (docs/rpc-runtime.md): with threads calling
    /// at once, a reply, or a fragment of one, is taken by whichever of
    /// them holds the ring, and must still reach its caller whole.
    func testCallingThreadsAndTheReaderShareTheReplyRing() throws {
        let (_, path) = try inProcessServer(self)
        let (rpc, echo) = try echoClient(path, ring: true)
        defer { rpc.close() }
        XCTAssertTrue(rpc.server.ringActive)
        let sizes = [16, 3000, 70_000, 40, 300_000, 8]
        let errors = Locked(0)
        let finished = withDeadline(120, "mixed calls") {
            DispatchQueue.concurrentPerform(iterations: 6) { t in
                for i in 0..<150 {
                    let n = sizes[(t + i) % sizes.count]
                    let d = (0..<n).map { UInt8(truncatingIfNeeded: $0 &+ t &* 31 &+ i) }
                    if (try? echo.echo(d)) != d { errors.withLock { $0 += 1 } }
                }
            }
        }
        XCTAssertTrue(finished, "calls hung")
        XCTAssertEqual(errors.get(), 0)
        // Back to back from one thread after the crowd: still answered.
        for _ in 0..<2000 { try echo.ping() }
    }

    func testSocketClientsAndServersWithoutRingsKeepTheSocketPath() throws {
        let (_, path) = try inProcessServer(self)
        let (plain, echo) = try echoClient(path, ring: false)
        XCTAssertFalse(plain.server.ringActive)
        XCTAssertEqual(plain.server.interfaces[RPCControl.interface], 1, "a client asking for control version 1 sees 1")
        XCTAssertEqual(plain.server.features, 0)
        try echo.ping()
        plain.close()

        let dir = try rpcScratch(self)
        var config = RPCServer.Configuration(name: "no-rings")
        config.rings = false
        config.log = { _, _ in }
        let server = RPCServer(configuration: config, handlers: [EchoHandler()])
        try server.listen(path: "\(dir)/s")
        defer { server.shutdown(deadline: 1, grace: 1) }
        let (asked, echo2) = try echoClient("\(dir)/s", ring: true)
        XCTAssertFalse(asked.server.ringActive, "a server without the feature keeps the socket path")
        XCTAssertEqual(asked.server.interfaces[RPCControl.interface], 1)
        try echo2.ping()
        asked.close()
    }

    func testServerDeathWakesARingClientAtOnce() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let (rpc, echo) = try echoClient(server.socket, ring: true)
        XCTAssertTrue(rpc.server.ringActive)
        let id = try rpc.start(
            interface: EchoHandler.id, operation: Echo.Operation.sleep.rawValue, payload: EchoSession.sleepPayload(ms: 30_000))
        usleep(100_000)
        kill(server.pid, SIGKILL)
        let start = monotonicNanos()
        XCTAssertEqual(rpc.wait(id, timeoutSeconds: 10).status, RPCStatus.connreset)
        // One futex slice (100 ms) at most, plus scheduling.
        XCTAssertLessThan(monotonicNanos() - start, 5_000_000_000)
        XCTAssertThrowsError(try echo.ping())
    }

    // MARK: hostile rings (a raw client against a server process)

    final class RawRing {
        let raw: RawConnection
        let base: UnsafeMutableRawPointer
        let size: Int
        let slots: UInt32, slotSize: UInt32
        var ring = husk_ring()
        init(path: String, slots: UInt32 = 8, slotSize: UInt32 = 256) throws {
            raw = try RawConnection(path: path)
            self.slots = slots
            self.slotSize = slotSize
            size = Int(husk_ring_size(slots, slotSize))
            var w = PayloadWriter()
            w.u16(1)
            w.u16(1)
            w.u32(2)
            w.u32(0)
            w.u32(2)
            w.u32(1)
            w.u32(1)
            _ = raw.send(header(controlHeader(.hello, requestID: 1), payload: w.bytes))
            guard case .header(let h) = raw.receive(), h.status == 0 else { throw TestFailure("HELLO") }
            let fd = husk_rpc_memfd("raw-ring")
            defer { close(fd) }
            guard ftruncate(fd, off_t(size)) == 0, husk_rpc_add_seals(fd, husk_rpc_seal_shrink()) == 0,
                let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED
            else { throw TestFailure("memfd") }
            base = p
            var s = PayloadWriter()
            s.u32(slots)
            s.u32(slotSize)
            _ = raw.send(header(controlHeader(.ringSetup, requestID: 2, fdCount: 1), payload: s.bytes), fds: [fd])
            guard case .header(let r) = raw.receive(), r.status == 0 else { throw TestFailure("RING_SETUP") }
            guard husk_ring_init(&ring, base, size, slots, slotSize, 0) == 0 else { throw TestFailure("ring init") }
        }
        deinit { munmap(base, size) }

        /// A well-formed message through the request ring.
        func send(_ message: [UInt8]) -> Int32 {
            message.withUnsafeBytes { husk_ring_send(&ring, HUSK_RING_KIND_INLINE, $0.baseAddress, $0.count, nil, 0) }
        }
        /// The request ring's raw words: tail at 0, slots at 4096.
        func word(_ offset: Int) -> UnsafeMutablePointer<UInt32> { (base + offset).assumingMemoryBound(to: UInt32.self) }
        func publish(tail: UInt32) { word(0).pointee = tail }
        /// The next reply from the reply ring, waiting up to `timeout` s.
        func reply(timeout: Double = 5) -> RPCHeader? {
            let end = monotonicNanos() + UInt64(timeout * 1e9)
            var buf = [UInt8](repeating: 0, count: Int(slotSize))
            while monotonicNanos() < end {
                var kind: UInt32 = 0, len: UInt32 = 0
                var why: UnsafePointer<CChar>? = nil
                let rc = buf.withUnsafeMutableBytes { husk_ring_receive(&ring, $0.baseAddress, $0.count, &kind, &len, &why) }
                if rc == 0 && kind == HUSK_RING_KIND_INLINE {
                    let d = buf.withUnsafeBytes { RPCHeader.decode($0, messageLength: Int(len), fdsReceived: 0) }
                    if case .success(let h) = d { return h }
                    return nil
                }
                usleep(1000)
            }
            return nil
        }
    }

    func echoRequest(_ id: UInt64, _ text: String) -> [UInt8] {
        var w = PayloadWriter()
        w.bytes(Array(text.utf8))
        return header(RPCHeader(interface: EchoHandler.id, operation: Echo.Operation.echo.rawValue, requestID: id), payload: w.bytes)
    }

    func testRingSetupIsValidated() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        func setup(_ raw: RawConnection, slots: UInt32, slotSize: UInt32, memfdSize: Int, seal: Bool, fds: Int = 1) -> Int32? {
            let fd = husk_rpc_memfd("bad-ring")
            defer { close(fd) }
            _ = ftruncate(fd, off_t(memfdSize))
            if seal { _ = husk_rpc_add_seals(fd, husk_rpc_seal_shrink()) }
            var s = PayloadWriter()
            s.u32(slots)
            s.u32(slotSize)
            let attached = Array(repeating: fd, count: fds)
            _ = raw.send(header(controlHeader(.ringSetup, requestID: 9, fdCount: UInt16(fds)), payload: s.bytes), fds: attached)
            guard case .header(let h) = raw.receive() else { return nil }
            return h.status
        }
        // Control version 1 (the old HELLO): RING_SETUP is not there.
        let old = try RawConnection(path: server.socket)
        XCTAssertEqual(old.hello().isHeader, true)
        XCTAssertEqual(setup(old, slots: 8, slotSize: 256, memfdSize: 1 << 16, seal: true), RPCStatus.nosys)
        // Control version 2: each bad parameter is EINVAL and the connection stays.
        let raw = try RawConnection(path: server.socket)
        var w = PayloadWriter()
        w.u16(1)
        w.u16(1)
        w.u32(1)
        w.u32(0)
        w.u32(2)
        _ = raw.send(header(controlHeader(.hello, requestID: 1), payload: w.bytes))
        XCTAssertEqual(raw.receive().isHeader, true)
        let need = Int(husk_ring_size(8, 256))
        XCTAssertEqual(setup(raw, slots: 8, slotSize: 256, memfdSize: need, seal: false), RPCStatus.inval, "not sealed")
        XCTAssertEqual(setup(raw, slots: 8, slotSize: 256, memfdSize: need - 1, seal: true), RPCStatus.inval, "too small")
        XCTAssertEqual(setup(raw, slots: 6, slotSize: 256, memfdSize: 1 << 20, seal: true), RPCStatus.inval, "not a power of two")
        XCTAssertEqual(setup(raw, slots: 8, slotSize: 100, memfdSize: 1 << 20, seal: true), RPCStatus.inval, "slot size")
        XCTAssertEqual(setup(raw, slots: 8, slotSize: 256, memfdSize: need, seal: true, fds: 0), RPCStatus.inval, "no memfd")
        XCTAssertEqual(setup(raw, slots: 8, slotSize: 256, memfdSize: need, seal: true, fds: 2), RPCStatus.inval, "two descriptors")
        // Still served on the socket.
        _ = raw.send(echoRequest(20, "still here"))
        guard case .header(let h) = raw.receive() else { return XCTFail("no echo reply") }
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(server.child.stderr.contains("RING_SETUP refused"), server.child.stderr)
    }

    func testARawRingClientIsServed() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let r = try RawRing(path: server.socket)
        XCTAssertEqual(r.send(echoRequest(3, "hello ring")), 0)
        XCTAssertEqual(r.reply()?.requestID, 3)
    }

    /// Garbage in the ring's index, a slot's length or kind: the server
    /// logs the reason and closes the connection; others are unaffected.
    func testGarbageInTheRingDisconnectsWithAReason() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let good = try server.connect()
        let baseline = server.fdCount

        let a = try RawRing(path: server.socket)
        a.publish(tail: 5000)  // far beyond the ring
        XCTAssertEqual(a.raw.receive(timeout: 5), .closed)
        XCTAssertTrue(waitUntil(5) { server.child.stderr.contains("ring index beyond the ring") }, server.child.stderr)

        let b = try RawRing(path: server.socket)
        b.word(4096).pointee = 7  // length below a header
        b.word(4100).pointee = 0
        b.publish(tail: 1)
        XCTAssertEqual(b.raw.receive(timeout: 5), .closed)
        XCTAssertTrue(waitUntil(5) { server.child.stderr.contains("ring slot length out of range") }, server.child.stderr)

        let c = try RawRing(path: server.socket)
        c.word(4096).pointee = 0
        c.word(4100).pointee = 9  // unknown kind
        c.publish(tail: 1)
        XCTAssertEqual(c.raw.receive(timeout: 5), .closed)
        XCTAssertTrue(waitUntil(5) { server.child.stderr.contains("unknown ring slot kind") }, server.child.stderr)

        // A well-framed slot whose message is garbage: a protocol error as on the socket.
        let d = try RawRing(path: server.socket)
        XCTAssertEqual(d.send([UInt8](repeating: 0xEE, count: 64)), 0)
        XCTAssertEqual(d.raw.receive(timeout: 5), .closed)

        XCTAssertNoThrow(try good.ping())
        XCTAssertTrue(waitUntil(10) { server.fdCount == baseline }, "server fds \(server.fdCount), baseline \(baseline)")
    }

    /// A client that stops mid-slot (never publishes), or announces a socket
    /// message it never sends: only its own connection waits, nothing
    /// spins, and closing it releases everything.
    func testStopMidSlotAndAMissingSocketMessageOnlyIdleThatConnection() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let good = try server.connect()
        let baseline = server.fdCount
        var a: RawRing? = try RawRing(path: server.socket)
        let req = echoRequest(3, "half")
        a!.word(4096).pointee = UInt32(req.count)  // the slot is half written, tail never moves
        var b: RawRing? = try RawRing(path: server.socket)
        b!.word(4096).pointee = 0
        b!.word(4100).pointee = HUSK_RING_KIND_SOCKET
        b!.publish(tail: 1)  // announced, never sent
        usleep(300_000)
        XCTAssertNoThrow(try good.ping())
        XCTAssertEqual(try good.echo(Array("x".utf8)), Array("x".utf8))
        a = nil
        b = nil
        XCTAssertTrue(waitUntil(10) { server.fdCount == baseline }, "server fds \(server.fdCount), baseline \(baseline)")
        _ = (a, b)
    }

    /// A ring client that never takes its replies: the reply ring fills, the
    /// rest queues, and past max_queued_reply_bytes the server disconnects
    /// it, as on the socket path.
    func testARingClientThatStopsReadingIsDisconnected() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let r = try RawRing(path: server.socket, slots: 8, slotSize: 4096)
        let payload = [UInt8](repeating: 0x5A, count: 60 << 10)
        var w = PayloadWriter()
        w.bytes(payload)
        var id: UInt64 = 3
        let end = monotonicNanos() + 30_000_000_000
        while !server.child.stderr.contains("client not reading); disconnecting") && monotonicNanos() < end {
            // Large requests go on the socket, announced by a slot.
            let msg = header(RPCHeader(interface: EchoHandler.id, operation: Echo.Operation.echo.rawValue, requestID: id), payload: w.bytes)
            if husk_ring_can_send(&r.ring) != 0 {
                usleep(1000)
                continue
            }
            let ok = msg.withUnsafeBytes { husk_rpc_send(r.raw.fd, $0.baseAddress, $0.count, nil, 0, 1) == $0.count }
            if !ok {
                usleep(1000)
                continue
            }
            XCTAssertEqual(husk_ring_send(&r.ring, HUSK_RING_KIND_SOCKET, nil, 0, nil, 0), 0)
            id += 1
        }
        XCTAssertTrue(server.child.stderr.contains("client not reading); disconnecting"), server.child.stderr)
    }
}
