import Glibc
import Glue
import GlueAPI
import Platform
import RPCInterfaces
import RPCServer
import RPCWire
import Synchronization

/// The net server's behaviour behind the generated NetDispatcher
/// (Interfaces/net.idl, docs/net.md): sockets of the glue's socket provider
/// (the lwip component), one opened object per socket descriptor.
public final class SocketService: NetService, @unchecked Sendable {
    // @unchecked: immutable after init but `stopping` (atomic) and the
    // watcher and table (locked themselves).
    let stack: Glue.SocketStack
    let policy: AccessPolicy
    let table = SocketTable()
    let watcher: SocketWatcher
    private let stopping = Atomic<Bool>(false)

    /// The right that binding a port below 1024 needs (docs/net.md).
    public static let adminRight = "net.admin"

    public init(stack: Glue.SocketStack, policy: AccessPolicy = .allowAll) {
        self.stack = stack
        self.policy = policy
        watcher = SocketWatcher(stack: stack)
    }

    /// Make every blocked call return (EINTR) and stop watching: before the
    /// RPC server's shutdown, so that calls in flight end at once.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
        watcher.stop()
    }

    /// Sockets open now (descriptors of clients that still hold them).
    public var openSockets: Int { table.count }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) }

    // MARK: helpers

    private func served(_ call: any RPCCall) throws(RPCError) -> ServedSocket {
        guard let ctx = call as? any RPCServerCallContext, let h = ctx.objectBinding as? SocketHandle else {
            throw RPCError(RPCStatus.badf, "not a socket descriptor: call this on a descriptor net.socket or net.accept returned")
        }
        guard let s = h.socket else { throw RPCError(RPCStatus.badf, "socket descriptor closed") }
        return s
    }

    private func io(_ s: ServedSocket, _ flags: UInt32, _ call: any RPCCall) -> SocketIO {
        SocketIO(served: s, flags: flags, interrupted: { [self] in call.isCancelled || isStopping })
    }

    private func address(_ family: UInt16, _ bytes: [UInt8], _ port: UInt16) throws(RPCError) -> Glue.SocketAddress {
        guard let a = Glue.SocketAddress(family: family, address: bytes, port: port) else {
            if family != Net.Family.inet && family != Net.Family.inet6 {
                throw RPCError(RPCStatus.afnosupport, "address family \(family): 2 (IPv4) or 10 (IPv6)")
            }
            throw RPCError(
                RPCStatus.inval, "an address of family \(family) is \(family == Net.Family.inet ? 4 : 16) bytes, not \(bytes.count)")
        }
        return a
    }

    private func open(_ s: ServedSocket, _ call: any RPCCall) throws(RPCError) -> Int32 {
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        switch ctx.openObjectConnection(name: "socket \(s.id)", binding: SocketHandle(s)) {
        case .failure(let e): throw e
        case .success(let fd): return fd
        }
    }

    private func checkFlags(_ flags: UInt32) throws(RPCError) {
        if flags & ~Net.Flag.all != 0 { throw RPCError(RPCStatus.inval, "unknown flags 0x\(String(flags & ~Net.Flag.all, radix: 16))") }
    }

    /// A failed send: EPIPE also raises SIGPIPE in the caller unless MSG_NOSIGNAL.
    private func sendFailure(_ e: Glue.SocketError, _ flags: UInt32, _ call: any RPCCall) -> RPCError {
        if e.code == HUSK_EPIPE && flags & Net.Flag.noSignal == 0 { call.raiseSignal(SIGPIPE) }
        return RPCError(e.code, "send: \(e)")
    }

    private func withBytes<T>(
        _ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Glue.SocketError) -> T
    ) throws(Glue.SocketError)
        -> T
    {
        let r: Result<T, Glue.SocketError> = a.withUnsafeBytes { b in Result { () throws(Glue.SocketError) in try body(b) } }
        return try r.get()
    }

    private func withMutableBytes<T>(
        _ a: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(Glue.SocketError) -> T
    ) throws(Glue.SocketError) -> T {
        let r: Result<T, Glue.SocketError> = a.withUnsafeMutableBytes { b in Result { () throws(Glue.SocketError) in try body(b) } }
        return try r.get()
    }

    // MARK: the interface

    public func socket(_ request: Net.SocketRequest, call: any RPCCall) throws(RPCError) -> Net.SocketReply {
        guard request.family == Net.Family.inet || request.family == Net.Family.inet6 else {
            throw RPCError(RPCStatus.afnosupport, "family \(request.family): 2 (IPv4) or 10 (IPv6)")
        }
        guard request.kind == Net.Kind.stream || request.kind == Net.Kind.datagram else {
            throw RPCError(RPCStatus.inval, "kind \(request.kind): 1 (stream, TCP) or 2 (datagram, UDP)")
        }
        let sock: Glue.Socket
        do throws(Glue.SocketError) { sock = try stack.socket(family: request.family, type: request.kind) } catch {
            throw RPCError(error.code, "socket: \(error)")
        }
        let s = ServedSocket(sock, family: request.family, kind: request.kind, owner: call.identity.uid, table: table)
        return Net.SocketReply(socket: try open(s, call), id: s.id)
    }

    public func bind(_ request: Net.BindRequest, call: any RPCCall) throws(RPCError) -> Net.BindReply {
        let s = try served(call)
        let a = try address(request.family, request.address, request.port)
        if a.port != 0 && a.port < Net.Limits.privilegedPorts && !policy.grantsRight(call.identity, Self.adminRight) {
            throw RPCError(
                RPCStatus.acces, "binding port \(a.port) needs the admin right: `allow \(Self.adminRight) uid=...` in the server's policy")
        }
        do throws(Glue.SocketError) { try s.socket.bind(a) } catch { throw RPCError(error.code, "bind \(a): \(error)") }
        return Net.BindReply()
    }

    public func listen(_ request: Net.ListenRequest, call: any RPCCall) throws(RPCError) -> Net.ListenReply {
        let s = try served(call)
        guard s.isStream else { throw RPCError(RPCStatus.notsup, "listen: not a stream socket") }
        do throws(Glue.SocketError) { try s.socket.listen(backlog: min(max(request.backlog, 1), Net.Limits.maxBacklog)) } catch {
            throw RPCError(error.code, "listen: \(error)")
        }
        return Net.ListenReply()
    }

    public func accept(_ request: Net.AcceptRequest, call: any RPCCall) throws(RPCError) -> Net.AcceptReply {
        let s = try served(call)
        try checkFlags(request.flags)
        let (sock, peer): (Glue.Socket, Glue.SocketAddress)
        do throws(Glue.SocketError) { (sock, peer) = try io(s, request.flags, call).accept() } catch {
            throw RPCError(error.code, "accept: \(error)")
        }
        let n = ServedSocket(sock, family: s.family, kind: s.kind, owner: call.identity.uid, table: table)
        return Net.AcceptReply(socket: try open(n, call), id: n.id, family: peer.family, address: peer.address, port: peer.port)
    }

    public func connect(_ request: Net.ConnectRequest, call: any RPCCall) throws(RPCError) -> Net.ConnectReply {
        let s = try served(call)
        let a = try address(request.family, request.address, request.port)
        guard request.timeoutMs <= Net.Limits.maxTimeoutMs else {
            throw RPCError(RPCStatus.inval, "connect: timeout_ms is at most \(Net.Limits.maxTimeoutMs)")
        }
        do throws(Glue.SocketError) {
            try io(s, 0, call).connect(a, timeoutMs: request.timeoutMs == 0 ? nil : request.timeoutMs)
        } catch { throw RPCError(error.code, "connect \(a): \(error)") }
        return Net.ConnectReply()
    }

    public func send(_ request: Net.SendRequest, call: any RPCCall) throws(RPCError) -> Net.SendReply {
        let s = try served(call)
        try checkFlags(request.flags)
        guard request.data.count <= Net.Limits.inlineBytes else {
            throw RPCError(RPCStatus.msgsize, "send: at most \(Net.Limits.inlineBytes) bytes inline; use send_shm")
        }
        do throws(Glue.SocketError) {
            let n = try withBytes(request.data) { b throws(Glue.SocketError) in try io(s, request.flags, call).send(b) }
            return Net.SendReply(count: UInt32(n))
        } catch { throw sendFailure(error, request.flags, call) }
    }

    public func recv(_ request: Net.RecvRequest, call: any RPCCall) throws(RPCError) -> Net.RecvReply {
        let s = try served(call)
        try checkFlags(request.flags)
        guard request.max <= Net.Limits.inlineBytes else {
            throw RPCError(RPCStatus.msgsize, "recv: at most \(Net.Limits.inlineBytes) bytes inline; use recv_shm")
        }
        if request.max == 0 { return Net.RecvReply(data: []) }
        var buf = [UInt8](repeating: 0, count: Int(request.max))
        do throws(Glue.SocketError) {
            let n = try withMutableBytes(&buf) { b throws(Glue.SocketError) in try io(s, request.flags, call).receive(into: b).count }
            return Net.RecvReply(data: Array(buf[0..<n]))
        } catch { throw RPCError(error.code, "recv: \(error)") }
    }

    public func sendto(_ request: Net.SendtoRequest, call: any RPCCall) throws(RPCError) -> Net.SendtoReply {
        let s = try served(call)
        try checkFlags(request.flags)
        let a = try address(request.family, request.address, request.port)
        guard request.data.count <= Net.Limits.inlineBytes else {
            throw RPCError(RPCStatus.msgsize, "sendto: at most \(Net.Limits.inlineBytes) bytes")
        }
        do throws(Glue.SocketError) {
            let n = try withBytes(request.data) { b throws(Glue.SocketError) in try io(s, request.flags, call).send(b, to: a) }
            return Net.SendtoReply(count: UInt32(n))
        } catch { throw sendFailure(error, request.flags, call) }
    }

    public func recvfrom(_ request: Net.RecvfromRequest, call: any RPCCall) throws(RPCError) -> Net.RecvfromReply {
        let s = try served(call)
        try checkFlags(request.flags)
        guard request.max > 0, request.max <= Net.Limits.inlineBytes else {
            throw RPCError(RPCStatus.inval, "recvfrom: max is 1...\(Net.Limits.inlineBytes)")
        }
        var buf = [UInt8](repeating: 0, count: Int(request.max))
        do throws(Glue.SocketError) {
            let r = try withMutableBytes(&buf) { b throws(Glue.SocketError) in try io(s, request.flags, call).receive(into: b) }
            let from = r.from ?? (try? s.socket.name(peer: true))
            return Net.RecvfromReply(
                data: Array(buf[0..<r.count]), family: from?.family ?? 0, address: from?.address ?? [], port: from?.port ?? 0)
        } catch { throw RPCError(error.code, "recvfrom: \(error)") }
    }

    public func sendShm(_ request: Net.SendShmRequest, call: any RPCCall) throws(RPCError) -> Net.SendShmReply {
        let s = try served(call)
        try checkFlags(request.flags)
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        // The bytes go to the stack straight from the client's memory: the
        // server does not look at them, and the stack copies before returning.
        let r = ctx.withSharedMemory(request.data, writable: false) { region -> Result<Int, Glue.SocketError> in
            do throws(Glue.SocketError) { return .success(try io(s, request.flags, call).send(UnsafeRawBufferPointer(region))) } catch {
                return .failure(error)
            }
        }
        switch r {
        case .failure(let e): throw e
        case .success(.failure(let e)): throw sendFailure(e, request.flags, call)
        case .success(.success(let n)): return Net.SendShmReply(count: UInt64(n))
        }
    }

    public func recvShm(_ request: Net.RecvShmRequest, call: any RPCCall) throws(RPCError) -> Net.RecvShmReply {
        let s = try served(call)
        try checkFlags(request.flags)
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        if request.buffer.length == 0 { return Net.RecvShmReply(count: 0) }
        let r = ctx.withSharedMemory(request.buffer, writable: true) { region -> Result<Int, Glue.SocketError> in
            do throws(Glue.SocketError) { return .success(try io(s, request.flags, call).receive(into: region).count) } catch {
                return .failure(error)
            }
        }
        switch r {
        case .failure(let e): throw e
        case .success(.failure(let e)): throw RPCError(e.code, "recv_shm: \(e)")
        case .success(.success(let n)): return Net.RecvShmReply(count: UInt64(n))
        }
    }

    public func shutdown(_ request: Net.ShutdownRequest, call: any RPCCall) throws(RPCError) -> Net.ShutdownReply {
        let s = try served(call)
        guard request.how <= Net.Shut.both else { throw RPCError(RPCStatus.inval, "shutdown: how is 0 (read), 1 (write) or 2 (both)") }
        do throws(Glue.SocketError) { try s.socket.shutdown(request.how) } catch { throw RPCError(error.code, "shutdown: \(error)") }
        return Net.ShutdownReply()
    }

    public func close(_ request: Net.CloseRequest, call: any RPCCall) throws(RPCError) -> Net.CloseReply {
        guard let ctx = call as? any RPCServerCallContext, let h = ctx.objectBinding as? SocketHandle, h.socket != nil else {
            throw RPCError(RPCStatus.badf, "not an open socket descriptor")
        }
        h.close()
        return Net.CloseReply()
    }

    public func getsockname(_ request: Net.GetsocknameRequest, call: any RPCCall) throws(RPCError) -> Net.GetsocknameReply {
        let s = try served(call)
        do throws(Glue.SocketError) {
            let a = try s.socket.name(peer: false)
            return Net.GetsocknameReply(family: a.family, address: a.address, port: a.port)
        } catch { throw RPCError(error.code, "getsockname: \(error)") }
    }

    public func getpeername(_ request: Net.GetpeernameRequest, call: any RPCCall) throws(RPCError) -> Net.GetpeernameReply {
        let s = try served(call)
        do throws(Glue.SocketError) {
            let a = try s.socket.name(peer: true)
            return Net.GetpeernameReply(family: a.family, address: a.address, port: a.port)
        } catch { throw RPCError(error.code, "getpeername: \(error)") }
    }

    public func setsockopt(_ request: Net.SetsockoptRequest, call: any RPCCall) throws(RPCError) -> Net.SetsockoptReply {
        let s = try served(call)
        guard let o = Net.Option(rawValue: request.option), o != .error else {
            throw RPCError(RPCStatus.noprotoopt, "setsockopt: no option \(request.option)")
        }
        if o.isServers {
            s.setServerOption(o, request.value)
        } else {
            do throws(Glue.SocketError) { try s.socket.setOption(o.rawValue, request.value) } catch {
                throw RPCError(error.code, "setsockopt \(o.name): \(error)")
            }
        }
        return Net.SetsockoptReply()
    }

    public func getsockopt(_ request: Net.GetsockoptRequest, call: any RPCCall) throws(RPCError) -> Net.GetsockoptReply {
        let s = try served(call)
        guard let o = Net.Option(rawValue: request.option) else {
            throw RPCError(RPCStatus.noprotoopt, "getsockopt: no option \(request.option)")
        }
        if o.isServers { return Net.GetsockoptReply(value: s.serverOption(o)) }
        do throws(Glue.SocketError) { return Net.GetsockoptReply(value: try s.socket.option(o.rawValue)) } catch {
            throw RPCError(error.code, "getsockopt \(o.name): \(error)")
        }
    }

    public func poll(_ request: Net.PollRequest, call: any RPCCall) throws(RPCError) -> Net.PollReply {
        guard request.sockets.count == request.events.count, !request.sockets.isEmpty,
            request.sockets.count <= Net.Limits.pollSockets
        else { throw RPCError(RPCStatus.inval, "poll: 1...\(Net.Limits.pollSockets) sockets, one events word each") }
        guard request.timeoutMs <= Net.Limits.maxTimeoutMs || request.timeoutMs == UInt32.max else {
            throw RPCError(RPCStatus.inval, "poll: timeout_ms is at most \(Net.Limits.maxTimeoutMs), or 4294967295 for no limit")
        }
        let who = call.identity.uid
        // A socket another uid made is invalid here, as if it did not exist.
        let found = request.sockets.map { id in table.find(id).flatMap { $0.owner == who || who == 0 ? $0 : nil } }
        var revents = [UInt32](repeating: 0, count: found.count)
        var items: [(socket: Glue.Socket, events: UInt32)] = []
        var index: [Int] = []
        for (i, s) in found.enumerated() {
            guard let s else {
                revents[i] = Net.Event.invalid
                continue
            }
            items.append((s.socket, request.events[i] & (Net.Event.readable | Net.Event.writable)))
            index.append(i)
        }
        if items.isEmpty { return Net.PollReply(revents: revents) }
        // An invalid socket is an event, as in poll(2): the others are looked at once.
        let timeout: UInt32? = items.count < found.count ? 0 : request.timeoutMs == UInt32.max ? nil : request.timeoutMs
        do throws(Glue.SocketError) {
            let r = try stack.poll(
                items, timeoutMs: timeout,
                interrupted: { [self] in call.isCancelled || isStopping })
            for (k, i) in index.enumerated() { revents[i] = r[k] }
            return Net.PollReply(revents: revents)
        } catch { throw RPCError(error.code, "poll: \(error)") }
    }

    public func watch(_ request: Net.WatchRequest, call: any RPCCall) throws(RPCError) -> Net.WatchReply {
        let s = try served(call)
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let events = request.events & (Net.Event.readable | Net.Event.writable)
        guard events != 0 else { throw RPCError(RPCStatus.inval, "watch: events must include readable (1) or writable (4)") }
        guard watcher.add(s, events: events, channel: ctx.eventChannel()) else {
            throw RPCError(RPCStatus.again, "watch: the server is stopping")
        }
        return Net.WatchReply()
    }

    public func dup(_ request: Net.DupRequest, call: any RPCCall) throws(RPCError) -> Net.DupReply {
        Net.DupReply(socket: try open(try served(call), call))
    }
}
