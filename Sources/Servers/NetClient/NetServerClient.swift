import Glibc
import Platform
import RPCClient
import RPCInterfaces
import RPCWire

/// A client of the net server (Interfaces/net.idl, docs/net.md): its
/// socket, creating sockets, polling them.
public final class NetServerClient: Sendable {
    public let rpc: RPCClient
    let net: NetClient
    static let requirement: [(interface: UInt32, version: UInt32)] = [(Net.interfaceID, Net.interfaceVersion)]

    /// Connect to the net server at `socket` (HELLO requires net v1).
    public init(socket: String, timeoutSeconds: Double = 10) throws(RPCError) {
        rpc = try RPCClient.connect(path: socket, require: Self.requirement, timeoutSeconds: timeoutSeconds)
        net = NetClient(rpc)
    }

    /// A new socket (Net.Family, Net.Kind).
    public func socket(family: UInt16, kind: UInt32) throws(RPCError) -> NetSocket {
        let r = try net.socket(family: family, kind: kind)
        return try NetSocket(fd: r.socket, id: r.id, parent: rpc)
    }

    /// Wait up to `timeoutMs` (nil: no limit) until one of `events`
    /// (Net.Event) holds on one of the sockets; each socket's revents.
    public func poll(_ items: [(socket: NetSocket, events: UInt32)], timeoutMs: UInt32?) throws(RPCError) -> [UInt32] {
        try net.poll(sockets: items.map(\.socket.id), events: items.map(\.events), timeoutMs: timeoutMs ?? UInt32.max).revents
    }

    public func close() { rpc.close() }
}

/// An IPv4 or IPv6 address and port as the net interface carries them.
public struct NetAddress: Sendable, Equatable, CustomStringConvertible {
    public var family: UInt16
    public var address: [UInt8]
    public var port: UInt16

    public init(family: UInt16, address: [UInt8], port: UInt16) {
        self.family = family
        self.address = address
        self.port = port
    }

    /// `10.77.0.2`, `fd77::2` (inet_pton's forms) with `port`; nil for anything else.
    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            self.init(family: Net.Family.inet, address: withUnsafeBytes(of: v4) { Array($0) }, port: port)
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            self.init(family: Net.Family.inet6, address: withUnsafeBytes(of: v6) { Array($0) }, port: port)
        } else {
            return nil
        }
    }

    /// The unspecified address of `family` (bind to every address).
    public static func any(family: UInt16, port: UInt16) -> NetAddress {
        NetAddress(family: family, address: [UInt8](repeating: 0, count: family == Net.Family.inet6 ? 16 : 4), port: port)
    }

    public var host: String {
        var buf = [CChar](repeating: 0, count: 64)
        let af = family == Net.Family.inet6 ? AF_INET6 : AF_INET
        guard address.count == (af == AF_INET6 ? 16 : 4),
            address.withUnsafeBytes({ inet_ntop(af, $0.baseAddress, &buf, socklen_t(buf.count)) }) != nil
        else { return "?" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `10.77.0.2:80`, `[fd77::2]:80`.
    public var description: String { family == Net.Family.inet6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One socket of the server: a descriptor bound to it (an opened object).
/// Calls may come from several threads at once (a receive blocking on one
/// while another sends). Closing, or dropping the last reference, closes
/// the descriptor; the socket closes with the last descriptor.
public final class NetSocket: @unchecked Sendable {
    // @unchecked: immutable but for the lazily registered windows, which
    // `windowLock` guards.
    public let id: UInt64
    public let rpc: RPCClient
    let net: NetClient
    private let windowLock = Monitor()
    private var windows: [SharedMemory] = []

    init(fd: Int32, id: UInt64, parent: RPCClient) throws(RPCError) {
        rpc = try RPCClient.adopt(fd: fd, require: NetServerClient.requirement, parent: parent)
        net = NetClient(rpc)
        self.id = id
    }

    deinit { rpc.close() }

    public func bind(_ a: NetAddress) throws(RPCError) {
        _ = try net.bind(family: a.family, address: a.address, port: a.port)
    }

    public func listen(backlog: UInt32 = 16) throws(RPCError) { _ = try net.listen(backlog: backlog) }

    /// The next connection and its peer.
    public func accept(flags: UInt32 = 0) throws(RPCError) -> (NetSocket, NetAddress) {
        let r = try net.accept(flags: flags)
        return (try NetSocket(fd: r.socket, id: r.id, parent: rpc), NetAddress(family: r.family, address: r.address, port: r.port))
    }

    /// Connect, waiting up to `timeoutMs` (0: until the stack gives up; ETIMEDOUT).
    public func connect(_ a: NetAddress, timeoutMs: UInt32 = 0) throws(RPCError) {
        _ = try net.connect(family: a.family, address: a.address, port: a.port, timeoutMs: timeoutMs)
    }

    /// Send all of `data` (a stream socket) or one datagram: the bytes taken.
    @discardableResult
    public func send(_ data: [UInt8], flags: UInt32 = 0) throws(RPCError) -> Int {
        var done = 0
        repeat {
            let chunk = Array(data[done..<min(data.count, done + Net.Limits.inlineBytes)])
            let n = Int(try net.send(data: chunk, flags: flags).count)
            done += n
            if n < chunk.count { break }  // a partial send: non-blocking, or interrupted
        } while done < data.count
        return done
    }

    /// Up to `max` bytes (empty: the end of the stream).
    public func recv(max: Int = 65536, flags: UInt32 = 0) throws(RPCError) -> [UInt8] {
        try net.recv(max: UInt32(min(max, Net.Limits.inlineBytes)), flags: flags).data
    }

    @discardableResult
    public func send(_ data: [UInt8], to: NetAddress, flags: UInt32 = 0) throws(RPCError) -> Int {
        Int(try net.sendto(data: data, flags: flags, family: to.family, address: to.address, port: to.port).count)
    }

    public func recvFrom(max: Int = 65536, flags: UInt32 = 0) throws(RPCError) -> (data: [UInt8], from: NetAddress) {
        let r = try net.recvfrom(max: UInt32(min(max, Net.Limits.inlineBytes)), flags: flags)
        return (r.data, NetAddress(family: r.family, address: r.address, port: r.port))
    }

    /// A registered shared-memory window of this socket's connection, one
    /// per concurrent user (taken and given back).
    private func window(_ size: Int) throws(RPCError) -> SharedMemory {
        if let w = windowLock.withLock({ () -> SharedMemory? in
            guard let i = windows.firstIndex(where: { $0.size >= size }) else { return nil }
            return windows.remove(at: i)
        }) {
            return w
        }
        return try rpc.registerSharedMemory(size: size)
    }

    private func giveBack(_ w: SharedMemory) { windowLock.withLock { windows.append(w) } }

    /// Send `data` through shared memory (bulk: no copy through the socket
    /// messages): the bytes taken.
    @discardableResult
    public func sendBulk(_ data: UnsafeRawBufferPointer, flags: UInt32 = 0) throws(RPCError) -> Int {
        guard data.count > 0 else { return 0 }
        let w = try window(max(data.count, 1 << 20))
        defer { giveBack(w) }
        w.base.copyMemory(from: data.baseAddress!, byteCount: data.count)
        return Int(try net.sendShm(data: w.ref(offset: 0, length: UInt64(data.count)), flags: flags).count)
    }

    /// Receive into `buffer` through shared memory: the bytes received.
    public func recvBulk(into buffer: UnsafeMutableRawBufferPointer, flags: UInt32 = 0) throws(RPCError) -> Int {
        guard buffer.count > 0 else { return 0 }
        let w = try window(max(buffer.count, 1 << 20))
        defer { giveBack(w) }
        let n = Int(try net.recvShm(buffer: w.ref(offset: 0, length: UInt64(buffer.count)), flags: flags).count)
        buffer.baseAddress!.copyMemory(from: w.base, byteCount: min(n, buffer.count))
        return n
    }

    public func shutdown(_ how: UInt32) throws(RPCError) { _ = try net.shutdown(how: how) }

    public func localAddress() throws(RPCError) -> NetAddress {
        let r = try net.getsockname()
        return NetAddress(family: r.family, address: r.address, port: r.port)
    }

    public func peerAddress() throws(RPCError) -> NetAddress {
        let r = try net.getpeername()
        return NetAddress(family: r.family, address: r.address, port: r.port)
    }

    public func setOption(_ o: Net.Option, _ value: UInt32) throws(RPCError) { _ = try net.setsockopt(option: o.rawValue, value: value) }
    public func option(_ o: Net.Option) throws(RPCError) -> UInt32 { try net.getsockopt(option: o.rawValue).value }

    /// Wait for events on this socket alone (the server's poll).
    public func poll(_ events: UInt32, timeoutMs: UInt32?) throws(RPCError) -> UInt32 {
        try net.poll(sockets: [id], events: [events], timeoutMs: timeoutMs ?? UInt32.max).revents.first ?? 0
    }

    /// Ask for one EVENT `(net, watch)` when `events` hold (docs/net.md).
    public func watch(_ events: UInt32) throws(RPCError) { _ = try net.watch(events: events) }

    /// Another descriptor of the same socket.
    public func dup() throws(RPCError) -> NetSocket {
        try NetSocket(fd: try net.dup().socket, id: id, parent: rpc)
    }

    /// Close this descriptor (the socket closes with its last one).
    public func close() {
        _ = try? net.close()
        rpc.close()
    }
}
