import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// One client connection: a reader thread that validates and routes
/// messages, the calls in flight, the client's shared memory and its reply
/// queue.
final class ServerConnection: @unchecked Sendable {
    // @unchecked: fields marked (state) are guarded by `state`; fields marked
    // (send) by `sendLock`; fields marked (reader) are only touched by the
    // reader thread. `id`, `server`, `transport`, `identity` are immutable.
    let id: UInt64
    let server: RPCServer
    let transport: any RPCTransport
    let identity: PeerIdentity
    /// What an opened object's connection is bound to (the server's own
    /// object, e.g. an open block device); nil on connections from connect().
    /// Released with the connection, so a dead client releases its handles.
    let binding: (any Sendable)?
    let state = Monitor()
    var inFlight: [UInt64: ServerCall] = [:]  // (state)
    var helloDone = false  // (state)
    /// The control interface version negotiated at HELLO (2: rings allowed).
    var controlVersion: UInt32 = 1  // (state)
    var ringActive = false  // (state)
    var readerDone = false  // (state)
    var closed = false  // (state)
    var stopReadingRequested = false  // (state)
    var regions: [UInt32: SharedRegion] = [:]  // (state)
    var regionBytes: UInt64 = 0  // (state)
    var nextRegionID: UInt32 = 1  // (state)
    var closeReason = "peer closed the connection"  // (state)
    /// What handlers keep for this connection (connectionState); dropped
    /// when the connection closes.
    var handlerState: (any AnyObject & Sendable)?  // (state)

    struct Fragmented {
        var header: RPCHeader
        var payload: [UInt8]
        var descriptors: [Int32]
        var discarding: Bool
    }
    var fragments: [UInt64: Fragmented] = [:]  // (reader)
    var fragmentBytes = 0  // (reader)

    let sendLock = Monitor()
    var queue: [(bytes: [UInt8], fds: [Int32])] = []  // (send)
    var queuedBytes = 0  // (send)
    var sendBroken = false  // (send)

    var limits: RPCLimits { server.configuration.limits }

    init(id: UInt64, server: RPCServer, transport: any RPCTransport, identity: PeerIdentity, binding: (any Sendable)? = nil) {
        self.binding = binding
        self.id = id
        self.server = server
        self.transport = transport
        self.identity = identity
    }

    /// The descriptor the reply flusher polls for POLLOUT; -1 for a transport
    /// without one (the flusher then simply retries it).
    var pollDescriptor: Int32 {
        guard let t = transport as? SeqPacketConnection, !t.ringActive else { return -1 }
        return t.fd
    }

    var inFlightCount: Int { state.withLock { inFlight.count } }
}
