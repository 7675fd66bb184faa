import GlueAPI
import HypercallABI

/// A registered socket provider as the glue sees it.
final class SocketProviderRecord: @unchecked Sendable {
    // @unchecked: `alive`, `activeCalls` and `sockets` are guarded by
    // SocketProviders' lock; the rest is immutable. `provider` points at the
    // provider's struct, valid until unregister returns (the API contract).
    let provider: UnsafePointer<socket_provider>
    let name: String
    let ctx: OpaquePointer?
    var alive = true
    /// Calls inside one of the provider's ops (unregister waits for none).
    var activeCalls = 0
    /// Sockets consumers hold, closed by unregister.
    var sockets: [ObjectIdentifier: SocketRecord] = [:]

    init(_ p: UnsafePointer<socket_provider>, name: String, ctx: OpaquePointer?) {
        provider = p
        self.name = name
        self.ctx = ctx
    }

    var ops: socket_provider { provider.pointee }
}

/// One socket a provider returned (its `void *`), as the glue tracks it.
final class SocketRecord: @unchecked Sendable {
    // @unchecked: `users` and `closed` are guarded by SocketProviders' lock;
    // `handle` and `provider` are immutable; `opLock` locks itself.
    let provider: SocketProviderRecord
    let handle: UnsafeMutableRawPointer
    /// Serialises the socket's ops except poll (the provider's contract).
    let opLock = GlueLock<Void>("glue.socket.op", ())
    /// Ops and waits on this socket in progress: close waits for none.
    var users = 0
    var closed = false

    init(provider: SocketProviderRecord, handle: UnsafeMutableRawPointer) {
        self.provider = provider
        self.handle = handle
    }
}

/// The registry behind husk/glue/socket.h and Glue.SocketStack.
final class SocketProviders: Sendable {
    struct State {
        var providers: [String: SocketProviderRecord] = [:]
    }
    static let shared = SocketProviders()
    private let state = GlueLock("glue.sockets", State())

    /// The longest wait inside one provider poll: the bound on how late a
    /// blocked call notices its cancellation (lwIP's waits ignore it).
    static let sliceMs: UInt32 = 20

    func withLock<T>(_ body: (inout State) -> T) -> T {
        state.withLock { s in
            // Only @unchecked Sendable records and plain values leave the lock.
            nonisolated(unsafe) let v = body(&s)
            return v
        }
    }

    func register(_ p: UnsafePointer<socket_provider>, ctx: OpaquePointer?) -> Int32 {
        let o = p.pointee
        guard let cname = o.name, disk_name_valid(cname, Int(SOCKET_PROVIDER_NAME_MAX)),
            o.socket != nil, o.bind != nil, o.listen != nil, o.accept != nil, o.connect != nil, o.send != nil,
            o.recv != nil, o.shutdown != nil, o.close != nil, o.getname != nil, o.setopt != nil, o.getopt != nil,
            o.poll != nil
        else { return HUSK_EINVAL }
        let rec = SocketProviderRecord(p, name: String(cString: cname), ctx: ctx)
        return withLock { s in
            if s.providers[rec.name] != nil { return HUSK_EEXIST }
            s.providers[rec.name] = rec
            return HUSK_OK
        }
    }

    func unregister(_ p: UnsafePointer<socket_provider>, ctx: OpaquePointer?) {
        let rec = withLock { s -> SocketProviderRecord? in
            guard let (name, r) = s.providers.first(where: { $0.value.provider == p }) else { return nil }
            s.providers.removeValue(forKey: name)
            r.alive = false
            return r
        }
        guard let rec else { return }
        // Blocked consumers see `alive` false within a slice and leave; the
        // sockets they still hold are closed here, through the provider.
        for sock in withLock({ _ in Array(rec.sockets.values) }) { close(sock) }
        while withLock({ _ in rec.activeCalls }) > 0 { pause(ctx) }
    }

    func find(_ name: String?) -> SocketProviderRecord? {
        withLock { s in
            if let name { return s.providers[name] }
            return s.providers.keys.sorted().first.flatMap { s.providers[$0] }
        }
    }

    func names() -> [String] { withLock { s in s.providers.keys.sorted() } }

    // MARK: calls into a provider

    /// Run one op of `rec`'s provider on this thread, acting for the
    /// provider's component, counted so that unregister can wait for it.
    /// nil when the provider is gone.
    func call<T>(_ rec: SocketProviderRecord, _ body: (socket_provider) -> T) -> T? {
        let ok = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.activeCalls += 1
            return true
        }
        guard ok else { return nil }
        defer { withLock { _ in rec.activeCalls -= 1 } }
        return Hyp.acting(as: rec.ctx) { body(rec.ops) }
    }

    /// A new socket from the provider, tracked until closed.
    func adopt(_ rec: SocketProviderRecord, handle: UnsafeMutableRawPointer) -> SocketRecord? {
        let sock = SocketRecord(provider: rec, handle: handle)
        let kept = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.sockets[ObjectIdentifier(sock)] = sock
            return true
        }
        if kept { return sock }
        // Withdrawn while the op ran: unregister has already swept, so this
        // one is closed here (the provider is still inside its unregister).
        Hyp.acting(as: rec.ctx) { rec.ops.close(rec.ops.priv, handle) }
        return nil
    }

    /// Start using a socket (an op or a wait): 0, HUSK_EBADF (closed),
    /// HUSK_ENODEV (the provider is gone).
    func enter(_ sock: SocketRecord) -> Int32 {
        withLock { _ in
            if sock.closed { return HUSK_EBADF }
            if !sock.provider.alive { return HUSK_ENODEV }
            sock.users += 1
            return HUSK_OK
        }
    }

    func leave(_ sock: SocketRecord) { withLock { _ in sock.users -= 1 } }

    /// Why a waiter must stop now, or nil: the socket was closed or the
    /// provider withdrawn meanwhile.
    func gone(_ sock: SocketRecord) -> Int32? {
        withLock { _ in sock.closed ? HUSK_EBADF : (!sock.provider.alive ? HUSK_ENODEV : nil) }
    }

    /// Close once: waiters leave within a slice, then the provider's close
    /// runs with nothing else on the socket. False if it was closed before.
    @discardableResult
    func close(_ sock: SocketRecord) -> Bool {
        let first = withLock { _ -> Bool in
            if sock.closed { return false }
            sock.closed = true
            sock.provider.sockets.removeValue(forKey: ObjectIdentifier(sock))
            sock.provider.activeCalls += 1
            return true
        }
        guard first else { return false }
        while withLock({ _ in sock.users }) > 0 { pause(sock.provider.ctx) }
        let rec = sock.provider
        Hyp.acting(as: rec.ctx) { rec.ops.close(rec.ops.priv, sock.handle) }
        withLock { _ in rec.activeCalls -= 1 }
        return true
    }

    /// A finished component that left a provider registered: its fini has
    /// run, so its stack is gone and none of its ops may be called any
    /// more, not even close. The provider is dropped and its sockets are
    /// marked closed (consumers get ENODEV, then EBADF); waits for the calls
    /// still inside an op, which a fini that stopped the stack under them
    /// has already broken.
    func releaseAll(of ctx: OpaquePointer) {
        let mine = withLock { s -> [SocketProviderRecord] in
            let recs = s.providers.values.filter { $0.ctx == ctx }
            for r in recs {
                s.providers.removeValue(forKey: r.name)
                r.alive = false
                for sock in r.sockets.values { sock.closed = true }
                r.sockets = [:]
            }
            return recs
        }
        for r in mine {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: socket provider '\(r.name)' still registered after fini; dropping it")
            while withLock({ _ in r.activeCalls }) > 0 { pause(ctx) }
        }
    }

    /// 100 µs between checks of a condition another thread will make true.
    /// A cancelled caller's sleep returns at once: the loop then spins for
    /// the few milliseconds left, which is still correct.
    private func pause(_ ctx: OpaquePointer?) {
        _ = Hyp.table.pointee.sleep_ns!(ctx ?? Hyp.currentOrNil, 100_000)
    }
}
