import Glibc
import Glue
import HypercallABI
import Hypercalls
import RPCSys
import RPCTransport
import RPCWire

/// One call in flight. Mutable fields are guarded by the connection's
/// `state` monitor (cancellation, the worker serving it, descriptors) or
/// only touched by the worker running it.
final class ServerCall: RPCServerCallContext, @unchecked Sendable {
    // @unchecked: see above; `connection` and the header fields are immutable.
    let connection: ServerConnection
    let header: RPCHeader
    let payload: [UInt8]
    private var descriptors: [Int32]
    var cancelled = false  // under connection.state
    var worker: husk_handle? = nil  // under connection.state
    private var signalToRaise: Int32 = 0  // written by the worker only

    init(connection: ServerConnection, header: RPCHeader, payload: [UInt8], descriptors: [Int32]) {
        self.connection = connection
        self.header = header
        self.payload = payload
        self.descriptors = descriptors
    }

    var identity: PeerIdentity { connection.identity }
    var interface: UInt32 { header.interface }
    var operation: UInt32 { header.operation }
    var requestID: UInt64 { header.requestID }
    var isCancelled: Bool { connection.state.withLock { cancelled } }
    var signal: Int32 { signalToRaise }

    func takeDescriptor() -> Int32? {
        connection.state.withLock { descriptors.isEmpty ? nil : descriptors.removeFirst() }
    }
    func closeRemainingDescriptors() {
        let rest = connection.state.withLock { () -> [Int32] in
            let r = descriptors
            descriptors = []
            return r
        }
        closeDescriptors(rest)
    }
    func raiseSignal(_ signal: Int32) { signalToRaise = signal }

    func openObjectConnection(name: String) -> Result<Int32, RPCError> {
        openObject(name: name, binding: nil)
    }

    func openObjectConnection(name: String, binding: any Sendable) -> Result<Int32, RPCError> {
        openObject(name: name, binding: binding)
    }

    var objectBinding: (any Sendable)? { connection.binding }

    func connectionState<T: AnyObject & Sendable>(_ make: () -> T) -> T? {
        connection.state.withLock {
            if let s = connection.handlerState { return s as? T }
            let s = make()
            connection.handlerState = s
            return s
        }
    }

    func withSharedMemory<T>(
        _ ref: SharedMemoryRef, writable: Bool,
        _ body: (UnsafeMutableRawBufferPointer) -> T
    ) -> Result<T, RPCError> {
        connection.withSharedMemory(ref, writable: writable, body)
    }

    func retainSharedMemory(_ ref: SharedMemoryRef, writable: Bool) -> Result<RPCSharedMapping, RPCError> {
        connection.retainSharedMemory(ref, writable: writable)
    }

    func isAllowed(interface: String, operation: String) -> Bool {
        connection.server.configuration.policy.allows(identity, interface: interface, operation: operation)
    }

    private func openObject(name: String, binding: (any Sendable)?) -> Result<Int32, RPCError> {
        let server = connection.server
        var fds: [Int32] = [-1, -1]
        guard husk_rpc_socketpair(&fds) == 0 else {
            return .failure(RPCError(RPCStatus.nomem, "socketpair: \(String(cString: strerror(errno)))"))
        }
        let serverEnd = OwnedDescriptor(fds[0])
        let clientEnd = OwnedDescriptor(fds[1])
        let ok = server.adopt(
            serverEnd, identity: identity, note: " (object '\(name)' opened on connection \(connection.id))",
            binding: binding)
        guard ok else { return .failure(RPCError(RPCStatus.again, "server is stopping")) }
        return .success(clientEnd.take())
    }

    func eventChannel() -> RPCEventChannel { RPCEventChannel(connection) }

    /// Run on a worker thread: dispatch, then send exactly one reply.
    func run(handler: any RPCInterfaceHandler) {
        RPCWorkerThread.clearCancel()
        let startNow: Bool = connection.state.withLock {
            if cancelled { return false }
            worker = RPCWorkerThread.handle
            return true
        }
        var reply: RPCReplyBody
        if startNow {
            // The caller's identity is what the glue's glue_caller_cred()
            // gives C components on this thread while they serve the call.
            let who = identity
            reply = Glue.withCaller(Glue.Caller(uid: who.uid, gid: who.gid, groups: who.groups)) {
                payload.withUnsafeBytes { handler.dispatch(operation: header.operation, payload: $0, call: self) }
            }
        } else {
            reply = .error(RPCStatus.intr)
        }
        connection.state.withLock { worker = nil }
        RPCWorkerThread.clearCancel()
        closeRemainingDescriptors()
        if reply.status != 0 {
            // A reply with a non-zero status has no payload (protocol §6).
            reply.payload = []
            closeDescriptors(reply.descriptors)
            reply.descriptors = []
        }
        connection.server.count(header.interface, header.operation, status: reply.status)
        connection.finish(self, reply: reply, signal: signalToRaise)
    }
}
