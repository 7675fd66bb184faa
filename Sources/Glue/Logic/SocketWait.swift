import GlueAPI
import HypercallABI

/// Blocking socket calls built from non-blocking ops and the provider's
/// poll (husk/glue/socket.h): waits go in slices of at most
/// SocketProviders.sliceMs, and between slices the calling thread's
/// cancellation (the RPC call's), the consumer's own `interrupted`, a close
/// of the socket and the provider's withdrawal are checked. So a blocked
/// accept, recv, send or connect ends within about one slice of any of
/// them, whatever the stack's own waits do with cancellation.
enum SocketWait {
    /// An absolute deadline on the host's monotonic clock, nil for none.
    static func deadline(_ timeoutMs: UInt32?) -> UInt64? {
        timeoutMs.map { Hyp.now(Hyp.currentOrNil).plusSaturating(UInt64($0) * 1_000_000) }
    }

    /// Why the wait must end now: EINTR (cancelled), or nil to go on.
    static func interruption(_ interrupted: () -> Bool) -> Int32? {
        if Hyp.table.pointee.cancel_pending!(Hyp.currentOrNil) == 1 || interrupted() { return HUSK_EINTR }
        return nil
    }

    /// The next slice: at most sliceMs, at most what is left until the
    /// deadline; nil when it has passed.
    static func slice(until deadline: UInt64?) -> UInt32? {
        guard let deadline else { return SocketProviders.sliceMs }
        let now = Hyp.now(Hyp.currentOrNil)
        guard now < deadline else { return nil }
        let ms = (deadline - now + 999_999) / 1_000_000
        return UInt32(min(UInt64(SocketProviders.sliceMs), ms))
    }

    static func wait(
        _ sock: SocketRecord, events: UInt32, deadline: UInt64?, interrupted: () -> Bool
    ) throws(Glue.SocketError)
        -> UInt32
    {
        let e = SocketProviders.shared.enter(sock)
        guard e == HUSK_OK else { throw Glue.SocketError(e) }
        defer { SocketProviders.shared.leave(sock) }
        while true {
            if let gone = SocketProviders.shared.gone(sock) { throw Glue.SocketError(gone) }
            if let why = interruption(interrupted) { throw Glue.SocketError(why) }
            guard let ms = slice(until: deadline) else { throw Glue.SocketError(HUSK_ETIMEDOUT) }
            var item = socket_pollitem(sock: sock.handle, events: events, revents: 0)
            guard let r = SocketProviders.shared.call(sock.provider, { $0.poll($0.priv, &item, 1, ms) }) else {
                throw Glue.SocketError(HUSK_ENODEV)
            }
            if r != HUSK_OK { throw Glue.SocketError(r) }
            let always = UInt32(SOCKET_POLLERR | SOCKET_POLLHUP | SOCKET_POLLNVAL)
            if item.revents & (events | always) != 0 { return item.revents }
        }
    }

    static func poll(
        _ provider: SocketProviderRecord, _ items: [(SocketRecord, UInt32)], timeoutMs: UInt32?, interrupted: () -> Bool
    ) throws(Glue.SocketError) -> [UInt32] {
        var revents = [UInt32](repeating: 0, count: items.count)
        // Sockets closed (or of another provider) answer NVAL at once, as poll(2) does.
        var live: [Int] = []
        for (i, (sock, _)) in items.enumerated() {
            if sock.provider !== provider || SocketProviders.shared.enter(sock) != HUSK_OK {
                revents[i] = UInt32(SOCKET_POLLNVAL)
            } else {
                live.append(i)
            }
        }
        defer { for i in live { SocketProviders.shared.leave(items[i].0) } }
        if live.isEmpty { return revents }
        // An invalid socket is an event: look at the others once and return.
        let timeoutMs = live.count < items.count ? 0 : timeoutMs
        let deadline = deadline(timeoutMs)
        var first = true
        while true {
            for i in live {
                if let gone = SocketProviders.shared.gone(items[i].0) {
                    revents[i] = gone == HUSK_ENODEV ? UInt32(SOCKET_POLLERR) : UInt32(SOCKET_POLLNVAL)
                }
            }
            if revents.contains(where: { $0 != 0 }) { return revents }
            if let why = interruption(interrupted) { throw Glue.SocketError(why) }
            // A timeout of 0 still looks once.
            let ms: UInt32
            if let s = slice(until: deadline) {
                ms = s
            } else if first {
                ms = 0
            } else {
                return revents
            }
            first = false
            var c = live.map { socket_pollitem(sock: items[$0].0.handle, events: items[$0].1, revents: 0) }
            let n = UInt32(c.count)
            guard let r = SocketProviders.shared.call(provider, { $0.poll($0.priv, &c, n, ms) }) else {
                throw Glue.SocketError(HUSK_ENODEV)
            }
            if r != HUSK_OK { throw Glue.SocketError(r) }
            for (k, i) in live.enumerated() { revents[i] = c[k].revents }
            if revents.contains(where: { $0 != 0 }) { return revents }
            if timeoutMs == 0 { return revents }
        }
    }
}
