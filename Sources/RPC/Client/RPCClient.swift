import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// The Swift client: one connection, any number of threads calling at once,
/// replies matched by request id on a reader thread.
public final class RPCClient: RPCCaller, @unchecked Sendable {
    // @unchecked: `pending`, `dead`, `deathReason` are guarded by `lock`;
    // sends are serialised by `sendLock` (so fragments stay contiguous);
    // With `reconnect`, `transport`, `serverInfo` and `generation` change on
    // a reconnect (under `lock`).
    public var server: RPCServerInfo { lock.withLock { serverInfo } }
    var transport: SeqPacketConnection { lock.withLock { currentTransport } }
    var currentTransport: SeqPacketConnection
    var serverInfo: RPCServerInfo
    let lock = Monitor()
    /// Requests sent on the current connection whose reply has not come:
    /// start() waits while this is at the server's max_in_flight, so a
    /// well-behaved client never meets the server's back-pressure (where the
    /// server stops reading, and so could not read a CANCEL either).
    var unanswered = 0
    let sendLock = Monitor()
    var pending: [UInt64: Pending] = [:]
    var dead = false
    var deathReason = ""
    var nextID: UInt64 = 1
    var readersRunning = 0
    let readerExit = Monitor()
    /// Connection number: bumped by each reconnect (under `lock`).
    var generation: UInt64 = 0
    var closedByUser = false
    /// Reconnect settings (nil: a dead connection stays dead).
    let reconnectOptions: ReconnectOptions?
    let path: String?
    let required: [(interface: UInt32, version: UInt32)]
    let reconnectLock = Monitor()
    /// For an opened object's client: the client whose call opened it (ESTALE detection).
    let parent: RPCClient?
    /// Ask for the shared-memory call rings (protocol §11) on every
    /// connection this client makes (reconnects too).
    let wantsRing: Bool
    /// The data path a client asks for unless told otherwise: the rings when
    /// the environment has HUSK_RPC_RING=1 (how the test suites run on both
    /// paths), else the socket.
    public static let ringByDefault: Bool = {
        guard let v = getenv("HUSK_RPC_RING") else { return false }
        return String(cString: v) == "1"
    }()
    /// Event → signal registrations (under `lock`).
    var eventSignals: [UInt64: (signal: Int32, target: EventSignalTarget)] = [:]
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
            self.timeoutSeconds = timeoutSeconds
            self.retryIntervalSeconds = retryIntervalSeconds
            self.maxRetries = maxRetries
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

    // MARK: connecting

    /// Connect to `path`, say HELLO, and check that the server offers every
    /// interface in `require` at (at least) the given version.
    /// With `reconnect`, a dead connection is re-established on the next
    /// call (same path, HELLO again) and calls marked idempotent that died
    /// with it are retried; other calls fail with ECONNRESET.
    public static func connect(
        path: String, require: [(interface: UInt32, version: UInt32)] = [],
        timeoutSeconds: Double = 10, reconnect: ReconnectOptions? = nil, ring: Bool = RPCClient.ringByDefault
    ) throws(RPCError) -> RPCClient {
        let t = try dial(path)
        let info = try hello(t, require: require, timeoutSeconds: timeoutSeconds, ring: ring)
        return RPCClient(transport: t, info: info, path: path, require: require, reconnect: reconnect, parent: nil, ring: ring)
    }

    static func dial(_ path: String) throws(RPCError) -> SeqPacketConnection {
        do { return try SeqPacketConnection.connect(path: path, maxMessage: 1 << 20, maxDescriptors: 64) } catch {
            throw RPCError(error.errno == ENOENT || error.errno == ECONNREFUSED ? RPCStatus.connreset : error.errno, "\(error)")
        }
    }

    /// Use an already-connected descriptor (e.g. an opened object's, from an
    /// `fd` reply field); takes ownership. Pass the client whose call
    /// returned the descriptor as `parent`: once that client has seen the
    /// server restart (another epoch), calls on this handle fail with ESTALE.
    public static func adopt(
        fd: Int32, require: [(interface: UInt32, version: UInt32)] = [],
        timeoutSeconds: Double = 10, parent: RPCClient? = nil, ring: Bool? = nil
    ) throws(RPCError) -> RPCClient {
        let t = SeqPacketConnection(adopting: OwnedDescriptor(fd), maxMessage: 1 << 20, maxDescriptors: 64)
        let useRing = ring ?? parent?.wantsRing ?? ringByDefault
        let info = try hello(t, require: require, timeoutSeconds: timeoutSeconds, ring: useRing)
        return RPCClient(transport: t, info: info, path: nil, require: require, reconnect: nil, parent: parent, ring: useRing)
    }

    init(
        transport: SeqPacketConnection, info: RPCServerInfo, path: String?,
        require: [(interface: UInt32, version: UInt32)], reconnect: ReconnectOptions?, parent: RPCClient?, ring: Bool
    ) {
        wantsRing = ring
        currentTransport = transport
        serverInfo = info
        self.path = path
        self.required = require
        self.reconnectOptions = reconnect
        self.parent = parent
        nextID = 2
        readersRunning = 1
        transport.consumerState = Incoming()
        transport.callersReceive = info.ringActive
        HostThread.start(name: "rpc-client", detached: true, blockSignals: true) { [self] in readerLoop(transport, generation: 0) }
    }

    /// Say HELLO on a fresh connection, then set up the call rings when
    /// `ring` asks for them and the server offers them; closes it on failure.
    static func hello(
        _ transport: SeqPacketConnection, require: [(interface: UInt32, version: UInt32)],
        timeoutSeconds: Double, ring: Bool
    ) throws(RPCError) -> RPCServerInfo {
        var info = try helloOnly(transport, require: require, timeoutSeconds: timeoutSeconds, ring: ring)
        if ring && info.features & RPCControl.featureRing != 0 && (info.interfaces[RPCControl.interface] ?? 0) >= 2 {
            info.ringActive = try setUpRing(transport, timeoutSeconds: timeoutSeconds)
        }
        return info
    }

    static func helloOnly(
        _ transport: SeqPacketConnection, require: [(interface: UInt32, version: UInt32)],
        timeoutSeconds: Double, ring: Bool
    ) throws(RPCError) -> RPCServerInfo {
        var w = PayloadWriter()
        w.u16(RPCHeader.protocolVersion)
        w.u16(RPCHeader.protocolVersion)
        // Control interface version 2 only when the rings are wanted: a
        // socket-path client's HELLO stays as it always was.
        let asked = [(RPCControl.interface, ring ? RPCControl.version : UInt32(1))] + require.map { ($0.interface, $0.version) }
        w.u32(UInt32(asked.count))
        for (i, v) in asked {
            w.u32(i)
            w.u32(v)
        }
        let h = RPCHeader(
            interface: RPCControl.interface, operation: RPCControl.Operation.hello.rawValue, requestID: 1,
            payloadLength: UInt32(w.bytes.count))
        do { try transport.send(h.encoded() + w.bytes) } catch {
            transport.close()
            throw RPCError(RPCStatus.connreset, "sending HELLO: \(error)")
        }
        var pfd = pollfd(fd: transport.fd, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, Int32(timeoutSeconds * 1000)) <= 0 {
            transport.close()
            throw RPCError(RPCStatus.timedout, "no HELLO reply within \(timeoutSeconds) s")
        }
        let m: ReceivedMessage
        switch transport.receive() {
        case .message(let x): m = x
        case .closed:
            transport.close()
            throw RPCError(RPCStatus.connreset, "server closed the connection during HELLO")
        case .rejected(let e, _):
            transport.close()
            throw RPCError(RPCStatus.proto, "HELLO reply: \(e)")
        }
        closeDescriptors(m.descriptors)
        let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: 0) }
        guard case .success(let rh) = decoded, rh.flags.contains(.reply), rh.requestID == 1, rh.interface == RPCControl.interface,
            rh.operation == RPCControl.Operation.hello.rawValue
        else {
            // A header whose version is not 1 lands here too.
            transport.close()
            if m.bytes.count >= 28 {
                let status = m.bytes.withUnsafeBytes { b -> Int32 in
                    var r = PayloadReader(b)
                    for _ in 0..<6 { _ = r.u32() }
                    return r.i32() ?? 0
                }
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
            guard let v = r.u16(), let features = r.u16(), let name = r.string(), let n = r.count(minElementSize: 8) else { return nil }
            var ifs: [UInt32: UInt32] = [:]
            for _ in 0..<n {
                guard let i = r.u32(), let ver = r.u32() else { return nil }
                ifs[i] = ver
            }
            guard let mm = r.u32(), let mf = r.u32(), let mi = r.u32(), let epoch = r.u32(), let ms = r.u64(), let mp = r.u64(), r.isAtEnd
            else { return nil }
            var l = RPCLimits()
            l.maxMessage = mm
            l.maxFDs = mf
            l.maxInFlight = mi
            l.maxSharedMemory = ms
            l.maxPayload = mp
            return RPCServerInfo(protocolVersion: v, name: name, interfaces: ifs, limits: l, epoch: epoch, features: features)
        }
        guard let info else {
            transport.close()
            throw RPCError(RPCStatus.proto, "malformed HELLO reply payload")
        }
        for (i, v) in require {
            let has = info.interfaces[i] ?? 0
            if has == 0 {
                transport.close()
                throw RPCError(
                    RPCStatus.nosys, "interface \(i) version \(v) not offered by server '\(info.name)': it does not have that interface")
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
        let t = lock.withLock {
            closedByUser = true
            return currentTransport
        }
        t.shutdown()
        readerExit.withLock { while readersRunning > 0 { readerExit.wait(deadlineNanos: monotonicNanos() + 100_000_000) } }
    }

    public var isConnected: Bool { lock.withLock { !dead } }

    /// How many times this client has reconnected.
    public var reconnectCount: UInt64 { lock.withLock { generation } }
}
