import Glibc
import PlatformC
import RPCSys
import RPCTransport
import RPCWire
import Platform

/// What the server said in its HELLO reply.
public struct RPCServerInfo: Sendable {
    public var protocolVersion: UInt16
    public var name: String
    /// Versions of the interfaces asked for (0 = not offered).
    public var interfaces: [UInt32: UInt32]
    public var limits: RPCLimits
    /// The server's start epoch (protocol §4: the HELLO reply's `epoch`):
    /// a random non-zero value chosen at each server start, the same on
    /// every connection (also opened objects') to that server process.
    public var epoch: UInt32
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
    // With `reconnect`, `transport`, `serverInfo` and `generation` change on
    // a reconnect (under `lock`).
    public var server: RPCServerInfo { lock.withLock { serverInfo } }
    var transport: SeqPacketConnection { lock.withLock { currentTransport } }
    private var currentTransport: SeqPacketConnection
    private var serverInfo: RPCServerInfo
    private let lock = Monitor()
    /// Requests sent on the current connection whose reply has not come:
    /// start() waits while this is at the server's max_in_flight, so a
    /// well-behaved client never meets the server's back-pressure (where the
    /// server stops reading, and so could not read a CANCEL either).
    private var unanswered = 0
    private let sendLock = Monitor()
    private var pending: [UInt64: Pending] = [:]
    private var dead = false
    private var deathReason = ""
    private var nextID: UInt64 = 1
    private var readersRunning = 0
    private let readerExit = Monitor()
    /// Connection number: bumped by each reconnect (under `lock`).
    private var generation: UInt64 = 0
    private var closedByUser = false
    /// Reconnect settings (nil: a dead connection stays dead).
    private let reconnectOptions: ReconnectOptions?
    private let path: String?
    private let required: [(interface: UInt32, version: UInt32)]
    private let reconnectLock = Monitor()
    /// For an opened object's client: the client whose call opened it (ESTALE detection).
    private let parent: RPCClient?
    /// Event → signal registrations (under `lock`).
    private var eventSignals: [UInt64: (signal: Int32, target: EventSignalTarget)] = [:]
    /// Raise reply signals in the calling thread (pthread_kill) before a call returns.
    public var raisesSignals = true
    /// A calling thread interrupted by a signal whose handler lacks
    /// SA_RESTART cancels its call (see docs/rpc-runtime.md, "Signals").
    public var signalsInterruptCalls = true
    /// Called on the reader thread for EVENT messages.
    public var onEvent: (@Sendable (RPCHeader, [UInt8]) -> Void)?

    /// When the connection dies: reconnect to the same path (HELLO again)
    /// and retry calls marked idempotent.
    public struct ReconnectOptions: Sendable {
        /// How long to keep trying to connect (the server may be restarting).
        public var timeoutSeconds: Double
        /// Pause between attempts.
        public var retryIntervalSeconds: Double
        /// How many times one idempotent call is retried.
        public var maxRetries: Int
        public init(timeoutSeconds: Double = 10, retryIntervalSeconds: Double = 0.05, maxRetries: Int = 3) {
            self.timeoutSeconds = timeoutSeconds; self.retryIntervalSeconds = retryIntervalSeconds; self.maxRetries = maxRetries
        }
    }

    /// Where a signal registered for an event goes.
    public enum EventSignalTarget: Sendable {
        /// kill(getpid(), signal): process-directed.
        case process
        /// pthread_kill(thread, signal).
        case thread(pthread_t)
        /// The calling thread of registerEventSignal.
        public static var currentThread: EventSignalTarget { .thread(pthread_self()) }
    }

    final class Pending: @unchecked Sendable {
        // @unchecked: every field is guarded by `monitor`.
        let monitor = Monitor()
        let interface: UInt32, operation: UInt32
        var done = false
        var reply = RPCReply(status: 0, payload: [], descriptors: [], signal: 0)
        var fragments: [UInt8]? = nil
        var fragmentFDs: [Int32] = []
        /// A waiter blocked in read() on this eventfd (see wait()).
        var wakeFD: Int32 = -1
        /// An async waiter.
        var continuation: CheckedContinuation<RPCReply, Never>?
        /// The connection generation the request was sent on.
        let generation: UInt64
        init(interface: UInt32, operation: UInt32, generation: UInt64) {
            self.interface = interface; self.operation = operation; self.generation = generation
        }
        func complete(_ r: RPCReply) {
            let c: CheckedContinuation<RPCReply, Never>? = monitor.withLock {
                if done { closeDescriptors(r.descriptors); return nil }
                reply = r; done = true; monitor.broadcast()
                // Written under the monitor: a waiter that sees `done` after
                // registering knows the eventfd holds this write.
                if wakeFD >= 0 { var one: UInt64 = 1; _ = Glibc.write(wakeFD, &one, 8) }
                let c = continuation
                continuation = nil
                return c
            }
            c?.resume(returning: r)
        }
    }

    /// One blocking eventfd per calling thread (created on first use, closed
    /// when the thread exits): what a synchronous call waits on.
    private enum WaitFD {
        static let key: pthread_key_t = {
            var k = pthread_key_t()
            pthread_key_create(&k) { p in
                let v = Int(bitPattern: p)
                if v > 0 { _ = Glibc.close(Int32(v - 1)) }
            }
            return k
        }()
        static func current() -> Int32? {
            let v = Int(bitPattern: pthread_getspecific(key))
            if v > 0 { return Int32(v - 1) }
            let fd = husk_eventfd(0)
            guard fd >= 0 else { return nil }
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: Int(fd) + 1))
            return fd
        }
    }

    // MARK: connecting

    /// Connect to `path`, say HELLO, and check that the server offers every
    /// interface in `require` at (at least) the given version.
    /// With `reconnect`, a dead connection is re-established on the next
    /// call (same path, HELLO again) and calls marked idempotent that died
    /// with it are retried; other calls fail with ECONNRESET.
    public static func connect(path: String, require: [(interface: UInt32, version: UInt32)] = [],
                               timeoutSeconds: Double = 10, reconnect: ReconnectOptions? = nil) throws(RPCError) -> RPCClient {
        let t = try dial(path)
        let info = try hello(t, require: require, timeoutSeconds: timeoutSeconds)
        return RPCClient(transport: t, info: info, path: path, require: require, reconnect: reconnect, parent: nil)
    }

    private static func dial(_ path: String) throws(RPCError) -> SeqPacketConnection {
        do { return try SeqPacketConnection.connect(path: path, maxMessage: 1 << 20, maxDescriptors: 64) }
        catch { throw RPCError(error.errno == ENOENT || error.errno == ECONNREFUSED ? RPCStatus.connreset : error.errno, "\(error)") }
    }

    /// Use an already-connected descriptor (e.g. an opened object's, from an
    /// `fd` reply field); takes ownership. Pass the client whose call
    /// returned the descriptor as `parent`: once that client has seen the
    /// server restart (another epoch), calls on this handle fail with ESTALE.
    public static func adopt(fd: Int32, require: [(interface: UInt32, version: UInt32)] = [],
                             timeoutSeconds: Double = 10, parent: RPCClient? = nil) throws(RPCError) -> RPCClient {
        let t = SeqPacketConnection(adopting: OwnedDescriptor(fd), maxMessage: 1 << 20, maxDescriptors: 64)
        let info = try hello(t, require: require, timeoutSeconds: timeoutSeconds)
        return RPCClient(transport: t, info: info, path: nil, require: require, reconnect: nil, parent: parent)
    }

    private init(transport: SeqPacketConnection, info: RPCServerInfo, path: String?,
                 require: [(interface: UInt32, version: UInt32)], reconnect: ReconnectOptions?, parent: RPCClient?) {
        currentTransport = transport
        serverInfo = info
        self.path = path
        self.required = require
        self.reconnectOptions = reconnect
        self.parent = parent
        nextID = 2
        readersRunning = 1
        HostThread.start(name: "rpc-client", detached: true, blockSignals: true) { [self] in readerLoop(transport, generation: 0) }
    }

    /// Say HELLO on a fresh connection; closes it on failure.
    private static func hello(_ transport: SeqPacketConnection, require: [(interface: UInt32, version: UInt32)],
                              timeoutSeconds: Double) throws(RPCError) -> RPCServerInfo {
        var w = PayloadWriter()
        w.u16(RPCHeader.protocolVersion); w.u16(RPCHeader.protocolVersion)
        let asked = [(UInt32(0), UInt32(1))] + require.map { ($0.interface, $0.version) }
        w.u32(UInt32(asked.count))
        for (i, v) in asked { w.u32(i); w.u32(v) }
        let h = RPCHeader(interface: RPCControl.interface, operation: RPCControl.Operation.hello.rawValue, requestID: 1, payloadLength: UInt32(w.bytes.count))
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
            guard let mm = r.u32(), let mf = r.u32(), let mi = r.u32(), let epoch = r.u32(), let ms = r.u64(), let mp = r.u64(), r.isAtEnd else { return nil }
            var l = RPCLimits()
            l.maxMessage = mm; l.maxFDs = mf; l.maxInFlight = mi; l.maxSharedMemory = ms; l.maxPayload = mp
            return RPCServerInfo(protocolVersion: v, name: name, interfaces: ifs, limits: l, epoch: epoch)
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
        return info
    }

    deinit { currentTransport.close() }

    /// Close the connection: pending calls fail with ECONNRESET (and no
    /// reconnect happens any more).
    public func close() {
        let t = lock.withLock { closedByUser = true; return currentTransport }
        t.shutdown()
        readerExit.withLock { while readersRunning > 0 { readerExit.wait(deadlineNanos: monotonicNanos() + 100_000_000) } }
    }

    public var isConnected: Bool { lock.withLock { !dead } }

    /// How many times this client has reconnected.
    public var reconnectCount: UInt64 { lock.withLock { generation } }

    // MARK: reconnecting

    /// Re-establish a dead connection (same path, HELLO again) unless
    /// another thread already did since generation `seen`. Returns the
    /// current generation, or throws ECONNRESET when it cannot.
    @discardableResult
    private func reconnect(after seen: UInt64) throws(RPCError) -> UInt64 {
        guard let opts = reconnectOptions, let path else { throw RPCError(RPCStatus.connreset, lock.withLock { deathReason }) }
        reconnectLock.lock()
        defer { reconnectLock.unlock() }
        do {
            let (gen, isDead, closed) = lock.withLock { (generation, dead, closedByUser) }
            if closed { throw RPCError(RPCStatus.connreset, "client closed") }
            if gen != seen && !isDead { return gen }
            if !isDead {
                // The caller saw ECONNRESET on this generation: wait for its reader to notice.
                let t = lock.withLock { currentTransport }
                t.shutdown()
                let end = monotonicNanos() + 1_000_000_000
                while !lock.withLock({ dead }) && monotonicNanos() < end { usleep(1_000) }
            }
            let end = monotonicNanos() + UInt64(opts.timeoutSeconds * 1e9)
            var lastError = RPCError(RPCStatus.connreset, "reconnect")
            while true {
                do throws(RPCError) {
                    let t = try RPCClient.dial(path)
                    let info = try RPCClient.hello(t, require: required, timeoutSeconds: max(0.1, opts.timeoutSeconds))
                    let (old, g): (SeqPacketConnection, UInt64) = lock.withLock {
                        let old = currentTransport
                        currentTransport = t
                        serverInfo = info
                        generation += 1
                        dead = false
                        deathReason = ""
                        readersRunning += 1
                        return (old, generation)
                    }
                    _ = old   // closed by its reader's exit path (deinit of the last reference)
                    HostThread.start(name: "rpc-client", detached: true, blockSignals: true) { [self] in readerLoop(t, generation: g) }
                    return g
                } catch {
                    lastError = error
                }
                if monotonicNanos() >= end { throw RPCError(RPCStatus.connreset, "reconnect to \(path) failed: \(lastError)") }
                usleep(useconds_t(opts.retryIntervalSeconds * 1e6))
            }
        }
    }

    // MARK: events

    /// Deliver `signal` (process-directed with kill, or to one thread with
    /// pthread_kill) when an EVENT for (interface, operation) arrives,
    /// SIGIO-style. `signal` 0 uses the signal the event carries in its
    /// header (nothing when that is 0 too). `onEvent` runs first (so a
    /// signal handler can rely on what it recorded).
    public func registerEventSignal(interface: UInt32, operation: UInt32, signal: Int32, target: EventSignalTarget = .process) {
        lock.withLock { eventSignals[UInt64(interface) << 32 | UInt64(operation)] = (signal, target) }
    }

    public func unregisterEventSignal(interface: UInt32, operation: UInt32) {
        lock.withLock { _ = eventSignals.removeValue(forKey: UInt64(interface) << 32 | UInt64(operation)) }
    }

    private func event(_ h: RPCHeader, _ body: [UInt8]) {
        onEvent?(h, body)
        if let reg = lock.withLock({ eventSignals[UInt64(h.interface) << 32 | UInt64(h.operation)] }) {
            let sig = reg.signal != 0 ? reg.signal : Int32(h.signal)
            if sig > 0 && sig < 65 {
                switch reg.target {
                case .process: kill(getpid(), sig)
                case .thread(let t): pthread_kill(t, sig)
                }
            }
        }
    }

    // MARK: reader

    private func readerLoop(_ transport: SeqPacketConnection, generation gen: UInt64) {
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
                if h.flags.contains(.event) { closeDescriptors(m.descriptors); event(h, body); continue }
                guard h.flags.contains(.reply) else { closeDescriptors(m.descriptors); continue }
                if h.flags.contains(.more) || partial[h.requestID] != nil {
                    var p = partial[h.requestID] ?? ([], [])
                    p.payload.append(contentsOf: body)
                    p.fds.append(contentsOf: m.descriptors)
                    if p.payload.count > Int(lock.withLock({ serverInfo.limits.maxPayload })) { closeDescriptors(p.fds); reason = "reply exceeds max_payload"; break loop }
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
            if generation == gen {
                dead = true
                deathReason = reason
                unanswered = 0
                lock.broadcast()
            }
            return pending.values.filter { $0.generation == gen }
        }
        for p in orphans { p.complete(RPCReply(status: RPCStatus.connreset, payload: [], descriptors: [], signal: 0)) }
        transport.shutdown()
        readerExit.withLock { readersRunning -= 1; readerExit.broadcast() }
    }

    private func deliver(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) {
        // Every request gets exactly one final reply, collected or not.
        lock.withLock { unanswered = max(0, unanswered - 1); lock.broadcast() }
        guard let p = lock.withLock({ pending[h.requestID] }) else {
            closeDescriptors(fds)   // a reply nobody waits for (timed out)
            return
        }
        p.complete(RPCReply(status: h.status, payload: payload, descriptors: fds, signal: Int32(h.signal)))
    }

    // MARK: calls

    /// Send a request; returns its request id for wait()/cancel().
    /// Descriptors stay owned by the caller.
    /// With `reconnect`, a dead connection is re-established first (the
    /// request was never sent, so this is safe for any call).
    public func start(interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = []) throws(RPCError) -> UInt64 {
        try checkHandle()
        var info = server
        guard UInt64(payload.count) <= info.limits.maxPayload else { throw RPCError(RPCStatus.msgsize, "payload of \(payload.count) bytes") }
        guard descriptors.count <= Int(info.limits.maxFDs) else { throw RPCError(RPCStatus.inval, "more than \(info.limits.maxFDs) descriptors") }
        var registered: (id: UInt64, p: Pending, t: SeqPacketConnection)? = nil
        var seen: UInt64 = 0
        for attempt in 0..<2 {
            registered = lock.withLock {
                seen = generation
                while !dead && unanswered >= Int(serverInfo.limits.maxInFlight) { _ = lock.wait() }
                if dead { return nil }
                unanswered += 1
                let id = nextID
                nextID += 1
                let p = Pending(interface: interface, operation: operation, generation: generation)
                pending[id] = p
                info = serverInfo
                return (id, p, currentTransport)
            }
            if registered != nil || attempt == 1 || reconnectOptions == nil { break }
            try reconnect(after: seen)
        }
        guard let (id, _, transport) = registered else { throw RPCError(RPCStatus.connreset, lock.withLock { deathReason }) }
        let chunk = Int(info.limits.maxMessage) - RPCHeader.size
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
            lock.withLock { _ = pending.removeValue(forKey: id); unanswered = max(0, unanswered - 1); lock.broadcast() }
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
        if timeoutSeconds == nil && signalsInterruptCalls, let efd = WaitFD.current() {
            waitInterruptibly(p, requestID: requestID, eventFD: efd)
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

    /// Block until `p` is done in a read() of the thread's eventfd: the
    /// place where EINTR surfaces. The kernel applies the interrupting
    /// signal's SA_RESTART flag itself: with it, read() is restarted
    /// transparently (we keep waiting, nothing is re-sent); without it,
    /// read() fails with EINTR, and we send CANCEL once and keep waiting
    /// for the server's final reply (the result, or EINTR).
    private func waitInterruptibly(_ p: Pending, requestID: UInt64, eventFD efd: Int32) {
        var registered = false, consumed = false, cancelled = false
        while true {
            let done: Bool = p.monitor.withLock {
                if p.done { return true }
                if !registered { p.wakeFD = efd; registered = true }
                return false
            }
            if done { break }
            var v: UInt64 = 0
            let n = Glibc.read(efd, &v, 8)
            if n == 8 { consumed = true; continue }
            if n < 0 && errno == EINTR {
                if !cancelled { cancelled = true; cancel(requestID) }
                continue
            }
            // Unexpected: leave it to the condition wait (p.wakeFD stays
            // registered, so drain below once done).
            let stillRegistered: Bool = p.monitor.withLock {
                while !p.done { p.monitor.wait() }
                return true
            }
            _ = stillRegistered
            break
        }
        if registered && !consumed {
            // complete() wrote under the monitor before we saw `done`: drain
            // it so the next call on this thread does not wake early.
            var v: UInt64 = 0
            while Glibc.read(efd, &v, 8) < 0 && errno == EINTR {}
        }
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

    /// RPCCaller: a non-zero status throws. With `reconnect`, a call marked
    /// `idempotent` that died with the connection (ECONNRESET) is sent again
    /// on a new connection; any other call fails with ECONNRESET.
    public func call(interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
                     idempotent: Bool) throws(RPCError) -> RPCResponse {
        var retries = 0
        while true {
            guard let (id, generation) = try startAttempt(interface: interface, operation: operation, payload: payload,
                                                          descriptors: descriptors, idempotent: idempotent, retries: &retries)
            else { continue }
            if let response = try finishAttempt(wait(id), generation: generation, idempotent: idempotent, mayRetry: true,
                                                retries: &retries) {
                return response
            }
        }
    }

    /// The async call: Task cancellation sends CANCEL for the request and
    /// the call returns the server's final reply (the result if it had
    /// completed, else EINTR, thrown). Retries exactly as the synchronous
    /// call does (the same two steps), except once the Task is cancelled.
    public func call(interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = [],
                     idempotent: Bool = false) async throws(RPCError) -> RPCResponse {
        var retries = 0
        while true {
            guard let (id, generation) = try startAttempt(interface: interface, operation: operation, payload: payload,
                                                          descriptors: descriptors, idempotent: idempotent, retries: &retries)
            else { continue }
            let reply = await waitAsync(id)
            if let response = try finishAttempt(reply, generation: generation, idempotent: idempotent,
                                                mayRetry: !Task.isCancelled, retries: &retries) {
                return response
            }
        }
    }

    /// First step of one attempt of a call: send it. Returns the request id
    /// and the connection generation it went out on, or nil when the send
    /// met a connection that had just died and the call is to be retried
    /// on a new one (idempotent, with `reconnect`, retries left).
    private func startAttempt(interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
                              idempotent: Bool, retries: inout Int) throws(RPCError) -> (UInt64, UInt64)? {
        let seen = lock.withLock { generation }
        let id: UInt64
        do throws(RPCError) {
            id = try start(interface: interface, operation: operation, payload: payload, descriptors: descriptors)
        } catch {
            if error.status == RPCStatus.connreset, idempotent, let opts = reconnectOptions, retries < opts.maxRetries {
                retries += 1
                try reconnect(after: seen)
                return nil
            }
            throw error
        }
        return (id, lock.withLock { pending[id]?.generation ?? generation })
    }

    /// Second step: judge the reply. Returns the response, nil to retry on
    /// a new connection (ECONNRESET of an idempotent call, `mayRetry`,
    /// retries left), or throws the status.
    private func finishAttempt(_ r: RPCReply, generation: UInt64, idempotent: Bool, mayRetry: Bool,
                               retries: inout Int) throws(RPCError) -> RPCResponse? {
        if r.status == 0 { return RPCResponse(payload: r.payload, descriptors: r.descriptors) }
        closeDescriptors(r.descriptors)
        if r.status == RPCStatus.connreset {
            try checkHandle(afterReset: true)
            if idempotent, mayRetry, let opts = reconnectOptions, retries < opts.maxRetries {
                retries += 1
                try reconnect(after: generation)
                return nil
            }
        }
        throw RPCError(r.status, r.status == RPCStatus.connreset ? lock.withLock { deathReason } : "")
    }

    /// Wait for the reply without blocking a thread; Task cancellation
    /// sends CANCEL and the server's final reply is still awaited.
    private func waitAsync(_ id: UInt64) async -> RPCReply {
        guard let p = lock.withLock({ pending[id] }) else {
            return RPCReply(status: RPCStatus.connreset, payload: [], descriptors: [], signal: 0)
        }
        let r: RPCReply = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<RPCReply, Never>) in
                let now: RPCReply? = p.monitor.withLock {
                    if p.done { return p.reply }
                    p.continuation = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            self.cancel(id)
        }
        lock.withLock { _ = pending.removeValue(forKey: id) }
        return r
    }

    /// A handle (opened object) from before a server restart is stale: its
    /// parent client reconnected to a server with another epoch. After the
    /// handle's own connection reset, the parent is asked to PING first (so
    /// a parent with `reconnect` finds out whether the server restarted).
    private func checkHandle(afterReset: Bool = false) throws(RPCError) {
        guard let parent else { return }
        let mine = server.epoch
        if afterReset { try? parent.ping() }
        let now = parent.server.epoch
        if now != mine {
            throw RPCError(RPCStatus.stale, "handle from server epoch \(mine); server restarted (epoch \(now))")
        }
    }

    /// Ask the server to cancel `requestID`; its waiter still gets exactly
    /// one reply (the result, or EINTR). Unknown or finished ids are ignored.
    public func cancel(_ requestID: UInt64) {
        guard let p = lock.withLock({ pending[requestID] }), !p.monitor.withLock({ p.done }) else { return }
        let h = RPCHeader(flags: .cancel, interface: p.interface, operation: p.operation, requestID: requestID)
        let t: SeqPacketConnection? = lock.withLock { generation == p.generation ? currentTransport : nil }
        guard let t else { return }
        sendLock.withLock { try? t.send(h.encoded()) }
    }

    // MARK: shared memory

    /// Create a memfd of `size` bytes sealed against shrinking and growing,
    /// map it read-write and register it with the server.
    public func registerSharedMemory(size: Int) throws(RPCError) -> SharedMemory {
        let shm = try SharedMemory.create(size: size)
        let r = invoke(interface: RPCControl.interface, operation: RPCControl.Operation.registerShm.rawValue, descriptors: [shm.fd])
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
        _ = try call(interface: RPCControl.interface, operation: RPCControl.Operation.unregisterShm.rawValue, payload: w.bytes, descriptors: [], idempotent: false)
    }

    /// PING on the control interface.
    public func ping() throws(RPCError) { _ = try call(interface: RPCControl.interface, operation: RPCControl.Operation.ping.rawValue, payload: [], descriptors: [], idempotent: true) }

    /// STATS: uptime and per-operation (interface, operation, calls, errors).
    public func stats() throws(RPCError) -> (uptimeNanos: UInt64, operations: [(interface: UInt32, operation: UInt32, calls: UInt64, errors: UInt64)]) {
        let r = try call(interface: RPCControl.interface, operation: RPCControl.Operation.stats.rawValue, payload: [], descriptors: [], idempotent: true)
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
