import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// The reader thread: replies matched to their calls, fragments reassembled.
extension RPCClient {
    // MARK: reader

    func readerLoop(_ transport: SeqPacketConnection, generation gen: UInt64) {
        var reason = "server closed the connection"
        var partial: [UInt64: (payload: [UInt8], fds: [Int32])] = [:]
        loop: while true {
            switch transport.receive() {
            case .closed: break loop
            case .rejected(let e, _):
                reason = "bad message from server: \(e)"
                break loop
            case .message(let m):
                let decoded = m.bytes.withUnsafeBytes {
                    RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptors.count)
                }
                guard case .success(let h) = decoded else {
                    closeDescriptors(m.descriptors)
                    if case .failure(let e) = decoded { reason = "bad message from server: \(e)" }
                    break loop
                }
                let body = Array(m.bytes.dropFirst(RPCHeader.size))
                if h.flags.contains(.event) {
                    closeDescriptors(m.descriptors)
                    event(h, body)
                    continue
                }
                guard h.flags.contains(.reply) else {
                    closeDescriptors(m.descriptors)
                    continue
                }
                if h.flags.contains(.more) || partial[h.requestID] != nil {
                    var p = partial[h.requestID] ?? ([], [])
                    p.payload.append(contentsOf: body)
                    p.fds.append(contentsOf: m.descriptors)
                    if p.payload.count > Int(lock.withLock({ serverInfo.limits.maxPayload })) {
                        closeDescriptors(p.fds)
                        reason = "reply exceeds max_payload"
                        break loop
                    }
                    if h.flags.contains(.more) {
                        partial[h.requestID] = p
                        continue
                    }
                    partial.removeValue(forKey: h.requestID)
                    deliver(h, payload: p.payload, fds: p.fds)
                } else {
                    deliver(h, payload: body, fds: m.descriptors)
                }
            }
        }
        for p in partial.values { closeDescriptors(p.fds) }
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
