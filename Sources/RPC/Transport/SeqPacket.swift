import Glibc
import Platform
import RPCClientC
import RPCSys
import RPCWire

/// An AF_UNIX SOCK_SEQPACKET connection: one message = one sendmsg = one
/// recvmsg, descriptors as SCM_RIGHTS.
public final class SeqPacketConnection: RPCTransport, @unchecked Sendable {
    // @unchecked: `fd` is immutable; `closed` is only touched under `lock`.
    // send() and receive() may run on different threads at once (the kernel
    // serialises them); close() is called by the owner after all such
    // threads are done, as the protocol requires.
    public let fd: Int32
    /// Largest message accepted by receive(); anything longer is rejected.
    public let maxMessage: Int
    /// Most descriptors accepted with one message; more are closed and the
    /// message rejected.
    public let maxDescriptors: Int
    private let lock = Monitor()
    private var closed = false
    var receiveBuffer: [UInt8]
    /// The call rings (protocol §11), inactive until attachRing(): the
    /// pointer never changes; `active` inside it is set with release order.
    let ring: UnsafeMutablePointer<husk_ring>
    /// The ring's mapping, unmapped by close() (under `lock`).
    private var ringMapping: (base: UnsafeMutableRawPointer, size: Int)?
    /// Set by a client before its receiving thread starts (never changed
    /// after): calling threads may take replies off the reply ring
    /// themselves (pollRing). The receiving thread then holds `consumer`
    /// while it receives and handles a message, lets go of it only to
    /// sleep, and does not spin: the callers do.
    public var callersReceive = false
    /// The one-consumer-at-a-time lock of callersReceive.
    public let consumer = Monitor()
    /// What the consumers of this connection share (the client's reply
    /// reassembly), touched only under `consumer`; set before the
    /// receiving thread starts.
    public var consumerState: AnyObject?

    /// Take ownership of a connected socket.
    public init(
        adopting fd: consuming OwnedDescriptor, maxMessage: Int = Int(RPCLimits().maxMessage), maxDescriptors: Int = Int(RPCLimits().maxFDs)
    ) {
        self.fd = fd.take()
        self.maxMessage = maxMessage
        self.maxDescriptors = maxDescriptors
        receiveBuffer = [UInt8](repeating: 0, count: maxMessage)
        ring = UnsafeMutablePointer<husk_ring>.allocate(capacity: 1)
        ring.initialize(to: husk_ring())
    }

    /// Connect to a listening socket at `path`.
    public static func connect(
        path: String, maxMessage: Int = Int(RPCLimits().maxMessage),
        maxDescriptors: Int = Int(RPCLimits().maxFDs)
    ) throws(TransportError) -> SeqPacketConnection {
        let s = husk_rpc_socket()
        guard s >= 0 else { throw .last("socket") }
        let owned = OwnedDescriptor(s)
        guard husk_rpc_unix_connect(owned.raw, path) == 0 else { throw .last("connect \(path)") }
        return SeqPacketConnection(adopting: owned, maxMessage: maxMessage, maxDescriptors: maxDescriptors)
    }

    deinit {
        close()
        ring.deinitialize(count: 1)
        ring.deallocate()
    }

    public func send(_ message: UnsafeRawBufferPointer, descriptors: [Int32], nonBlocking: Bool) throws(TransportError) {
        if husk_ring_is_active(ring) != 0 {
            try ringSend(message, descriptors: descriptors, nonBlocking: nonBlocking)
            return
        }
        try socketSend(message, descriptors: descriptors, nonBlocking: nonBlocking)
    }

    func socketSend(_ message: UnsafeRawBufferPointer, descriptors: [Int32], nonBlocking: Bool) throws(TransportError) {
        let r = descriptors.withUnsafeBufferPointer { fds in
            husk_rpc_send(fd, message.baseAddress, message.count, fds.baseAddress, Int32(fds.count), nonBlocking ? 1 : 0)
        }
        if r < 0 { throw .last("sendmsg") }
        if r != message.count { throw TransportError(EMSGSIZE, "sendmsg (short)") }
    }

    /// Not reentrant: one receiving thread per connection (it reuses a buffer).
    public func receive() -> ReceiveResult {
        if husk_ring_is_active(ring) != 0 { return ringReceive() }
        return socketReceive()
    }

    func socketReceive() -> ReceiveResult {
        var fds = [Int32](repeating: -1, count: maxDescriptors)
        var info = husk_rpc_recv_info()
        let cap = receiveBuffer.count
        let n = receiveBuffer.withUnsafeMutableBytes { buf in
            fds.withUnsafeMutableBufferPointer { f in
                husk_rpc_recv(fd, buf.baseAddress, cap, f.baseAddress, Int32(maxDescriptors), &info)
            }
        }
        // 0 bytes is end of stream, unless control data came with it: an
        // empty message can carry descriptors, which must not leak (the
        // receiver rejects the message as truncated and closes them).
        if n == 0 && info.nfds == 0 && info.extra_fds == 0 && info.ctruncated == 0 { return .closed }
        if n < 0 {
            // EINVAL/EBADF after a local shutdown, ECONNRESET from the peer.
            return .closed
        }
        let got = Array(fds.prefix(Int(info.nfds)))
        let kept = min(Int(n), cap)
        if info.truncated != 0 || info.ctruncated != 0 || info.extra_fds != 0 {
            closeDescriptors(got)
            let bytes = Array(receiveBuffer.prefix(kept))
            if info.truncated != 0 { return .rejected(.tooLarge(Int(n)), bytes: bytes) }
            if info.ctruncated != 0 { return .rejected(.controlTruncated, bytes: bytes) }
            return .rejected(
                .descriptorMismatch(declared: UInt16(truncatingIfNeeded: maxDescriptors), actual: maxDescriptors + Int(info.extra_fds)),
                bytes: bytes)
        }
        return .message(ReceivedMessage(bytes: Array(receiveBuffer.prefix(kept)), descriptors: got))
    }

    // husk_ring_stop writes to the mapping: under `lock`, so never after
    // close() has unmapped it.
    public func shutdown() {
        lock.withLock {
            if !closed {
                _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
                husk_ring_stop(ring)
                husk_ring_wake_peer(ring)
            }
        }
    }

    /// Stop receiving only (replies can still be sent).
    public func shutdownReceive() {
        lock.withLock {
            if !closed {
                _ = Glibc.shutdown(fd, Int32(SHUT_RD))
                husk_ring_stop(ring)
            }
        }
    }

    public func close() {
        lock.withLock {
            if !closed {
                closed = true
                _ = Glibc.close(fd)
                if let m = ringMapping {
                    munmap(m.base, m.size)
                    ringMapping = nil
                }
            }
        }
    }

    /// Make the rings in `base` (a shared mapping of `size` bytes, owned
    /// from here on: close() unmaps it) the data path, as the client or the
    /// server (protocol §11). Call it while no other thread sends or
    /// receives on this connection.
    public func attachRing(base: UnsafeMutableRawPointer, size: Int, slotCount: UInt32, slotSize: UInt32, server: Bool) -> Bool {
        guard husk_ring_init(ring, base, size, slotCount, slotSize, server ? 1 : 0) == 0,
            Int(husk_ring_inline_max(ring)) <= receiveBuffer.count
        else { return false }
        lock.withLock { ringMapping = (base, size) }
        husk_ring_activate(ring)
        return true
    }

    /// Whether the rings carry the messages (then the socket is no place
    /// to poll for POLLOUT).
    public var ringActive: Bool { husk_ring_is_active(ring) != 0 }

    public var peerIdentity: PeerIdentity? { try? Self.peerIdentity(of: fd) }

    /// SO_PEERCRED and SO_PEERGROUPS of a connected socket.
    public static func peerIdentity(of fd: Int32) throws(TransportError) -> PeerIdentity {
        var uid: UInt32 = 0, gid: UInt32 = 0, pid: Int32 = 0
        guard husk_rpc_peercred(fd, &uid, &gid, &pid) == 0 else { throw .last("SO_PEERCRED") }
        var groups = [UInt32](repeating: 0, count: 32)
        var n = husk_rpc_peergroups(fd, &groups, Int32(groups.count))
        if n > Int32(groups.count) {
            groups = [UInt32](repeating: 0, count: Int(n))
            n = husk_rpc_peergroups(fd, &groups, Int32(groups.count))
        }
        guard n >= 0 else { throw .last("SO_PEERGROUPS") }
        return PeerIdentity(uid: uid, gid: gid, groups: Array(groups.prefix(Int(min(n, Int32(groups.count))))), pid: pid)
    }
}

/// A listening SOCK_SEQPACKET socket bound to a path.
public final class SeqPacketListener: @unchecked Sendable {
    // @unchecked: fd and path are immutable; `closed` only under `lock`.
    public let fd: Int32
    public let path: String
    private let lock = Monitor()
    private var closed = false
    /// Inherited (adopted) listening socket: the path belongs to whoever
    /// bound it (a supervisor), so close() neither shuts the socket down
    /// (that would refuse connections in every process sharing it) nor
    /// unlinks the path; shutdown() wakes accept() through `wake` instead.
    private var wake: (read: Int32, write: Int32) = (-1, -1)
    private var inherited: Bool { wake.read >= 0 }

    /// Adopt `fd`, a SOCK_SEQPACKET socket that is already bound and
    /// listening (inherited from a supervisor, docs/supervision.md); `path`
    /// only names it. Refused (ENOTSOCK/EINVAL) unless it is one. The
    /// descriptor becomes close-on-exec and non-blocking.
    public init(adoptingListening fd: Int32, path: String) throws(TransportError) {
        var type: Int32 = 0, accepting: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 else { throw .last("listen-fd \(fd)") }
        len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0 else { throw .last("listen-fd \(fd)") }
        guard type == Int32(SOCK_SEQPACKET.rawValue), accepting == 1 else {
            throw TransportError(EINVAL, "listen-fd \(fd) (not a listening SOCK_SEQPACKET socket)")
        }
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else { throw .last("pipe") }
        for x in p + [fd] {
            _ = fcntl(x, F_SETFD, FD_CLOEXEC)
            _ = fcntl(x, F_SETFL, fcntl(x, F_GETFL) | O_NONBLOCK)
        }
        self.fd = fd
        self.path = path
        wake = (p[0], p[1])
    }

    /// Bind `path` and listen. A live socket at `path` (something accepts
    /// connections there) is refused with EADDRINUSE; a stale one (nobody
    /// listening) is removed first. Any other kind of file is refused.
    public init(path: String, backlog: Int32 = 128, mode: mode_t? = nil) throws(TransportError) {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { throw TransportError(EEXIST, "bind \(path) (not a socket)") }
            let probe = husk_rpc_socket()
            guard probe >= 0 else { throw .last("socket") }
            let live = husk_rpc_unix_connect(probe, path) == 0
            let e = errno
            _ = Glibc.close(probe)
            if live { throw TransportError(EADDRINUSE, "bind \(path) (a server is listening there)") }
            guard e == ECONNREFUSED else { throw TransportError(e, "probe \(path)") }
            unlink(path)
        }
        let s = husk_rpc_socket()
        guard s >= 0 else { throw .last("socket") }
        let owned = OwnedDescriptor(s)
        guard husk_rpc_bind(owned.raw, path) == 0 else { throw .last("bind \(path)") }
        if let mode, chmod(path, mode) != 0 {
            let e = TransportError.last("chmod \(path)")
            unlink(path)
            throw e
        }
        guard Glibc.listen(owned.raw, backlog) == 0 else {
            let e = TransportError.last("listen")
            unlink(path)
            throw e
        }
        fd = owned.take()
        self.path = path
    }

    /// Wait for a connection. Throws after `shutdown()` (EINVAL).
    public func accept() throws(TransportError) -> OwnedDescriptor {
        while true {
            if inherited {
                var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
                if poll(&p, 2, -1) < 0 {
                    if errno == EINTR { continue }
                    throw .last("poll")
                }
                if p[1].revents != 0 { throw TransportError(EINVAL, "accept4 (listener shut down)") }
            }
            let c = husk_rpc_accept(fd)
            if c >= 0 { return OwnedDescriptor(c) }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EAGAIN where inherited: continue
            default: throw .last("accept4")
            }
        }
    }

    /// Wake accept() and remove the path; the descriptor is closed by close().
    public func shutdown() {
        lock.withLock {
            guard !closed else { return }
            if inherited {
                var b: UInt8 = 1
                _ = Glibc.write(wake.write, &b, 1)
                return
            }
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    public func close() {
        lock.withLock {
            guard !closed else { return }
            closed = true
            if inherited {
                _ = Glibc.close(wake.read)
                _ = Glibc.close(wake.write)
                _ = Glibc.close(fd)
                return
            }
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
            unlink(path)
            _ = Glibc.close(fd)
        }
    }

    deinit { close() }
}
