import Glibc
import Hypercalls
import Logging
import Platform
import RPCTransport
import RPCWire

public enum RPCLogLevel: String, Sendable { case debug, info, warning, error }
/// Where the runtime's log lines go (default: swift-log, `RPCServer.swiftLog`).
public typealias RPCLogger = @Sendable (RPCLogLevel, String) -> Void

/// Server-side extras a handler may use beyond RPCCall: shared memory of the
/// calling connection and opened objects.
public protocol RPCServerCallContext: RPCCall {
    /// A new connection served by this server whose identity is the
    /// caller's; returns the client's end (the caller puts it in its reply).
    func openObjectConnection(name: String) -> Result<Int32, RPCError>
    /// The same, with the new connection bound to `binding`: calls on it see
    /// it as `objectBinding`, and it is released when that connection closes.
    func openObjectConnection(name: String, binding: any Sendable) -> Result<Int32, RPCError>
    /// What the calling connection is bound to (nil unless it was opened
    /// with a binding).
    var objectBinding: (any Sendable)? { get }
    /// State the handler keeps for the calling connection (a table of
    /// handles, say): made by `make` on the first call that asks, the same
    /// object for every later call on that connection, released when the
    /// connection closes. nil when the connection already holds state of
    /// another type.
    func connectionState<T: AnyObject & Sendable>(_ make: () -> T) -> T?
    /// Run `body` over the bytes `ref` names in the connection's registered
    /// shared memory, in place: zero-copy for data the server passes through
    /// without validating (block payloads; the client may change them at any
    /// time). A handler that must validate bytes copies them out first
    /// (`Array(buffer)`) and checks the copy. EFAULT outside the region,
    /// EINVAL for an unknown id, EACCES when `writable` is asked of a region
    /// the client sealed against writes.
    func withSharedMemory<T>(
        _ ref: SharedMemoryRef, writable: Bool,
        _ body: (UnsafeMutableRawBufferPointer) -> T
    ) -> Result<T, RPCError>
    /// The calling connection as a place to post EVENT messages (protocol
    /// §8) to, now or later (a handler may keep it after the call returns).
    func eventChannel() -> RPCEventChannel
    /// The bytes `ref` names as a mapping the caller may keep after the call
    /// returns (a block queue's data buffers): it stays mapped while the
    /// returned object lives, even after the client unregisters the region
    /// or disconnects. Errors as `withSharedMemory`.
    func retainSharedMemory(_ ref: SharedMemoryRef, writable: Bool) -> Result<RPCSharedMapping, RPCError>
    /// Whether the server's policy grants `interface.operation` to the
    /// caller (for rights checked later than the call: a queue's entries).
    func isAllowed(interface: String, operation: String) -> Bool
}

/// A window of a client's shared memory kept mapped by server code beyond
/// one call (`retainSharedMemory`, or a memfd the client passed:
/// `map(memfd:)`). The client may write to it at any time: nothing in it is
/// trusted. The memfd is sealed against shrinking, so the mapping never
/// faults; it is released when the last reference goes.
public final class RPCSharedMapping: @unchecked Sendable {
    // @unchecked: immutable; the region keeps the mapping alive.
    let region: SharedRegion
    public let base: UnsafeMutableRawPointer
    public let count: Int
    public let writable: Bool

    init(region: SharedRegion, offset: Int, count: Int) {
        self.region = region
        base = UnsafeMutableRawPointer(mutating: region.base) + offset
        self.count = count
        writable = region.writable
    }

    /// Map a whole memfd the client sent (which stays owned by the caller):
    /// EINVAL when it is not a memfd sealed with F_SEAL_SHRINK, or is empty.
    public static func map(memfd fd: Int32) -> Result<RPCSharedMapping, RPCError> {
        SharedRegion.map(fd: fd).map { RPCSharedMapping(region: $0, offset: 0, count: $0.size) }
    }
}

/// A connection that server code may send EVENT messages to, during or
/// after the call that handed it out. Holds the connection weakly: once the
/// client is gone, `post` returns false.
public final class RPCEventChannel: @unchecked Sendable {
    // @unchecked: `connection` is a weak reference set once.
    weak var connection: ServerConnection?
    init(_ c: ServerConnection) { connection = c }

    /// Send an EVENT (request id 0) naming `interface` and `operation` with
    /// `payload`; `signal` (0 = none) is the signal the client is asked to
    /// deliver (it may override it with its own registration). Never
    /// blocks (queued like replies). False when the connection is closed.
    @discardableResult
    public func post(interface: UInt32, operation: UInt32, payload: [UInt8] = [], signal: Int32 = 0) -> Bool {
        guard let c = connection else { return false }
        return c.sendEvent(interface: interface, operation: operation, payload: payload, signal: UInt16(truncatingIfNeeded: signal))
    }

    public var isOpen: Bool { connection?.isOpen ?? false }

    /// Log a line about this connection (its id and identity prefixed), as
    /// the runtime logs a denied call: for server code that acts outside a
    /// call (a block queue's entries).
    /// `message` gets the client's identity as text.
    public func log(_ level: RPCLogLevel, _ message: (String) -> String) {
        guard let c = connection else { return }
        c.server.log(level, "connection \(c.id): \(message("\(c.identity)"))")
    }

    /// Close the connection for a protocol violation found outside a call
    /// (a block queue's hostile entry): logs `reason` as a warning, cancels
    /// its calls and shuts the socket down; the reader then tears it down.
    public func disconnect(reason: String) {
        guard let c = connection else { return }
        c.server.log(.warning, "connection \(c.id) (\(c.identity)): \(reason): closing it")
        c.state.withLock {
            if c.closeReason == "peer closed the connection" { c.closeReason = reason }
        }
        c.forceClose()
    }
}

/// The RPC server runtime: accepts connections, negotiates HELLO, serves the
/// control interface and dispatches calls to registered interface handlers
/// on a pool of worker threads. See docs/rpc-runtime.md.
public final class RPCServer: @unchecked Sendable {
    // @unchecked: configuration is immutable after init; `connections`,
    // `stats` and `listener` are behind their own locks; `stopping` is read
    // and written under `connectionsLock`.
    public struct Configuration: Sendable {
        public var name: String
        public var limits = RPCLimits()
        public var policy = AccessPolicy.allowAll
        public var minWorkers = 2
        public var maxWorkers = 64
        /// Offer the shared-memory call rings (protocol §11) to clients
        /// that ask for control interface version 2.
        public var rings = true
        /// Where log lines go: by default swift-log, label `husk.rpc`, with
        /// the server's name as metadata (`server=blk`); the process's
        /// LoggingSystem decides the format and destination (stderr unless
        /// bootstrapped otherwise).
        public var log: RPCLogger
        public init(name: String) {
            self.name = name
            log = RPCServer.swiftLog(server: name)
        }
    }

    public let configuration: Configuration
    let handlers: [UInt32: any RPCInterfaceHandler]
    let pool: WorkerPool
    let flusher: ReplyFlusher
    let startNanos = monotonicNanos()
    /// This server process's start epoch (protocol §4): random, non-zero,
    /// sent in every HELLO reply, so clients can tell a restarted server.
    public let epoch: UInt32 = UInt32.random(in: 1...UInt32.max)
    private let connectionsLock = Monitor()
    private var connections: [UInt64: ServerConnection] = [:]
    private var nextConnectionID: UInt64 = 1
    private(set) var stopping = false
    private let listenerBox = Locked<SeqPacketListener?>(nil)
    private let acceptDone = Monitor()
    private var acceptRunning = false
    let stats = Locked<[StatKey: StatValue]>([:])

    struct StatKey: Hashable, Comparable {
        var interface: UInt32, operation: UInt32
        static func < (a: StatKey, b: StatKey) -> Bool { (a.interface, a.operation) < (b.interface, b.operation) }
    }
    struct StatValue { var calls: UInt64 = 0, errors: UInt64 = 0 }

    public init(configuration: Configuration, handlers: [any RPCInterfaceHandler]) {
        self.configuration = configuration
        var h: [UInt32: any RPCInterfaceHandler] = [:]
        for x in handlers {
            precondition(x.interfaceID != 0, "interface 0 is the control interface")
            h[x.interfaceID] = x
        }
        self.handlers = h
        pool = WorkerPool(minThreads: configuration.minWorkers, maxThreads: configuration.maxWorkers)
        flusher = ReplyFlusher()
    }

    func log(_ level: RPCLogLevel, _ message: String) { configuration.log(level, message) }

    /// An RPCLogger over swift-log.
    public static func swiftLog(server name: String) -> RPCLogger {
        var logger = Logger(label: "husk.rpc")
        logger[metadataKey: "server"] = "\(name)"
        let l = logger
        return { level, message in
            switch level {
            case .debug: l.debug("\(message)")
            case .info: l.info("\(message)")
            case .warning: l.warning("\(message)")
            case .error: l.error("\(message)")
            }
        }
    }

    // MARK: accepting

    /// Bind `path` (see SeqPacketListener) and accept connections on a thread.
    public func listen(path: String, mode: mode_t? = nil) throws(TransportError) {
        startAccepting(try SeqPacketListener(path: path, mode: mode), path: path)
    }

    /// Accept on `fd`, an inherited socket that is already listening (from
    /// `husk up`, docs/supervision.md); `path` only names it: it is neither
    /// bound nor unlinked here, so clients keep the path across restarts.
    public func listen(inheritedDescriptor fd: Int32, path: String) throws(TransportError) {
        startAccepting(try SeqPacketListener(adoptingListening: fd, path: path), path: path)
    }

    private func startAccepting(_ l: SeqPacketListener, path: String) {
        listenerBox.withLock { $0 = l }
        acceptDone.withLock { acceptRunning = true }
        HostThread.start(name: "rpc-accept", detached: true, blockSignals: true) { [self] in
            acceptLoop(l)
            acceptDone.withLock {
                acceptRunning = false
                acceptDone.broadcast()
            }
        }
        log(.info, "server '\(configuration.name)' listening on \(path)")
    }

    private func acceptLoop(_ l: SeqPacketListener) {
        while true {
            let fd: OwnedDescriptor
            do throws(TransportError) { fd = try l.accept() } catch {
                if connectionsLock.withLock({ stopping }) { return }
                if error.errno == EMFILE || error.errno == ENFILE || error.errno == ENOMEM {
                    log(.warning, "\(error); retrying in 100 ms")
                    usleep(100_000)
                    continue
                }
                log(.error, "\(error); no longer accepting")
                return
            }
            let raw = fd.raw
            guard let who = try? SeqPacketConnection.peerIdentity(of: raw) else {
                log(.warning, "connection without peer credentials refused")
                continue  // fd closed here
            }
            _ = adopt(fd, identity: who, note: "")
        }
    }

    /// Serve an already-connected socket as a connection whose identity is
    /// `identity` (kernel credentials of a peer, or inherited for an opened
    /// object). Returns false when the server is stopping (fd closed).
    @discardableResult
    public func adopt(
        _ fd: consuming OwnedDescriptor, identity: PeerIdentity, note: String,
        binding: (any Sendable)? = nil
    ) -> Bool {
        let transport = SeqPacketConnection(
            adopting: fd, maxMessage: Int(configuration.limits.maxMessage),
            maxDescriptors: Int(configuration.limits.maxFDs))
        let conn: ServerConnection? = connectionsLock.withLock {
            if stopping { return nil }
            let c = ServerConnection(
                id: nextConnectionID, server: self, transport: transport, identity: identity,
                binding: binding)
            nextConnectionID += 1
            connections[c.id] = c
            return c
        }
        guard let conn else {
            transport.close()
            return false
        }
        log(.info, "connection \(conn.id) opened: \(identity)\(note)")
        // A hypercall thread: operations a handler runs inline (runsInline)
        // run here and may call into components.
        if !RPCServerThread.start(name: "rpc-conn-\(conn.id)", { conn.readerLoop() }) {
            HostThread.start(name: "rpc-conn-\(conn.id)", detached: true, blockSignals: true) { conn.readerLoop() }
        }
        return true
    }

    /// In-process seam for the fuzz target (Sources/RPC/Fuzzing) and tests:
    /// serve one connection over any `transport` (e.g. InMemoryTransport, no
    /// socket) with its reader running on the calling thread instead of a
    /// thread of its own. Everything else is the normal path (validation,
    /// HELLO, control interface, reassembly, policy, worker pool, replies).
    /// Returns once the reader has stopped and the connection has closed
    /// (its calls replied), or false when that takes longer than `timeout`
    /// seconds or the server is stopping.
    package func serveInline(_ transport: any RPCTransport, identity: PeerIdentity, timeout: Double = 10) -> Bool {
        let conn: ServerConnection? = connectionsLock.withLock {
            if stopping { return nil }
            let c = ServerConnection(
                id: nextConnectionID, server: self, transport: transport, identity: identity,
                binding: nil)
            nextConnectionID += 1
            connections[c.id] = c
            return c
        }
        guard let conn else {
            transport.close()
            return false
        }
        conn.readerLoop()
        let end = monotonicNanos() + UInt64(timeout * 1e9)
        return connectionsLock.withLock {
            while connections[conn.id] != nil {
                if monotonicNanos() >= end { return false }
                _ = connectionsLock.wait(deadlineNanos: min(end, monotonicNanos() + 50_000_000))
            }
            return true
        }
    }

    /// Calls in flight on every connection (for the in-process seam's users).
    package var callsInFlight: Int { connectionsLock.withLock { connections.values.reduce(0) { $0 + $1.inFlightCount } } }

    func connectionClosed(_ c: ServerConnection, reason: String) {
        connectionsLock.withLock {
            connections.removeValue(forKey: c.id)
            connectionsLock.broadcast()
        }
        log(.info, "connection \(c.id) closed (\(c.identity)): \(reason)")
    }

    /// Live connections (for tests and STATS-like reporting).
    public var connectionCount: Int { connectionsLock.withLock { connections.count } }

    var isStopping: Bool { connectionsLock.withLock { stopping } }

    // MARK: shutdown

    /// Stop accepting, stop reading requests, let in-flight calls finish
    /// until `deadline` seconds, then cancel the rest (their components see
    /// EINTR) and wait up to `grace` seconds more; then close every
    /// connection.
    public func shutdown(deadline: Double = 5, grace: Double = 2) {
        let already: Bool = connectionsLock.withLock {
            let s = stopping
            stopping = true
            return s
        }
        if already { return }
        if let l = listenerBox.withLock({ $0 }) {
            l.shutdown()
            acceptDone.withLock { while acceptRunning { acceptDone.wait(deadlineNanos: monotonicNanos() + 100_000_000) } }
            l.close()
        }
        let all = connectionsLock.withLock { Array(connections.values) }
        log(.info, "shutting down: \(all.count) connection(s), \(all.reduce(0) { $0 + $1.inFlightCount }) call(s) in flight")
        for c in all { c.stopReading() }
        func waitForCalls(_ seconds: Double) -> Bool {
            let end = monotonicNanos() + UInt64(seconds * 1e9)
            while true {
                let busy = connectionsLock.withLock { connections.values.reduce(0) { $0 + $1.inFlightCount } }
                if busy == 0 { return true }
                if monotonicNanos() >= end { return false }
                usleep(2_000)
            }
        }
        if !waitForCalls(deadline) {
            let left = connectionsLock.withLock { Array(connections.values) }
            log(.warning, "shutdown deadline passed: cancelling in-flight calls")
            for c in left { c.cancelAll() }
            if !waitForCalls(grace) { log(.error, "calls still running after cancellation; closing anyway") }
        }
        for c in connectionsLock.withLock({ Array(connections.values) }) { c.forceClose() }
        // Readers and workers finish on their own; wait briefly for the bookkeeping.
        let end = monotonicNanos() + 1_000_000_000
        connectionsLock.withLock {
            while !connections.isEmpty && monotonicNanos() < end { connectionsLock.wait(deadlineNanos: monotonicNanos() + 50_000_000) }
        }
        pool.stop()
        flusher.stop()
        log(.info, "server '\(configuration.name)' stopped")
    }

    // MARK: stats

    func count(_ interface: UInt32, _ operation: UInt32, status: Int32) {
        stats.withLock { s in
            var v = s[StatKey(interface: interface, operation: operation)] ?? StatValue()
            v.calls += 1
            if status != 0 { v.errors += 1 }
            s[StatKey(interface: interface, operation: operation)] = v
        }
    }

    /// (interface, operation, calls, errors), sorted.
    public func statistics() -> [(interface: UInt32, operation: UInt32, calls: UInt64, errors: UInt64)] {
        stats.withLock { s in s.keys.sorted().map { k in (k.interface, k.operation, s[k]!.calls, s[k]!.errors) } }
    }

    public var uptimeNanos: UInt64 { monotonicNanos() - startNanos }

    func operationName(_ interface: UInt32, _ operation: UInt32) -> (String, String) {
        if interface == RPCControl.interface { return ("control", RPCControl.name(operation)) }
        guard let h = handlers[interface] else { return ("interface\(interface)", "op\(operation)") }
        return (h.interfaceName, h.operationNames[operation] ?? "op\(operation)")
    }
}
