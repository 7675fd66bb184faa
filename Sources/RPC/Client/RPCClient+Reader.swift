import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// The reader thread: replies matched to their calls, fragments reassembled.
extension RPCClient {
    // MARK: reader

    /// Per connection, what its consumers (the reader thread, and calling
    /// threads taking replies off the ring) share: replies arriving in
    /// fragments, and why a calling thread found the connection broken.
    /// Touched only under the transport's `consumer` lock.
    final class Incoming: @unchecked Sendable {
        // @unchecked: guarded by the transport's `consumer` lock.
        var partial: [UInt64: (payload: [UInt8], fds: [Int32])] = [:]
        var failure: String?
    }

    func readerLoop(_ transport: SeqPacketConnection, generation gen: UInt64) {
        var reason = "server closed the connection"
        let incoming = transport.consumerState as? Incoming ?? Incoming()
        transport.consumer.lock()
        while true {
            if let why = handle(transport.receive(), incoming) {
                reason = incoming.failure ?? why
                break
            }
        }
        for p in incoming.partial.values { closeDescriptors(p.fds) }
        incoming.partial = [:]
        transport.consumer.unlock()
        // Entries stay until their waiter collects them (a reply that came
        // before the death is still delivered).
        let orphans: [Pending] = lock.withLock {
            if generation == gen {
                dead = true
                deathReason = reason
                unanswered = 0
                lock.broadcast()
            }
            return pending.values.filter { $0.generation == gen }
        }
        for p in orphans { p.complete(RPCReply(status: RPCStatus.connreset, payload: [], descriptors: [], signal: 0)) }
        transport.shutdown()
        readerExit.withLock {
            readersRunning -= 1
            readerExit.broadcast()
        }
    }

    /// One received message: a reply delivered (reassembled from its
    /// fragments), an event handled. Returns why the connection is over,
    /// or nil. Called with the transport's `consumer` lock held.
    func handle(_ received: ReceiveResult, _ incoming: Incoming) -> String? {
        switch received {
        case .closed: return "server closed the connection"
        case .rejected(let e, _): return "bad message from server: \(e)"
        case .message(let m):
            let decoded = m.bytes.withUnsafeBytes {
                RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptors.count)
            }
            guard case .success(let h) = decoded else {
                closeDescriptors(m.descriptors)
                if case .failure(let e) = decoded { return "bad message from server: \(e)" }
                return "bad message from server"
            }
            let body = Array(m.bytes.dropFirst(RPCHeader.size))
            if h.flags.contains(.event) {
                closeDescriptors(m.descriptors)
                event(h, body)
                return nil
            }
            guard h.flags.contains(.reply) else {
                closeDescriptors(m.descriptors)
                return nil
            }
            if h.flags.contains(.more) || incoming.partial[h.requestID] != nil {
                var p = incoming.partial[h.requestID] ?? ([], [])
                p.payload.append(contentsOf: body)
                p.fds.append(contentsOf: m.descriptors)
                if p.payload.count > Int(lock.withLock({ serverInfo.limits.maxPayload })) {
                    closeDescriptors(p.fds)
                    incoming.partial.removeValue(forKey: h.requestID)
                    return "reply exceeds max_payload"
                }
                if h.flags.contains(.more) {
                    incoming.partial[h.requestID] = p
                    return nil
                }
                incoming.partial.removeValue(forKey: h.requestID)
                deliver(h, payload: p.payload, fds: p.fds)
            } else {
                deliver(h, payload: body, fds: m.descriptors)
            }
            return nil
        }
    }

    /// Before blocking, a synchronous caller on the rings takes replies off
    /// the reply ring itself for the ring's spin budget: a reply that comes
    /// within it costs no thread hand-off and no wake-up call on either
    /// side. Not with event registrations (an event's signal must reach a
    /// caller blocked where EINTR surfaces, see waitInterruptibly).
    func pollForReply(_ p: Pending) {
        let t: SeqPacketConnection? = lock.withLock {
            generation == p.generation && eventSignals.isEmpty ? currentTransport : nil
        }
        guard let t, onEvent == nil, let incoming = t.consumerState as? Incoming else { return }
        _ = t.pollRing { received in
            if let why = handle(received, incoming) {
                // The reader thread finishes the connection, with this reason.
                if incoming.failure == nil { incoming.failure = why }
                t.shutdown()
                return true
            }
            return p.monitor.withLock { p.done }
        }
    }

    func deliver(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) {
        // Every request gets exactly one final reply, collected or not.
        lock.withLock {
            unanswered = max(0, unanswered - 1)
            lock.broadcast()
        }
        guard let p = lock.withLock({ pending[h.requestID] }) else {
            closeDescriptors(fds)  // a reply nobody waits for (timed out)
            return
        }
        p.complete(RPCReply(status: h.status, payload: payload, descriptors: fds, signal: Int32(h.signal)))
    }
}
