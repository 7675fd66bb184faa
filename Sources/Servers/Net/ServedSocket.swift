import Glue
import Platform
import RPCInterfaces
import Synchronization

/// One socket of the stack as the server serves it: the glue's socket, the
/// modes the server keeps (non-blocking, timeouts) and the identity that
/// made it. Descriptors refer to it through SocketHandle; it closes when
/// the last handle lets go.
final class ServedSocket: @unchecked Sendable {
    // @unchecked: the modes are behind `lock`; the rest is immutable.
    let socket: Glue.Socket
    /// Server-wide, never reused: what `poll` names sockets by.
    let id: UInt64
    let family: UInt16
    let kind: UInt32
    /// Only the uid that made the socket (or root) may poll it by id.
    let owner: UInt32
    private let table: SocketTable
    private let lock = Monitor()
    private var nonBlocking = false
    private var receiveTimeoutMs: UInt32 = 0
    private var sendTimeoutMs: UInt32 = 0

    init(_ socket: Glue.Socket, family: UInt16, kind: UInt32, owner: UInt32, table: SocketTable) {
        self.socket = socket
        self.family = family
        self.kind = kind
        self.owner = owner
        self.table = table
        id = table.nextID()
        table.insert(self)
    }

    deinit {
        table.remove(id)
        socket.close()
    }

    var isStream: Bool { kind == Net.Kind.stream }

    /// Whether a call with `flags` must not wait.
    func doesNotWait(_ flags: UInt32) -> Bool { flags & Net.Flag.dontWait != 0 || lock.withLock { nonBlocking } }
    var receiveTimeout: UInt32? { lock.withLock { receiveTimeoutMs == 0 ? nil : receiveTimeoutMs } }
    var sendTimeout: UInt32? { lock.withLock { sendTimeoutMs == 0 ? nil : sendTimeoutMs } }

    /// The server's own options (Net.Option.isServers).
    func setServerOption(_ o: Net.Option, _ v: UInt32) {
        lock.withLock {
            switch o {
            case .nonBlocking: nonBlocking = v != 0
            case .receiveTimeoutMs: receiveTimeoutMs = v
            case .sendTimeoutMs: sendTimeoutMs = v
            default: break
            }
        }
    }

    func serverOption(_ o: Net.Option) -> UInt32 {
        lock.withLock {
            switch o {
            case .nonBlocking: nonBlocking ? 1 : 0
            case .receiveTimeoutMs: receiveTimeoutMs
            case .sendTimeoutMs: sendTimeoutMs
            default: 0
            }
        }
    }
}

/// What a socket descriptor's connection is bound to. `close` (or the
/// connection's end: the client closed the descriptor or died) drops its
/// reference; dup makes another handle on the same socket.
final class SocketHandle: @unchecked Sendable {
    // @unchecked: `served` is behind `lock`.
    private let lock = Monitor()
    private var served: ServedSocket?

    init(_ s: ServedSocket) { served = s }

    var socket: ServedSocket? { lock.withLock { served } }

    func close() { lock.withLock { served = nil } }
}

/// Every socket the server holds, by id, for `poll`. Weak: a socket lives
/// as long as a handle refers to it, not because it is listed.
final class SocketTable: Sendable {
    private struct Entry {
        weak var socket: ServedSocket?
    }
    private let state = Mutex<(next: UInt64, entries: [UInt64: Entry])>((1, [:]))

    func nextID() -> UInt64 {
        state.withLock { s in
            defer { s.next += 1 }
            return s.next
        }
    }

    func insert(_ s: ServedSocket) {
        let id = s.id
        state.withLock { $0.entries[id] = Entry(socket: s) }
    }

    func remove(_ id: UInt64) { _ = state.withLock { $0.entries.removeValue(forKey: id) } }

    func find(_ id: UInt64) -> ServedSocket? {
        state.withLock { s in s.entries[id]?.socket }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
