/// The contract between generated stubs and the RPC runtime.

/// Who is calling, from the kernel (SO_PEERCRED, SO_PEERGROUPS), never from a payload.
public struct PeerIdentity: Equatable, Sendable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    /// Logged, never used for authorisation.
    public var pid: Int32
    public init(uid: UInt32, gid: UInt32, groups: [UInt32], pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.pid = pid
    }
    public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }
}

/// One incoming call, as a server-side handler sees it.
public protocol RPCCall: AnyObject, Sendable {
    var identity: PeerIdentity { get }
    var interface: UInt32 { get }
    var operation: UInt32 { get }
    /// Set when the client cancelled the call (the runtime also sets the
    /// serving thread's hypercall cancellation flag).
    var isCancelled: Bool { get }
    /// Descriptors that came with the request, in order; the handler owns
    /// what it takes.
    func takeDescriptor() -> Int32?
    /// Ask the client to raise `signal` in the calling thread before the call returns.
    func raiseSignal(_ signal: Int32)
}

/// The reply a handler produces.
public struct RPCReplyBody: Sendable {
    public var status: Int32
    public var payload: [UInt8]
    /// Descriptors sent with the reply; the runtime closes them after sending.
    public var descriptors: [Int32]
    public init(status: Int32 = RPCStatus.ok, payload: [UInt8] = [], descriptors: [Int32] = []) {
        self.status = status
        self.payload = payload
        self.descriptors = descriptors
    }
    public static func error(_ status: Int32) -> RPCReplyBody { RPCReplyBody(status: status) }
}

/// A server-side interface: generated dispatchers conform to it.
public protocol RPCInterfaceHandler: Sendable {
    var interfaceID: UInt32 { get }
    var interfaceVersion: UInt32 { get }
    var interfaceName: String { get }
    /// Operation names by id, for logs, stats and policies.
    var operationNames: [UInt32: String] { get }
    /// Decode the payload, call the implementation, encode the reply.
    /// Unknown operations return ENOSYS; undecodable payloads EINVAL.
    func dispatch(operation: UInt32, payload: UnsafeRawBufferPointer, call: any RPCCall) -> RPCReplyBody
    /// True for operations so short that the server runs them on the
    /// connection's reader thread, saving a hand-off to a worker (the null
    /// RPC's latency). The reader is a hypercall thread like the workers, so
    /// such an operation may call into components, but it cannot be
    /// cancelled, and its connection reads nothing while it runs (no other
    /// call, no CANCEL): only what finishes in microseconds belongs here,
    /// never a wait for the client or for a long transfer. Default: none.
    func runsInline(operation: UInt32) -> Bool
}

extension RPCInterfaceHandler {
    public func runsInline(operation: UInt32) -> Bool { false }
}

/// A reply as a client receives it.
public struct RPCResponse: Sendable {
    public var payload: [UInt8]
    public var descriptors: [Int32]
    public init(payload: [UInt8], descriptors: [Int32]) {
        self.payload = payload
        self.descriptors = descriptors
    }
}

/// What generated Swift clients call: one request, one reply.
public protocol RPCCaller: Sendable {
    /// Send a request and wait for its reply. A non-zero status throws.
    /// `idempotent` allows the runtime to retry after a reconnect.
    func call(
        interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
        idempotent: Bool
    ) throws(RPCError) -> RPCResponse
}
