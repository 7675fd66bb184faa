import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// Reconnecting after the connection died (ReconnectOptions).
extension RPCClient {
    // MARK: reconnecting

    /// Re-establish a dead connection (same path, HELLO again) unless
    /// another thread already did since generation `seen`. Returns the
    /// current generation, or throws ECONNRESET when it cannot.
    @discardableResult
    func reconnect(after seen: UInt64) throws(RPCError) -> UInt64 {
        guard let opts = reconnectOptions, let path else { throw RPCError(RPCStatus.connreset, lock.withLock { deathReason }) }
        reconnectLock.lock()
        defer { reconnectLock.unlock() }
        do {
            let (gen, isDead, closed) = lock.withLock { (generation, dead, closedByUser) }
            if closed { throw RPCError(RPCStatus.connreset, "client closed") }
            if gen != seen && !isDead { return gen }
            if !isDead {
                // The caller saw ECONNRESET on this generation: wait for its reader to notice.
                let t = lock.withLock { currentTransport }
                t.shutdown()
                let end = monotonicNanos() + 1_000_000_000
                while !lock.withLock({ dead }) && monotonicNanos() < end { usleep(1_000) }
            }
            let end = monotonicNanos() + UInt64(opts.timeoutSeconds * 1e9)
            var lastError = RPCError(RPCStatus.connreset, "reconnect")
            while true {
                do throws(RPCError) {
                    let t = try RPCClient.dial(path)
                    let info = try RPCClient.hello(t, require: required, timeoutSeconds: max(0.1, opts.timeoutSeconds), ring: wantsRing)
                    let (old, g): (SeqPacketConnection, UInt64) = lock.withLock {
                        let old = currentTransport
                        currentTransport = t
                        serverInfo = info
                        generation += 1
                        dead = false
                        deathReason = ""
                        readersRunning += 1
                        return (old, generation)
                    }
                    _ = old  // closed by its reader's exit path (deinit of the last reference)
                    t.consumerState = Incoming()
                    t.callersReceive = info.ringActive
                    HostThread.start(name: "rpc-client", detached: true, blockSignals: true) { [self] in readerLoop(t, generation: g) }
                    return g
                } catch {
                    lastError = error
                }
                if monotonicNanos() >= end { throw RPCError(RPCStatus.connreset, "reconnect to \(path) failed: \(lastError)") }
                usleep(useconds_t(opts.retryIntervalSeconds * 1e6))
            }
        }
    }
}
