import Foundation
import Glibc
import Platform
import RPCClient
import RPCEcho
import RPCServer
import RPCTransport
import RPCWire
import Synchronization
import XCTest

/// The echo interface against real `husk echo serve` processes (and
/// in-process servers where noted), over real sockets.
final class RPCEchoTests: XCTestCase {

    func testHelloAndEchoRoundTrip() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir, extra: ["--name", "round-trip"])
        let c = try server.connect()
        XCTAssertEqual(c.rpc.server.name, "round-trip")
        XCTAssertEqual(c.rpc.server.interfaces[1], 1)
        XCTAssertEqual(c.rpc.server.limits, RPCLimits())
        XCTAssertEqual(try c.echo(Array("hello husk".utf8)), Array("hello husk".utf8))
        XCTAssertEqual(try c.echo([]), [])
        try c.ping()
        try c.rpc.ping()
        // 300 KiB: fragmented with MORE in both directions.
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        XCTAssertEqual(try c.echo(big), big)
        let s = try c.stat()
        XCTAssertEqual(s.calls, 5)
        let stats = try c.rpc.stats()
        XCTAssertEqual(stats.operations.first { $0.interface == 1 && $0.operation == 2 }?.calls, 3)
        c.rpc.close()
    }

    func testVersionAndInterfaceMismatch() throws {
        let (_, path) = try inProcessServer(self)
        do {
            _ = try RPCClient.connect(path: path, require: [(1, 2)])
            XCTFail("interface 1 version 2 should be refused")
        } catch {
            XCTAssertEqual(error.status, RPCStatus.nosys)
            XCTAssertEqual(error.detail, "interface 1 version 2 not offered by server 'echo-test': it has version 1")
        }
        do {
            _ = try RPCClient.connect(path: path, require: [(7, 1)])
            XCTFail("interface 7 should be refused")
        } catch {
            XCTAssertTrue(error.detail.contains("interface 7 version 1 not offered by server 'echo-test'"), error.detail)
        }
        // A client that only speaks protocol versions 2...3: EPROTONOSUPPORT, then close.
        let raw = try RawConnection(path: path)
        var w = PayloadWriter()
        w.u16(2)
        w.u16(3)
        w.u32(0)
        XCTAssertTrue(raw.send(header(controlHeader(.hello, requestID: 9), payload: w.bytes)))
        guard case .header(let h) = raw.receive() else { return XCTFail("no reply") }
        XCTAssertEqual(h.status, RPCStatus.protonosupport)
        XCTAssertEqual(h.version, 1)
        XCTAssertEqual(h.requestID, 9)
        XCTAssertEqual(raw.receive(), .closed)
        // No server at a path.
        XCTAssertThrowsError(try RPCClient.connect(path: path + ".none"))
    }

    func testManyThreadsOutOfOrderReplies() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try server.connect()
        // A slow call first: fast calls must not wait for it.
        let slow = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 3000))
        let threads = 8, calls = 200
        let errors = Locked(0)
        let finished = withDeadline(60, "fast calls") {
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for i in 0..<calls {
                    let msg = Array("t\(t) call \(i)".utf8)
                    do { if try c.echo(msg) != msg { errors.withLock { $0 += 1 } } } catch { errors.withLock { $0 += 1 } }
                }
            }
        }
        XCTAssertTrue(finished, "fast calls hung")
        XCTAssertEqual(errors.get(), 0)
        // The slow call is still in flight: its reply comes after 1,600 others.
        XCTAssertTrue(c.rpc.isConnected)
        let r = c.rpc.wait(slow, timeoutSeconds: 20)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(try EchoSession.decodeSleepReply(r.payload) >= 3000, true)
        c.rpc.close()
    }

    func testCancelSleepReturnsEINTRAndConnectionStaysUsable() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try server.connect()
        let t0 = monotonicNanos()
        let id = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 60_000))
        usleep(100_000)
        c.rpc.cancel(id)
        let r = c.rpc.wait(id, timeoutSeconds: 10)
        XCTAssertEqual(r.status, RPCStatus.intr)
        XCTAssertLessThan(monotonicNanos() - t0, 10_000_000_000)
        // Cancelling a finished or unknown request is ignored; the connection keeps working.
        c.rpc.cancel(id)
        c.rpc.cancel(123_456)
        try c.ping()
        XCTAssertEqual(try c.sleep(ms: 5) >= 5, true)
        XCTAssertEqual(try c.echo([1, 2, 3]), [1, 2, 3])
    }

    /// The client keeps to the server's max_in_flight itself, so the server
    /// never stops reading it and a CANCEL gets through even when the client
    /// has more calls than the limit: the extra ones wait in start().
    func testCancelGetsThroughWithMoreCallsThanTheInFlightLimit() throws {
        var limits = RPCLimits()
        limits.maxInFlight = 4
        let (_, path) = try inProcessServer(self, limits: limits)
        let c = try EchoSession.connect(path: path)
        XCTAssertEqual(c.rpc.server.limits.maxInFlight, 4)
        let ids = Locked<[UInt64]>([])
        for _ in 0..<6 {
            HostThread.start(name: "t-sleep", detached: true, blockSignals: true) {
                if let id = try? c.rpc.start(
                    interface: EchoHandler.id, operation: EchoHandler.Op.sleep,
                    payload: EchoSession.sleepPayload(ms: 3_000))
                {
                    ids.withLock { $0.append(id) }
                }
            }
        }
        XCTAssertTrue(waitUntil(5) { ids.get().count == 4 }, "four calls sent, two waiting for a slot")
        usleep(100_000)
        XCTAssertEqual(ids.get().count, 4, "the client did not exceed max_in_flight")
        let victim = ids.get()[0]
        let t0 = monotonicNanos()
        c.rpc.cancel(victim)
        XCTAssertEqual(c.rpc.wait(victim, timeoutSeconds: 10).status, RPCStatus.intr)
        XCTAssertLessThan(monotonicNanos() - t0, 1_000_000_000, "the CANCEL was read at once, not after a sleep ended")
        XCTAssertTrue(waitUntil(5) { ids.get().count == 5 }, "the freed slot let a waiting call go")
        for id in ids.get() { c.rpc.cancel(id) }
        for id in ids.get() where id != victim { _ = c.rpc.wait(id, timeoutSeconds: 10) }
    }

    func testSharedMemoryChecksum() throws {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)  // the standard check value
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try server.connect()
        let shm = try c.rpc.registerSharedMemory(size: 1 << 20)
        var seed: UInt64 = 0x1234_5678
        for i in 0..<shm.size {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            shm.bytes[i] = UInt8(truncatingIfNeeded: seed >> 33)
        }
        let whole = try c.checksum(shm.ref())
        XCTAssertEqual(whole.length, UInt64(shm.size))
        XCTAssertEqual(whole.crc32c, CRC32C.checksum(UnsafeRawBufferPointer(shm.bytes)))
        let part = try c.checksum(shm.ref(offset: 1000, length: 4096))
        XCTAssertEqual(part.crc32c, CRC32C.checksum(UnsafeRawBufferPointer(rebasing: shm.bytes[1000..<5096])))
        // The client keeps writing; the server sees the new bytes.
        shm.bytes[1000] &+= 1
        XCTAssertNotEqual(try c.checksum(shm.ref(offset: 1000, length: 4096)).crc32c, part.crc32c)
        // Outside the region: EFAULT (also offset+length overflowing u64).
        XCTAssertThrowsError(try c.checksum(shm.ref(offset: UInt64(shm.size) - 10, length: 11))) {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.fault)
        }
        XCTAssertThrowsError(try c.checksum(SharedMemoryRef(id: shm.id, offset: UInt64.max - 1, length: 4))) {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.fault)
        }
        XCTAssertThrowsError(try c.checksum(SharedMemoryRef(id: 999, offset: 0, length: 1))) {
            XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval)
        }
        // An unsealed memfd is refused with EINVAL; so is a descriptor that is not a memfd.
        let registerShm = RPCControl.Operation.registerShm.rawValue
        let loose = try SharedMemory.create(size: 4096, seal: false)
        XCTAssertEqual(
            c.rpc.invoke(interface: RPCControl.interface, operation: registerShm, descriptors: [loose.fd]).status, RPCStatus.inval)
        var pipeFDs: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        XCTAssertEqual(
            c.rpc.invoke(interface: RPCControl.interface, operation: registerShm, descriptors: [pipeFDs[0]]).status, RPCStatus.inval)
        close(pipeFDs[0])
        close(pipeFDs[1])
        // Unregister: the id is gone.
        try c.rpc.unregisterSharedMemory(shm)
        XCTAssertThrowsError(try c.checksum(shm.ref())) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval) }
        try c.ping()
    }

    func testRaiseSignalIsDeliveredToTheCallingThread() throws {
        let (_, path) = try inProcessServer(self)
        let c = try EchoSession.connect(path: path)
        // SIGUSR1 with a handler: raised in this thread before the call returns.
        SignalCounter.install()
        let before = SignalCounter.count
        try c.raise(signal: UInt32(SIGUSR1))
        XCTAssertEqual(SignalCounter.count, before + 1)
        // SIGPIPE: the reply carries 13 (not raised here: would be ignored/kill).
        c.rpc.raisesSignals = false
        var w = PayloadWriter()
        w.u32(UInt32(SIGPIPE))
        let r = c.rpc.invoke(interface: EchoHandler.id, operation: EchoHandler.Op.raise, payload: w.bytes)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.signal, 13)
        XCTAssertThrowsError(try c.raise(signal: 0)) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.inval) }
    }

    func testOpenedObjectInheritsIdentityInProcess() throws {
        let (server, path) = try inProcessServer(self)
        let c = try EchoSession.connect(path: path)
        let fd = try c.open(name: "thing")
        let o = EchoSession(try RPCClient.adopt(fd: fd, require: [(1, 1)]))
        let me = try c.whoami()
        let them = try o.whoami()
        XCTAssertEqual(me.uid, getuid())
        XCTAssertEqual(them.uid, me.uid)
        XCTAssertEqual(them.gid, me.gid)
        XCTAssertEqual(server.connectionCount, 2)
        o.rpc.close()
        c.rpc.close()
        XCTAssertTrue(waitUntil(5) { server.connectionCount == 0 })
    }

    func testPolicyAndKernelIdentityAcrossUsers() throws {
        let dir = try rpcScratch(self)
        try Husk.requireRoot()
        let server = try EchoServerProcess(self, dir: dir, extra: ["--mode", "666", "--deny-op", "sleep", "--allow-uid", "0"])
        let client = try Husk.run(
            ["echo", "batch", "--socket", server.socket, "ping", "sleep:10", "whoami", "echo:still-here", "open:obj"],
            timeout: 30, via: Husk.nobody)
        XCTAssertEqual(client.status, 0, client.stderr)
        let lines = client.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(
            lines,
            [
                "ping: OK", "sleep:10: EACCES", "whoami: OK uid 65534 gid 65534 groups ",
                "echo:still-here: OK still-here", "open:obj: OK object uid 65534 gid 65534"
            ])
        XCTAssertTrue(server.child.stderr.contains("echo.sleep denied to uid 65534 gid 65534"), server.child.stderr)
        // Root (uid 0) is allowed the same operation.
        let c = try server.connect()
        XCTAssertEqual(try c.sleep(ms: 1) >= 1, true)
        XCTAssertEqual(try c.whoami().uid, 0)
    }

    func testServerDeathFailsPendingCallsAtOnce() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try server.connect()
        let id = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 60_000))
        let id2 = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 60_000))
        usleep(100_000)
        let t0 = monotonicNanos()
        server.child.kill9()
        let r = c.rpc.wait(id, timeoutSeconds: 10)
        XCTAssertEqual(r.status, RPCStatus.connreset)
        XCTAssertEqual(c.rpc.wait(id2, timeoutSeconds: 10).status, RPCStatus.connreset)
        XCTAssertLessThan(monotonicNanos() - t0, 5_000_000_000, "pending calls must fail at once")
        XCTAssertThrowsError(try c.ping()) { XCTAssertEqual(($0 as? RPCError)?.status, RPCStatus.connreset) }
    }

    func testClientDeathReleasesServerState() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let other = try server.connect()
        try other.ping()
        usleep(200_000)
        let baseline = server.fdCount
        // A client in a long sleep call, killed -9.
        let client = try ChildProcess(Husk.binary, ["echo", "sleep", "--socket", server.socket, "--ms", "60000"], dir: dir, tag: "victim")
        XCTAssertTrue(waitUntil(10) { server.child.stderr.components(separatedBy: "opened").count >= 3 }, server.child.stderr)
        XCTAssertTrue(waitUntil(10) { server.fdCount > baseline })
        usleep(500_000)  // let its sleep request reach the server
        client.kill9()
        XCTAssertTrue(waitUntil(10) { server.child.stderr.contains("connection 2 closed") }, server.child.stderr)
        XCTAssertTrue(waitUntil(10) { server.fdCount == baseline }, "server fds \(server.fdCount), baseline \(baseline)")
        // The other client keeps being served.
        try other.ping()
        XCTAssertEqual(try other.echo([9]), [9])
        let st = try other.rpc.stats()
        XCTAssertEqual(st.operations.first { $0.interface == 1 && $0.operation == 4 }?.errors, 1, "the dead client's sleep was cancelled")
    }

    func testGracefulShutdownFinishesInFlightCalls() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let c = try server.connect()
        let id = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 500))
        usleep(50_000)
        server.child.signal(SIGTERM)
        let r = c.rpc.wait(id, timeoutSeconds: 10)
        XCTAssertEqual(r.status, 0, "an in-flight call finishes before shutdown")
        XCTAssertEqual(server.child.wait(timeout: 10), 0, server.child.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socket), "socket removed")
        XCTAssertTrue(server.child.stderr.contains("stopped"))
    }

    func testShutdownCancelsCallsPastTheDeadline() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir, extra: ["--shutdown-deadline", "0.2"])
        let c = try server.connect()
        let id = try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: 60_000))
        usleep(50_000)
        server.child.signal(SIGINT)
        XCTAssertEqual(c.rpc.wait(id, timeoutSeconds: 10).status, RPCStatus.intr)
        XCTAssertEqual(server.child.wait(timeout: 10), 0, server.child.stderr)
    }

    func testListenerRefusesLiveSocketAndReplacesStaleOne() throws {
        let dir = try rpcScratch(self)
        let server = try EchoServerProcess(self, dir: dir)
        let second = try ChildProcess(Husk.binary, ["echo", "serve", "--socket", server.socket], dir: dir, tag: "second")
        XCTAssertEqual(second.wait(timeout: 20), 1)
        XCTAssertTrue(second.stderr.contains("a server is listening there"), second.stderr)
        try server.connect().ping()
        server.child.kill9()  // leaves a stale socket file
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.socket))
        let third = try EchoServerProcess(self, dir: dir)
        try third.connect().ping()
    }

    func testAccessPolicyParsing() throws {
        let p = try AccessPolicy.parse(
            """
            # comment
            default deny
            allow echo.sleep uid=0,1000 gid=100
            allow echo.* gid=27
            """)
        XCTAssertFalse(p.defaultAllow)
        let alice = PeerIdentity(uid: 1000, gid: 1000, groups: [], pid: 1)
        let bob = PeerIdentity(uid: 1001, gid: 1001, groups: [27], pid: 1)
        XCTAssertTrue(p.allows(alice, interface: "echo", operation: "sleep"))
        XCTAssertFalse(p.allows(bob, interface: "echo", operation: "sleep"))
        XCTAssertTrue(p.allows(bob, interface: "echo", operation: "ping"))
        XCTAssertFalse(p.allows(alice, interface: "echo", operation: "ping"))
        XCTAssertFalse(p.allows(alice, interface: "blk", operation: "read"))
        XCTAssertThrowsError(try AccessPolicy.parse("allow sleep uid=0"))
        XCTAssertThrowsError(try AccessPolicy.parse("allow echo.sleep uid=root"))
        XCTAssertThrowsError(try AccessPolicy.parse("grant echo.sleep uid=0"))
    }
}

/// Counts SIGUSR1 deliveries (async-signal-safe: one lock-free atomic add;
/// `install` touches the global first, so the handler never runs its lazy
/// initialisation).
enum SignalCounter {
    static let storage = Atomic<UInt32>(0)
    static func install() {
        storage.store(0, ordering: .sequentiallyConsistent)
        var sa = sigaction()
        sa.__sigaction_handler.sa_handler = { _ in SignalCounter.storage.add(1, ordering: .relaxed) }
        sigemptyset(&sa.sa_mask)
        sigaction(SIGUSR1, &sa, nil)
    }
    static var count: UInt32 { storage.load(ordering: .sequentiallyConsistent) }
}
