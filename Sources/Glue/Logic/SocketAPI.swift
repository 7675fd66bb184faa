import GlueAPI
import HypercallABI

// C entry points of husk/glue/socket.h (providers); the registry is
// SocketProviders, the consumers' face Glue.SocketStack and Glue.Socket.

@_cdecl("glue_socket_provider_register")
public func glue_socket_provider_register(_ p: UnsafePointer<socket_provider>?) -> Int32 {
    guard let p else { return HUSK_EINVAL }
    return SocketProviders.shared.register(p, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_socket_provider_unregister")
public func glue_socket_provider_unregister(_ p: UnsafePointer<socket_provider>?) {
    guard let p else { return }
    SocketProviders.shared.unregister(p, ctx: Hyp.currentOrNil)
}

extension Glue {
    /// Names of the socket providers registered now, sorted.
    public static func socketProviderNames() -> [String] { SocketProviders.shared.names() }

    /// A failed socket call: a HUSK_E* code with its POSIX meaning.
    public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
        public let code: Int32
        public init(_ code: Int32) { self.code = code }
        public var description: String { Hyp.errorName(code) }
    }

    /// An IPv4 or IPv6 address and port (struct socket_addr).
    public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
        public static let inet = UInt16(SOCKET_AF_INET)
        public static let inet6 = UInt16(SOCKET_AF_INET6)

        public var family: UInt16
        /// 4 bytes (IPv4) or 16 (IPv6), network order.
        public var address: [UInt8]
        public var port: UInt16

        /// nil unless `address` has the length the family needs.
        public init?(family: UInt16, address: [UInt8], port: UInt16) {
            guard (family == Self.inet && address.count == 4) || (family == Self.inet6 && address.count == 16) else {
                return nil
            }
            self.family = family
            self.address = address
            self.port = port
        }

        init(_ c: socket_addr) {
            family = c.family
            port = c.port
            let n = c.family == Self.inet6 ? 16 : 4
            address = withUnsafeBytes(of: c.addr) { Array($0.prefix(n)) }
        }

        var c: socket_addr {
            var a = socket_addr()
            a.family = family
            a.port = port
            withUnsafeMutableBytes(of: &a.addr) { dst in
                for (i, b) in address.prefix(16).enumerated() { dst[i] = b }
            }
            return a
        }

        /// `10.0.0.1:80`, `[fd77::2]:80` (IPv6 without compression).
        public var description: String {
            if family == Self.inet { return address.map { String($0) }.joined(separator: ".") + ":\(port)" }
            let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
            return "[" + groups.joined(separator: ":") + "]:\(port)"
        }
    }

    /// A consumer's handle on a socket provider (a network stack).
    public final class SocketStack: @unchecked Sendable {
        // @unchecked: immutable; the registry guards the record's state.
        let record: SocketProviderRecord

        /// The provider called `name`, or the first registered (by name)
        /// when nil; nil if there is none.
        public init?(named name: String? = nil) {
            guard let r = SocketProviders.shared.find(name) else { return nil }
            record = r
        }

        init(record: SocketProviderRecord) { self.record = record }

        public var name: String { record.name }

        /// A new socket (SOCKET_AF_*, SOCKET_STREAM or SOCKET_DGRAM).
        public func socket(family: UInt16, type: UInt32) throws(SocketError) -> Socket {
            var out: UnsafeMutableRawPointer?
            guard let r = SocketProviders.shared.call(record, { $0.socket($0.priv, UInt32(family), type, &out) }) else {
                throw SocketError(HUSK_ENODEV)
            }
            return try adopt(r, out)
        }

        func adopt(_ status: Int32, _ handle: UnsafeMutableRawPointer?) throws(SocketError) -> Socket {
            guard status == HUSK_OK else { throw SocketError(status) }
            guard let handle else { throw SocketError(HUSK_EIO) }
            guard let sock = SocketProviders.shared.adopt(record, handle: handle) else { throw SocketError(HUSK_ENODEV) }
            return Socket(sock)
        }

        /// Wait until one of the sockets (all of this provider) has one of
        /// its events, an error or a hang-up, for up to `timeoutMs` (nil: no
        /// limit; 0: just look). Returns each socket's revents (all 0 after
        /// the timeout; SOCKET_POLLNVAL for a closed socket). EINTR when the
        /// calling thread's call is cancelled or `interrupted` says so,
        /// ENODEV when the provider is withdrawn.
        public func poll(
            _ items: [(socket: Socket, events: UInt32)], timeoutMs: UInt32?, interrupted: () -> Bool = { false }
        ) throws(SocketError) -> [UInt32] {
            try SocketWait.poll(record, items.map { ($0.socket.record, $0.events) }, timeoutMs: timeoutMs, interrupted: interrupted)
        }
    }

    /// One socket of a provider. Every op returns at once (EAGAIN when it
    /// would wait, EINPROGRESS from connect); `wait` and `blocking` build
    /// interruptible blocking calls from them. Closed by `close()` or when
    /// the last reference goes.
    public final class Socket: @unchecked Sendable {
        // @unchecked: immutable; the registry and `record.opLock` guard the rest.
        let record: SocketRecord

        init(_ r: SocketRecord) { record = r }
        deinit { SocketProviders.shared.close(record) }

        /// The provider's ops on this socket, one at a time, acting for the provider.
        private func op<T>(_ body: (socket_provider, UnsafeMutableRawPointer) -> T) throws(SocketError) -> T {
            let e = SocketProviders.shared.enter(record)
            guard e == HUSK_OK else { throw SocketError(e) }
            defer { SocketProviders.shared.leave(record) }
            let h = record.handle
            let r = record.opLock.withLock { _ -> T? in
                nonisolated(unsafe) let v = SocketProviders.shared.call(record.provider) { body($0, h) }
                return v
            }
            guard let r else { throw SocketError(HUSK_ENODEV) }
            return r
        }

        private func check(_ status: Int32) throws(SocketError) {
            if status != HUSK_OK { throw SocketError(status) }
        }

        public func bind(_ a: SocketAddress) throws(SocketError) {
            var c = a.c
            try check(try op { $0.bind($0.priv, $1, &c) })
        }

        public func listen(backlog: UInt32) throws(SocketError) {
            try check(try op { $0.listen($0.priv, $1, backlog) })
        }

        /// A queued connection and its peer; EAGAIN when none is queued.
        public func accept() throws(SocketError) -> (Socket, SocketAddress) {
            var out: UnsafeMutableRawPointer?
            var peer = socket_addr()
            let r = try op { $0.accept($0.priv, $1, &out, &peer) }
            let s = try SocketStack.adopting(record.provider).adopt(r, out)
            return (s, SocketAddress(peer))
        }

        /// Stream: EINPROGRESS once the handshake started (wait for
        /// SOCKET_POLLOUT, then `pendingError()`), or an error at once.
        public func connect(_ a: SocketAddress) throws(SocketError) {
            var c = a.c
            try check(try op { $0.connect($0.priv, $1, &c) })
        }

        /// Bytes taken (> 0); EAGAIN when none fitted.
        public func send(_ data: UnsafeRawBufferPointer, to: SocketAddress? = nil) throws(SocketError) -> Int {
            var sent = 0
            let r: Int32
            if let to {
                var c = to.c
                r = try op { $0.send($0.priv, $1, data.baseAddress, data.count, &c, &sent) }
            } else {
                r = try op { $0.send($0.priv, $1, data.baseAddress, data.count, nil, &sent) }
            }
            try check(r)
            return sent
        }

        /// Bytes received (0: end of stream) and the sender; EAGAIN when
        /// nothing is there yet.
        public func receive(
            into buffer: UnsafeMutableRawBufferPointer, flags: UInt32 = 0
        ) throws(SocketError) -> (
            count: Int, from: SocketAddress?
        ) {
            var got = 0
            var from = socket_addr()
            let r = try op { $0.recv($0.priv, $1, buffer.baseAddress, buffer.count, flags, &got, &from) }
            try check(r)
            return (got, from.family == 0 ? nil : SocketAddress(from))
        }

        public func shutdown(_ how: UInt32) throws(SocketError) {
            try check(try op { $0.shutdown($0.priv, $1, how) })
        }

        /// Release the socket; later calls fail with EBADF. Blocked calls
        /// on it end with EBADF within a wait slice. Closing twice is a no-op.
        public func close() { SocketProviders.shared.close(record) }

        public var isClosed: Bool { SocketProviders.shared.gone(record) != nil }

        public func name(peer: Bool) throws(SocketError) -> SocketAddress {
            var out = socket_addr()
            try check(try op { $0.getname($0.priv, $1, peer, &out) })
            return SocketAddress(out)
        }

        public func setOption(_ option: UInt32, _ value: UInt32) throws(SocketError) {
            try check(try op { $0.setopt($0.priv, $1, option, value) })
        }

        public func option(_ option: UInt32) throws(SocketError) -> UInt32 {
            var v: UInt32 = 0
            try check(try op { $0.getopt($0.priv, $1, option, &v) })
            return v
        }

        /// The pending error (SOCKET_OPT_ERROR), cleared by reading it.
        public func pendingError() throws(SocketError) -> Int32 { Int32(bitPattern: try option(UInt32(SOCKET_OPT_ERROR))) }

        /// Wait for one of `events` (or an error or hang-up) on this socket
        /// for up to `timeoutMs` (nil: no limit): the revents. ETIMEDOUT at
        /// the limit; EINTR when the call is cancelled or `interrupted` says
        /// so; EBADF when the socket is closed and ENODEV when the provider
        /// goes meanwhile.
        public func wait(for events: UInt32, timeoutMs: UInt32?, interrupted: () -> Bool = { false }) throws(SocketError) -> UInt32 {
            try SocketWait.wait(record, events: events, deadline: SocketWait.deadline(timeoutMs), interrupted: interrupted)
        }

        /// `attempt` until it does not fail with EAGAIN, waiting for `events`
        /// in between: a blocking call made of non-blocking ones. ETIMEDOUT
        /// once `timeoutMs` has passed, EINTR as `wait`.
        public func blocking<T>(
            _ events: UInt32, timeoutMs: UInt32?, interrupted: () -> Bool = { false },
            _ attempt: () throws(SocketError) -> T
        ) throws(SocketError) -> T {
            let deadline = SocketWait.deadline(timeoutMs)
            while true {
                do { return try attempt() } catch  where error.code == HUSK_EAGAIN {}
                _ = try SocketWait.wait(record, events: events, deadline: deadline, interrupted: interrupted)
            }
        }
    }
}

extension Glue.SocketStack {
    static func adopting(_ r: SocketProviderRecord) -> Glue.SocketStack { Glue.SocketStack(record: r) }
}
