import Glibc
import Platform
import RPCClientC
import RPCEcho
import RPCServer
import RPCSys
import RPCTransport
import RPCWire

/// The ring cases of the fuzz target (docs/fuzzing.md, docs/protocol.md
/// §11): a real connection of an in-process server over a socketpair, set
/// up with HELLO and RING_SETUP like a client would, then the input is
/// played as a hostile client's writes into the shared ring memory.
///
/// Input: the byte `R` (0x52; other inputs are left to the message-sequence
/// entry, so that the ring cases, a few milliseconds each, do not slow the
/// fuzzing of the rest), then a sequence of operations, each one byte `op`
/// then its arguments; a short operation ends the input.
///
///     0  u16 offset, u8 n, n bytes   write the bytes into the memfd at offset (mod its size)
///     1  u32 value                   store it as the request ring's tail
///     2  u8 n, n bytes               a well-formed inline entry: echo.echo (next request id)
///                                    of those bytes (at most 200), as a client writes it
///     3  u8 n, n bytes               an entry of these raw bytes as the message (kind inline)
///     4                              announce a socket message (kind 1) and send a PING on the socket
///     5                              announce a socket message and send nothing
///     6                              wait 200 µs
///     other                          stop
///
/// Invariants: every reply the server puts in the reply ring decodes as a
/// reply; after the input the client closes its socket and the server
/// closes the connection within the timeout (no unbounded spin or wait);
/// no crash (a shrunk memfd cannot happen: RING_SETUP requires
/// F_SEAL_SHRINK, which RPCRingTests checks).
public enum RingFuzz {
    public static let slots: UInt32 = 8
    public static let slotSize: UInt32 = 256

    static let server: RPCServer = {
        var config = RPCServer.Configuration(name: "fuzz-ring")
        config.minWorkers = 2
        config.maxWorkers = 8
        config.log = { _, _ in }
        return RPCServer(configuration: config, handlers: [SleepClampedEcho()])
    }()

    /// Seeds (Fuzz/corpus/rpc/ring-*.bin): one per kind of operation.
    /// The first byte of a ring input.
    public static let marker: UInt8 = 0x52

    /// An input as the fuzz target sees it: RingFuzz.run on what follows
    /// the marker; nothing for other inputs.
    public static func runInput(_ data: UnsafeRawBufferPointer, timeout: Double = 10) -> [String] {
        guard data.first == marker else { return [] }
        return run(UnsafeRawBufferPointer(rebasing: data[1...]), timeout: timeout)
    }

    /// Seeds without the marker (the committed files have it in front).
    public static let seeds: [(name: String, bytes: [UInt8])] = [
        ("ring-valid-echo", [2, 5] + Array("hello".utf8) + [2, 0, 6, 4, 6]),
        ("ring-tail-beyond", [2, 3, 1, 2, 3, 1, 0x88, 0x13, 0, 0]),
        ("ring-bad-slot-length", [0, 0x00, 0x10, 8, 7, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]),
        ("ring-bad-slot-kind", [0, 0x00, 0x10, 8, 0, 0, 0, 0, 9, 0, 0, 0, 1, 1, 0, 0, 0]),
        ("ring-garbage-message", [3, 48] + [UInt8](repeating: 0xEE, count: 48)),
        ("ring-half-written-slot", [0, 0x00, 0x10, 8, 60, 0, 0, 0, 0, 0, 0, 0, 6]),
        ("ring-announced-never-sent", [5, 6, 2, 1, 0x41]),
        ("ring-rewrites-wait-and-head", [2, 1, 0x41, 0, 0x80, 0, 4, 1, 0, 0, 0, 0, 0x40, 0, 4, 0xFF, 0xFF, 0, 0, 2, 1, 0x42])
    ]

    /// Broken invariants of one input (empty when all is well).
    public static func run(_ data: UnsafeRawBufferPointer, timeout: Double = 10) -> [String] {
        var violations: [String] = []
        var sv: [Int32] = [-1, -1]
        guard husk_rpc_socketpair(&sv) == 0 else { return [] }
        let client = sv[0]
        defer { close(client) }
        guard server.adopt(OwnedDescriptor(sv[1]), identity: RPCFuzzServer.identity, note: " (ring fuzz)") else { return [] }
        var failure = ""
        func call(_ h: RPCHeader, _ payload: [UInt8], fds: [Int32] = []) -> RPCHeader? {
            var h = h
            h.payloadLength = UInt32(payload.count)
            let bytes = h.encoded() + payload
            let sent = bytes.withUnsafeBytes { b in
                fds.withUnsafeBufferPointer { husk_rpc_send(client, b.baseAddress, b.count, $0.baseAddress, Int32($0.count), 0) }
            }
            guard sent == bytes.count else {
                failure = "send: errno \(errno)"
                return nil
            }
            var buf = [UInt8](repeating: 0, count: 4096)
            var info = husk_rpc_recv_info()
            var rfds = [Int32](repeating: -1, count: 8)
            var p = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 10_000) > 0 else {
                failure = "no reply within 10 s (\(server.connectionCount) connections open)"
                return nil
            }
            let n = buf.withUnsafeMutableBytes { husk_rpc_recv(client, $0.baseAddress, $0.count, &rfds, 8, &info) }
            for i in 0..<Int(info.nfds) { close(rfds[i]) }
            guard n >= RPCHeader.size else {
                failure = "receive: \(n) bytes, errno \(errno)"
                return nil
            }
            guard case .success(let r) = buf.withUnsafeBytes({ RPCHeader.decode($0, messageLength: n, fdsReceived: Int(info.nfds)) })
            else { return nil }
            return r
        }
        var hello = PayloadWriter()
        hello.u16(1)
        hello.u16(1)
        hello.u32(2)
        hello.u32(RPCControl.interface)
        hello.u32(2)
        hello.u32(EchoHandler.id)
        hello.u32(1)
        guard let hr = call(RPCHeader(interface: 0, operation: RPCControl.Operation.hello.rawValue, requestID: 1), hello.bytes),
            hr.status == 0
        else { return ["HELLO failed: \(failure)"] }
        let size = Int(husk_ring_size(slots, slotSize))
        let memfd = husk_rpc_memfd("fuzz-ring")
        guard memfd >= 0, ftruncate(memfd, off_t(size)) == 0, husk_rpc_add_seals(memfd, husk_rpc_seal_shrink()) == 0,
            let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0), base != MAP_FAILED
        else {
            if memfd >= 0 { close(memfd) }
            return []
        }
        defer { munmap(base, size) }
        var setup = PayloadWriter()
        setup.u32(slots)
        setup.u32(slotSize)
        let sr = call(
            RPCHeader(interface: 0, operation: RPCControl.Operation.ringSetup.rawValue, requestID: 2, fdCount: 1), setup.bytes, fds: [memfd]
        )
        close(memfd)
        guard let sr, sr.status == 0 else { return ["RING_SETUP failed: \(failure) \(sr.map { RPCStatus.name($0.status) } ?? "")"] }
        var ring = husk_ring()
        guard husk_ring_init(&ring, base, size, slots, slotSize, 0) == 0 else { return ["ring init"] }
        husk_ring_activate(&ring)

        // Play the input.
        var i = 0
        var nextID: UInt64 = 3
        // Writes over what only the server writes (the reply ring's tail
        // and slots) or over our own reply head make the reply ring
        // unreadable for us, not for the server: then its replies are not checked.
        var repliesClobbered = false
        let replySlots = Int(HUSK_RING_CONTROL_SIZE) + Int(slots * slotSize)
        func byte() -> UInt8? {
            guard i < data.count else { return nil }
            defer { i += 1 }
            return data[i]
        }
        func bytes(_ n: Int) -> [UInt8]? {
            guard data.count - i >= n else { return nil }
            defer { i += n }
            return Array(UnsafeRawBufferPointer(rebasing: data[i..<i + n]))
        }
        func entry(_ message: [UInt8], kind: UInt32) {
            // A full ring (the server stopped taking): skip, as a client that waits would.
            _ = message.withUnsafeBytes { husk_ring_send(&ring, kind, $0.baseAddress, $0.count, nil, 0) }
        }
        play: while let op = byte() {
            switch op {
            case 0:
                guard let o = bytes(2), let n = byte(), let b = bytes(Int(n)) else { break play }
                let offset = (Int(o[0]) | Int(o[1]) << 8) % size
                let count = min(b.count, size - offset)
                if count > 0 && ((offset < 260 && offset + count > 192) || offset + count > replySlots) { repliesClobbered = true }
                b.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: count) }
            case 1:
                guard let v = bytes(4) else { break play }
                let tail = UInt32(v[0]) | UInt32(v[1]) << 8 | UInt32(v[2]) << 16 | UInt32(v[3]) << 24
                storeRequestTail(base, tail)
            case 2:
                guard let n = byte(), let b = bytes(Int(min(n, 200))) else { break play }
                var w = PayloadWriter()
                w.bytes(b)
                let h = RPCHeader(
                    interface: EchoHandler.id, operation: EchoHandler.Op.echo, requestID: nextID, payloadLength: UInt32(w.bytes.count))
                nextID += 1
                entry(h.encoded() + w.bytes, kind: HUSK_RING_KIND_INLINE)
            case 3:
                guard let n = byte(), let b = bytes(Int(min(UInt32(n), slotSize - 8))) else { break play }
                entry(b, kind: HUSK_RING_KIND_INLINE)
            case 4:
                let h = RPCHeader(interface: 0, operation: RPCControl.Operation.ping.rawValue, requestID: nextID)
                nextID += 1
                let m = h.encoded()
                _ = m.withUnsafeBytes { husk_rpc_send(client, $0.baseAddress, $0.count, nil, 0, 1) }
                entry([], kind: HUSK_RING_KIND_SOCKET)
            case 5:
                entry([], kind: HUSK_RING_KIND_SOCKET)
            case 6:
                usleep(200)
            default:
                break play
            }
        }
        // Replies the server wrote: each must decode as a reply.
        usleep(200)
        var buf = [UInt8](repeating: 0, count: Int(slotSize))
        while true {
            var kind: UInt32 = 0, len: UInt32 = 0
            var why: UnsafePointer<CChar>? = nil
            let rc = buf.withUnsafeMutableBytes { husk_ring_receive(&ring, $0.baseAddress, $0.count, &kind, &len, &why) }
            if rc != 0 || repliesClobbered {
                if rc == EPROTO && !repliesClobbered {
                    violations.append("the server's reply ring is malformed: \(why.map { String(cString: $0) } ?? "")")
                }
                break
            }
            if kind != HUSK_RING_KIND_INLINE { continue }  // its socket message is read by nobody: fine
            let d = buf.withUnsafeBytes { RPCHeader.decode($0, messageLength: Int(len), fdsReceived: 0) }
            guard case .success(let h) = d, h.flags.contains(.reply) || h.flags.contains(.event), !repliesClobbered else {
                violations.append("a reply in the ring does not decode: \(d)")
                continue
            }
        }
        // The peer leaves: the connection must close in bounded time.
        _ = Glibc.shutdown(client, Int32(SHUT_RDWR))
        husk_ring_wake_peer(&ring)
        let end = monotonicNanos() + UInt64(timeout * 1e9)
        while server.connectionCount > 0 && monotonicNanos() < end { usleep(500) }
        if server.connectionCount > 0 { violations.append("ring connection not closed within \(timeout) s after the client left") }
        return violations
    }
}

/// The request ring's tail (offset 0), stored as a client would.
private func storeRequestTail(_ base: UnsafeMutableRawPointer, _ v: UInt32) {
    base.storeBytes(of: v.littleEndian, as: UInt32.self)
}

/// The fuzz entry for the rings: RingFuzz.run, trapping on any broken invariant.
public func fuzzOneRingSequence(_ data: UnsafeRawBufferPointer) {
    let v = RingFuzz.runInput(data)
    if !v.isEmpty { fatalError("RPC ring fuzz invariant broken: " + v.joined(separator: "; ")) }
}
