import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// Calls: start, wait (blocking on the thread's eventfd, or async), retry, cancel.
extension RPCClient {
    // MARK: calls

    /// Send a request; returns its request id for wait()/cancel().
    /// Descriptors stay owned by the caller.
    /// With `reconnect`, a dead connection is re-established first (the
    /// request was never sent, so this is safe for any call).
    public func start(interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = []) throws(RPCError) -> UInt64 {
        try checkHandle()
        var info = server
        guard UInt64(payload.count) <= info.limits.maxPayload else {
            throw RPCError(RPCStatus.msgsize, "payload of \(payload.count) bytes")
        }
        guard descriptors.count <= Int(info.limits.maxFDs) else {
            throw RPCError(RPCStatus.inval, "more than \(info.limits.maxFDs) descriptors")
        }
        var registered: (id: UInt64, p: Pending, t: SeqPacketConnection)? = nil
        var seen: UInt64 = 0
        for attempt in 0..<2 {
            registered = lock.withLock {
                seen = generation
                while !dead && unanswered >= Int(serverInfo.limits.maxInFlight) { _ = lock.wait() }
                if dead { return nil }
                unanswered += 1
                let id = nextID
                nextID += 1
                let p = Pending(interface: interface, operation: operation, generation: generation)
                pending[id] = p
                info = serverInfo
                return (id, p, currentTransport)
            }
            if registered != nil || attempt == 1 || reconnectOptions == nil { break }
            try reconnect(after: seen)
        }
        guard let (id, _, transport) = registered else { throw RPCError(RPCStatus.connreset, lock.withLock { deathReason }) }
        let chunk = Int(info.limits.maxMessage) - RPCHeader.size
        var failure: TransportError?
        sendLock.withLock {
            var offset = 0
            repeat {
                let n = min(chunk, payload.count - offset)
                let last = offset + n == payload.count
                let h = RPCHeader(
                    flags: last ? [] : .more, interface: interface, operation: operation, requestID: id,
                    payloadLength: UInt32(n), fdCount: offset == 0 ? UInt16(descriptors.count) : 0)
                do throws(TransportError) {
                    try transport.send(h.encoded() + payload[offset..<offset + n], descriptors: offset == 0 ? descriptors : [])
                } catch {
                    failure = error
                    return
                }
                offset += n
            } while offset < payload.count
        }
        if let failure {
            lock.withLock {
                _ = pending.removeValue(forKey: id)
                unanswered = max(0, unanswered - 1)
                lock.broadcast()
            }
            throw RPCError(RPCStatus.connreset, "\(failure)")
        }
        return id
    }

    /// Wait for the reply to `requestID`. On timeout the request is
    /// cancelled and ETIMEDOUT returned. Raises the reply's signal (if any)
    /// in the calling thread before returning.
    public func wait(_ requestID: UInt64, timeoutSeconds: Double? = nil) -> RPCReply {
        guard let p = lock.withLock({ pending[requestID] }) else {
            // Never started, or already collected by another wait().
            return RPCReply(status: lock.withLock { dead } ? RPCStatus.connreset : RPCStatus.inval, payload: [], descriptors: [], signal: 0)
        }
        pollForReply(p)
        if timeoutSeconds == nil && signalsInterruptCalls, let efd = WaitFD.current() {
            waitInterruptibly(p, requestID: requestID, eventFD: efd)
        }
        let deadline = timeoutSeconds.map { monotonicNanos() + UInt64($0 * 1e9) }
        let reply: RPCReply? = p.monitor.withLock {
            while !p.done {
                if !p.monitor.wait(deadlineNanos: deadline), !p.done { return nil }
            }
            return p.reply
        }
        guard let reply else {
            cancel(requestID)
            lock.withLock { _ = pending.removeValue(forKey: requestID) }
            // A reply that raced in is dropped with its descriptors.
            p.complete(RPCReply(status: RPCStatus.timedout, payload: [], descriptors: [], signal: 0))
            return RPCReply(status: RPCStatus.timedout, payload: [], descriptors: [], signal: 0)
        }
        lock.withLock { _ = pending.removeValue(forKey: requestID) }
        if reply.signal != 0 && raisesSignals { pthread_kill(pthread_self(), reply.signal) }
        return reply
    }

    /// Block until `p` is done in a read() of the thread's eventfd: the
    /// place where EINTR surfaces. The kernel applies the interrupting
    /// signal's SA_RESTART flag itself: with it, read() is restarted
    /// transparently (we keep waiting, nothing is re-sent); without it,
    /// read() fails with EINTR, and we send CANCEL once and keep waiting
    /// for the server's final reply (the result, or EINTR).
    func waitInterruptibly(_ p: Pending, requestID: UInt64, eventFD efd: Int32) {
        var registered = false, consumed = false, cancelled = false
        while true {
            let done: Bool = p.monitor.withLock {
                if p.done { return true }
                if !registered {
                    p.wakeFD = efd
                    registered = true
                }
                return false
            }
            if done { break }
            var v: UInt64 = 0
            let n = Glibc.read(efd, &v, 8)
            if n == 8 {
                consumed = true
                continue
            }
            if n < 0 && errno == EINTR {
                if !cancelled {
                    cancelled = true
                    cancel(requestID)
                }
                continue
            }
            // Unexpected: leave it to the condition wait (p.wakeFD stays
            // registered, so drain below once done).
            let stillRegistered: Bool = p.monitor.withLock {
                while !p.done { p.monitor.wait() }
                return true
            }
            _ = stillRegistered
            break
        }
        if registered && !consumed {
            // complete() wrote under the monitor before we saw `done`: drain
            // it so the next call on this thread does not wake early.
            var v: UInt64 = 0
            while Glibc.read(efd, &v, 8) < 0 && errno == EINTR {}
        }
    }

    /// One call, status in the reply (not thrown).
    public func invoke(
        interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = [],
        timeoutSeconds: Double? = nil
    ) -> RPCReply {
        do {
            let id = try start(interface: interface, operation: operation, payload: payload, descriptors: descriptors)
            return wait(id, timeoutSeconds: timeoutSeconds)
        } catch {
            return RPCReply(status: error.status, payload: [], descriptors: [], signal: 0)
        }
    }

    /// RPCCaller: a non-zero status throws. With `reconnect`, a call marked
    /// `idempotent` that died with the connection (ECONNRESET) is sent again
    /// on a new connection; any other call fails with ECONNRESET.
    public func call(
        interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
        idempotent: Bool
    ) throws(RPCError) -> RPCResponse {
        var retries = 0
        while true {
            guard
                let (id, generation) = try startAttempt(
                    interface: interface, operation: operation, payload: payload,
                    descriptors: descriptors, idempotent: idempotent, retries: &retries)
            else { continue }
            if let response = try finishAttempt(
                wait(id), generation: generation, idempotent: idempotent, mayRetry: true,
                retries: &retries)
            {
                return response
            }
        }
    }

    /// The async call: Task cancellation sends CANCEL for the request and
    /// the call returns the server's final reply (the result if it had
    /// completed, else EINTR, thrown). Retries exactly as the synchronous
    /// call does (the same two steps), except once the Task is cancelled.
    public func call(
        interface: UInt32, operation: UInt32, payload: [UInt8] = [], descriptors: [Int32] = [],
        idempotent: Bool = false
    ) async throws(RPCError) -> RPCResponse {
        var retries = 0
        while true {
            guard
                let (id, generation) = try startAttempt(
                    interface: interface, operation: operation, payload: payload,
                    descriptors: descriptors, idempotent: idempotent, retries: &retries)
            else { continue }
            let reply = await waitAsync(id)
            if let response = try finishAttempt(
                reply, generation: generation, idempotent: idempotent,
                mayRetry: !Task.isCancelled, retries: &retries)
            {
                return response
            }
        }
    }

    /// First step of one attempt of a call: send it. Returns the request id
    /// and the connection generation it went out on, or nil when the send
    /// met a connection that had just died and the call is to be retried
    /// on a new one (idempotent, with `reconnect`, retries left).
    func startAttempt(
        interface: UInt32, operation: UInt32, payload: [UInt8], descriptors: [Int32],
        idempotent: Bool, retries: inout Int
    ) throws(RPCError) -> (UInt64, UInt64)? {
        let seen = lock.withLock { generation }
        let id: UInt64
        do throws(RPCError) {
            id = try start(interface: interface, operation: operation, payload: payload, descriptors: descriptors)
        } catch {
            if error.status == RPCStatus.connreset, idempotent, let opts = reconnectOptions, retries < opts.maxRetries {
                retries += 1
                try reconnect(after: seen)
                return nil
            }
            throw error
        }
        return (id, lock.withLock { pending[id]?.generation ?? generation })
    }

    /// Second step: judge the reply. Returns the response, nil to retry on
    /// a new connection (ECONNRESET of an idempotent call, `mayRetry`,
    /// retries left), or throws the status.
    func finishAttempt(
        _ r: RPCReply, generation: UInt64, idempotent: Bool, mayRetry: Bool,
        retries: inout Int
    ) throws(RPCError) -> RPCResponse? {
        if r.status == 0 { return RPCResponse(payload: r.payload, descriptors: r.descriptors) }
        closeDescriptors(r.descriptors)
        if r.status == RPCStatus.connreset {
            try checkHandle(afterReset: true)
            if idempotent, mayRetry, let opts = reconnectOptions, retries < opts.maxRetries {
                retries += 1
                try reconnect(after: generation)
                return nil
            }
        }
        throw RPCError(r.status, r.status == RPCStatus.connreset ? lock.withLock { deathReason } : "")
    }

    /// Wait for the reply without blocking a thread; Task cancellation
    /// sends CANCEL and the server's final reply is still awaited.
    func waitAsync(_ id: UInt64) async -> RPCReply {
        guard let p = lock.withLock({ pending[id] }) else {
            return RPCReply(status: RPCStatus.connreset, payload: [], descriptors: [], signal: 0)
        }
        let r: RPCReply = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<RPCReply, Never>) in
                let now: RPCReply? = p.monitor.withLock {
                    if p.done { return p.reply }
                    p.continuation = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            self.cancel(id)
        }
        lock.withLock { _ = pending.removeValue(forKey: id) }
        return r
    }

    /// A handle (opened object) from before a server restart is stale: its
    /// parent client reconnected to a server with another epoch. After the
    /// handle's own connection reset, the parent is asked to PING first (so
    /// a parent with `reconnect` finds out whether the server restarted).
    func checkHandle(afterReset: Bool = false) throws(RPCError) {
        guard let parent else { return }
        let mine = server.epoch
        if afterReset { try? parent.ping() }
        let now = parent.server.epoch
        if now != mine {
            throw RPCError(RPCStatus.stale, "handle from server epoch \(mine); server restarted (epoch \(now))")
        }
    }

    /// Ask the server to cancel `requestID`; its waiter still gets exactly
    /// one reply (the result, or EINTR). Unknown or finished ids are ignored.
    public func cancel(_ requestID: UInt64) {
        guard let p = lock.withLock({ pending[requestID] }), !p.monitor.withLock({ p.done }) else { return }
        let h = RPCHeader(flags: .cancel, interface: p.interface, operation: p.operation, requestID: requestID)
        let t: SeqPacketConnection? = lock.withLock { generation == p.generation ? currentTransport : nil }
        guard let t else { return }
        sendLock.withLock { try? t.send(h.encoded()) }
    }
}
