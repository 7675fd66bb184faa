import Glibc
import HuskSys
import RPCTransport
import RPCWire

/// What the server said in its HELLO reply.
public struct RPCServerInfo: Sendable {
    public var protocolVersion: UInt16
    public var name: String
    /// Versions of the interfaces asked for (0 = not offered).
    public var interfaces: [UInt32: UInt32]
    public var limits: RPCLimits
}

/// A reply with everything the wire carries (status not thrown).
public struct RPCReply: Sendable {
    public var status: Int32
    public var payload: [UInt8]
    /// Received descriptors; the caller owns them.
    public var descriptors: [Int32]
    /// A signal the server asked the client to raise (already raised in the
    /// calling thread by the time the call returns, unless disabled).
    public var signal: Int32
}

/// The Swift client: one connection, any number of threads calling at once,
/// replies matched by request id on a reader thread.
public final class RPCClient: RPCCaller, @unchecked Sendable {
    // @unchecked: `pending`, `dead`, `deathReason` are guarded by `lock`;
    // sends are serialised by `sendLock` (so fragments stay contiguous);
    // `transport`, `server` are immutable after init.
    public let server: RPCServerInfo
    let transport: SeqPacketConnection
    private let lock = Monitor()
    private let sendLock = Monitor()
    private var pending: [UInt64: Pending] = [:]
    private var dead = false
    private var deathReason = ""
    private var nextID: UInt64 = 1
    private var readerRunning = false
    private let readerExit = Monitor()
    /// Raise reply signals in the calling thread (pthread_kill) before a call returns.
    public var raisesSignals = true
    /// Called on the reader thread for EVENT messages.
    public var onEvent: (@Sendable (RPCHeader, [UInt8]) -> Void)?

    final class Pending: @unchecked Sendable {
        // @unchecked: every field is guarded by `monitor`.
        let monitor = Monitor()
        let interface: UInt32, operation: UInt32
        var done = false
        var reply = RPCReply(status: 0, payload: [], descriptors: [], signal: 0)
        var fragments: [UInt8]? = nil
        var fragmentFDs: [Int32] = []
        init(interface: UInt32, operation: UInt32) { self.interface = interface; self.operation = operation }
        func complete(_ r: RPCReply) {
            monitor.withLock {
                if done { closeDescriptors(r.descriptors); return }
                reply = r; done = true; monitor.broadcast()
            }
        }
    }

    // MARK: connecting

    /// Connect to `path`, say HELLO, and check that the server offers every
    /// interface in `require` at (at least) the given version.
    public static func connect(path: String, require: [(interface: UInt32, version: UInt32)] = [],
                               timeoutSeconds: Double = 10) throws(RPCError) -> RPCClient {
        let t: SeqPacketConnection
        do { t = try SeqPacketConnection.connect(path: path, maxMessage: 1 << 20, maxDescriptors: 64) }
        catch { throw RPCError(error.errno == ENOENT || error.errno == ECONNREFUSED ? RPCStatus.connreset : error.errno, "\(error)") }
        return try RPCClient(transport: t, require: require, timeoutSeconds: timeoutSeconds)
    }

    /// Use an already-connected descriptor (e.g. an opened object's, from an
    /// `fd` reply field); takes ownership.
    public static func adopt(fd: Int32, require: [(interface: UInt32, version: UInt32)] = [],
                             timeoutSeconds: Double = 10) throws(RPCError) -> RPCClient {
        let t = SeqPacketConnection(adopting: OwnedDescriptor(fd), maxMessage: 1 << 20, maxDescriptors: 64)
        return try RPCClient(transport: t, require: require, timeoutSeconds: timeoutSeconds)
    }

    private init(transport: SeqPacketConnection, require: [(interface: UInt32, version: UInt32)], timeoutSeconds: Double) throws(RPCError) {
        self.transport = transport
        var w = PayloadWriter()
        w.u16(RPCHeader.protocolVersion); w.u16(RPCHeader.protocolVersion)
        let asked = [(UInt32(0), UInt32(1))] + require.map { ($0.interface, $0.version) }
        w.u32(UInt32(asked.count))
        for (i, v) in asked { w.u32(i); w.u32(v) }
        let h = RPCHeader(interface: 0, operation: 1, requestID: 1, payloadLength: UInt32(w.bytes.count))
        do { try transport.send(h.encoded() + w.bytes) } catch {
            transport.close(); throw RPCError(RPCStatus.connreset, "sending HELLO: \(error)")
        }
        var pfd = pollfd(fd: transport.fd, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, Int32(timeoutSeconds * 1000)) <= 0 {
            transport.close(); throw RPCError(RPCStatus.timedout, "no HELLO reply within \(timeoutSeconds) s")
        }
        let m: ReceivedMessage
        switch transport.receive() {
        case .message(let x): m = x
        case .closed: transport.close(); throw RPCError(RPCStatus.connreset, "server closed the connection during HELLO")
        case .rejected(let e, _): transport.close(); throw RPCError(RPCStatus.proto, "HELLO reply: \(e)")
        }
        closeDescriptors(m.descriptors)
        let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: 0) }
        guard case .success(let rh) = decoded, rh.flags.contains(.reply), rh.requestID == 1, rh.interface == 0, rh.operation == 1 else {
            // A header whose version is not 1 lands here too.
            transport.close()
            if m.bytes.count >= 28 {
                let status = m.bytes.withUnsafeBytes { b -> Int32 in var r = PayloadReader(b); for _ in 0..<6 { _ = r.u32() }; return r.i32() ?? 0 }
                if status == RPCStatus.protonosupport {
                    throw RPCError(RPCStatus.protonosupport, "server does not speak protocol version \(RPCHeader.protocolVersion)")
                }
            }
            throw RPCError(RPCStatus.proto, "malformed HELLO reply")
        }
        if rh.status != 0 {
            transport.close()
            if rh.status == RPCStatus.protonosupport {
                throw RPCError(rh.status, "server speaks protocol version \(rh.version), this client \(RPCHeader.protocolVersion)")
            }
            throw RPCError(rh.status, "HELLO refused")
        }
        let info: RPCServerInfo? = m.bytes.withUnsafeBytes { all in
            var r = PayloadReader(UnsafeRawBufferPointer(rebasing: all[RPCHeader.size...]))
            guard let v = r.u16(), let _ = r.u16(), let name = r.string(), let n = r.count(minElementSize: 8) else { return nil }
            var ifs: [UInt32: UInt32] = [:]
            for _ in 0..<n { guard let i = r.u32(), let ver = r.u32() else { return nil }; ifs[i] = ver }
            guard let mm = r.u32(), let mf = r.u32(), let mi = r.u32(), let _ = r.u32(), let ms = r.u64(), let mp = r.u64(), r.isAtEnd else { return nil }
            var l = RPCLimits()
            l.maxMessage = mm; l.maxFDs = mf; l.maxInFlight = mi; l.maxSharedMemory = ms; l.maxPayload = mp
            return RPCServerInfo(protocolVersion: v, name: name, interfaces: ifs, limits: l)
        }
        guard let info else { transport.close(); throw RPCError(RPCStatus.proto, "malformed HELLO reply payload") }
        for (i, v) in require {
            let has = info.interfaces[i] ?? 0
            if has == 0 {
                transport.close()
                throw RPCError(RPCStatus.nosys, "interface \(i) version \(v) not offered by server '\(info.name)': it does not have that interface")
            }
            if has < v {
                transport.close()
                throw RPCError(RPCStatus.nosys, "interface \(i) version \(v) not offered by server '\(info.name)': it has version \(has)")
            }
        }
        server = info
        nextID = 2
        readerRunning = true
        startThread(name: "rpc-client") { [self] in readerLoop() }
    }

    deinit { transport.close() }

    /// Close the connection: pending calls fail with ECONNRESET.
    public func close() {
        transport.shutdown()
        readerExit.withLock { while readerRunning { readerExit.wait(deadlineNanos: monotonicNanos() + 100_000_000) } }
    }

    public var isConnected: Bool { lock.withLock { !dead } }

    // MARK: reader

    private func readerLoop() {
        var reason = "server closed the connection"
        var partial: [UInt64: (payload: [UInt8], fds: [Int32])] = [:]
        loop: while true {
            switch transport.receive() {
            case .closed: break loop
            case .rejected(let e, _): reason = "bad message from server: \(e)"; break loop
            case .message(let m):
                let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptors.count) }
                guard case .success(let h) = decoded else {
                    closeDescriptors(m.descriptors)
                    if case .failure(let e) = decoded { reason = "bad message from server: \(e)" }
                    break loop
                }
                let body = Array(m.bytes.dropFirst(RPCHeader.size))
                if h.flags.contains(.event) { closeDescriptors(m.descriptors); onEvent?(h, body); continue }
                guard h.flags.contains(.reply) else { closeDescriptors(m.descriptors); continue }
                if h.flags.contains(.more) || partial[h.requestID] != nil {
                    var p = partial[h.requestID] ?? ([], [])
                    p.payload.append(contentsOf: body)
                    p.fds.append(contentsOf: m.descriptors)
                    if p.payload.count > Int(server.limits.maxPayload) { closeDescriptors(p.fds); reason = "reply exceeds max_payload"; break loop }
                    if h.flags.contains(.more) { partial[h.requestID] = p; continue }
                    partial.removeValue(forKey: h.requestID)
                    deliver(h, payload: p.payload, fds: p.fds)
                } else {
                    deliver(h, payload: body, fds: m.descriptors)
                }
            }
        }
        for p in partial.values { closeDescriptors(p.fds) }
        // Entries stay until their waiter collects them (a reply that came
        // before the death is still delivered).
        let orphans: [Pending] = lock.withLock {
            dead = true
            deathReason = reason
            return Array(pending.values)
        }
        for p in orphans { p.complete(RPCReply(status: RPCStatus.connreset, payload: [], descriptors: [], signal: 0)) }
        readerExit.withLock { readerRunning = false; readerExit.broadcast() }
    }

    private func deliver(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) {
        guard let p = lock.withLock({ pending[h.requestID] }) else {
            closeDescriptors(fds)   // a reply nobody waits for (timed out)
            return
        }
        p.complete(RPCReply(status: h.status, payload: payload, descriptors: fds, signal: Int32(h.signal)))
    }

    // MARK: calls

    /// Send a request; returns its request id for wait()/cancel().
    /// Descriptors stay owned by the caller.
    public func start(interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = []) throws(RPCError) -> UInt64 {
        guard UInt64(payload.count) <= server.limits.maxPayload else { throw RPCError(RPCStatus.msgsize, "payload of \(payload.count) bytes") }
        guard descriptors.count <= Int(server.limits.maxFDs) else { throw RPCError(RPCStatus.inval, "more than \(server.limits.maxFDs) descriptors") }
        let p = Pending(interface: interface, operation: operation)
        let id: UInt64? = lock.withLock {
            if dead { return nil }
            let id = nextID
            nextID += 1
            pending[id] = p
            return id
        }
        guard let id else { throw RPCError(RPCStatus.connreset, lock.withLock { deathReason }) }
        let chunk = Int(server.limits.maxMessage) - RPCHeader.size
        var failure: TransportError?
        sendLock.withLock {
            var offset = 0
            repeat {
                let n = min(chunk, payload.count - offset)
                let last = offset + n == payload.count
                let h = RPCHeader(flags: last ? [] : .more, interface: interface, operation: operation, requestID: id,
                                  payloadLength: UInt32(n), fdCount: offset == 0 ? UInt16(descriptors.count) : 0)
                do throws(TransportError) {
                    try transport.send(h.encoded() + payload[offset..<offset + n], descriptors: offset == 0 ? descriptors : [])
                } catch { failure = error; return }
                offset += n
            } while offset < payload.count
        }
        if let failure {
            lock.withLock { _ = pending.removeValue(forKey: id) }
            throw RPCError(RPCStatus.connreset, "\(failure)")
        }
        return id
    }

    /// Wait for the reply to `requestID`. On timeout the request is
    /// cancelled and ETIMEDOUT returned. Raises the reply's signal (if any)
    /// in the calling thread before returning.
    public func wait(_ requestID: UInt64, timeoutSeconds: Double? = nil) -> RPCReply {
        guard let p = lock.withLock({ pending[requestID] }) else {
            // Never started, or already collected by another wait().
            return RPCReply(status: lock.withLock { dead } ? RPCStatus.connreset : RPCStatus.inval, payload: [], descriptors: [], signal: 0)
        }
        let deadline = timeoutSeconds.map { monotonicNanos() + UInt64($0 * 1e9) }
        let reply: RPCReply? = p.monitor.withLock {
            while !p.done {
                if !p.monitor.wait(deadlineNanos: deadline), !p.done { return nil }
            }
            return p.reply
        }
        guard let reply else {
            cancel(requestID)
            lock.withLock { _ = pending.removeValue(forKey: requestID) }
            // A reply that raced in is dropped with its descriptors.
            p.complete(RPCReply(status: RPCStatus.timedout, payload: [], descriptors: [], signal: 0))
            return RPCReply(status: RPCStatus.timedout, payload: [], descriptors: [], signal: 0)
        }
        lock.withLock { _ = pending.removeValue(forKey: requestID) }
        if reply.signal != 0 && raisesSignals { pthread_kill(pthread_self(), reply.signal) }
        return reply
    }

    /// One call, status in the reply (not thrown).
    public func invoke(interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = [],
                       timeoutSeconds: Double? = nil) -> RPCReply {
        do {
            let id = try start(interface: interface, operation: operation, payload: payload, descriptors: descriptors)
            return wait(id, timeoutSeconds: timeoutSeconds)
        } catch {
            return RPCReply(status: error.status, payload: [], descriptors: [], signal: 0)
        }
    }

    /// RPCCaller: a non-zero status throws. (Reconnect-and-retry of
    /// idempotent calls is not implemented: `idempotent` is ignored.)
    public func call(interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
                     idempotent: Bool) throws(RPCError) -> RPCResponse {
        let id = try start(interface: interface, operation: operation, payload: payload, descriptors: descriptors)
        let r = wait(id)
        if r.status != 0 {
            closeDescriptors(r.descriptors)
            let why = r.status == RPCStatus.connreset ? lock.withLock { deathReason } : ""
            throw RPCError(r.status, why)
        }
        return RPCResponse(payload: r.payload, descriptors: r.descriptors)
    }

    /// Ask the server to cancel `requestID`; its waiter still gets exactly
    /// one reply (the result, or EINTR). Unknown or finished ids are ignored.
    public func cancel(_ requestID: UInt64) {
        guard let p = lock.withLock({ pending[requestID] }), !p.monitor.withLock({ p.done }) else { return }
        let h = RPCHeader(flags: .cancel, interface: p.interface, operation: p.operation, requestID: requestID)
        sendLock.withLock { try? transport.send(h.encoded()) }
    }

    // MARK: shared memory

    /// Create a memfd of `size` bytes sealed against shrinking and growing,
    /// map it read-write and register it with the server.
    public func registerSharedMemory(size: Int) throws(RPCError) -> SharedMemory {
        let shm = try SharedMemory.create(size: size)
        let r = invoke(interface: 0, operation: 3, descriptors: [shm.fd])
        guard r.status == 0 else { throw RPCError(r.status, "REGISTER_SHM") }
        let id: UInt32? = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            guard let id = rd.u32(), let _ = rd.u32(), let _ = rd.u64(), rd.isAtEnd else { return nil }
            return id
        }
        guard let id else { throw RPCError(RPCStatus.proto, "malformed REGISTER_SHM reply") }
        shm.id = id
        return shm
    }

    public func unregisterSharedMemory(_ shm: SharedMemory) throws(RPCError) {
        var w = PayloadWriter(); w.u32(shm.id)
        _ = try call(interface: 0, operation: 4, payload: w.bytes, descriptors: [], idempotent: false)
    }

    /// PING on the control interface.
    public func ping() throws(RPCError) { _ = try call(interface: 0, operation: 2, payload: [], descriptors: [], idempotent: true) }

    /// STATS: uptime and per-operation (interface, operation, calls, errors).
    public func stats() throws(RPCError) -> (uptimeNanos: UInt64, operations: [(interface: UInt32, operation: UInt32, calls: UInt64, errors: UInt64)]) {
        let r = try call(interface: 0, operation: 5, payload: [], descriptors: [], idempotent: true)
        let parsed: (UInt64, [(UInt32, UInt32, UInt64, UInt64)])? = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            guard let up = rd.u64(), let n = rd.count(minElementSize: 24) else { return nil }
            var ops: [(UInt32, UInt32, UInt64, UInt64)] = []
            for _ in 0..<n {
                guard let i = rd.u32(), let o = rd.u32(), let c = rd.u64(), let e = rd.u64() else { return nil }
                ops.append((i, o, c, e))
            }
            return rd.isAtEnd ? (up, ops) : nil
        }
        guard let parsed else { throw RPCError(RPCStatus.proto, "malformed STATS reply") }
        return (parsed.0, parsed.1.map { (interface: $0.0, operation: $0.1, calls: $0.2, errors: $0.3) })
    }
}

/// A memfd mapped read-write, registered with a server (`id`).
public final class SharedMemory: @unchecked Sendable {
    // @unchecked: `id` is set once before the object is handed out; the
    // mapping's bytes are the caller's to synchronise.
    public internal(set) var id: UInt32 = 0
    public let size: Int
    public let fd: Int32
    public let base: UnsafeMutableRawPointer

    /// A sealed (F_SEAL_SHRINK | F_SEAL_GROW) memfd of `size` bytes, mapped.
    public static func create(size: Int, seal: Bool = true) throws(RPCError) -> SharedMemory {
        guard size > 0 else { throw RPCError(RPCStatus.inval, "size 0") }
        let fd = husk_rpc_memfd("husk-rpc-shm")
        guard fd >= 0 else { throw RPCError(errno, "memfd_create") }
        guard ftruncate(fd, off_t(size)) == 0 else { let e = errno; Glibc.close(fd); throw RPCError(e, "ftruncate") }
        if seal {
            guard husk_rpc_add_seals(fd, husk_rpc_seal_shrink() | husk_rpc_seal_grow()) == 0 else {
                let e = errno; Glibc.close(fd); throw RPCError(e, "F_ADD_SEALS")
            }
        }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = errno; Glibc.close(fd); throw RPCError(e, "mmap")
        }
        return SharedMemory(fd: fd, base: p, size: size)
    }

    private init(fd: Int32, base: UnsafeMutableRawPointer, size: Int) { self.fd = fd; self.base = base; self.size = size }
    deinit { munmap(base, size); Glibc.close(fd) }

    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: size) }
    public func ref(offset: UInt64 = 0, length: UInt64? = nil) -> SharedMemoryRef {
        SharedMemoryRef(id: id, offset: offset, length: length ?? UInt64(size) - offset)
    }
}
