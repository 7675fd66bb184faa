import Glibc

/// The sender thread: the only writer of the socket during transmission,
/// so replies never interleave (it plays the role of the send lock).
extension Connection {
    func runSender() {
        while let req = nextReady() {
            if req.flushAfter && req.error == 0 {
                // FUA: the write is complete; reply once the flush is.
                req.flushAfter = false
                submitFlush(req)
                continue
            }
            let sent = monitor.withLock { broken } ? false : sendReply(req)
            if !sent {
                // The client is gone: keep draining so that every buffer the
                // disk still holds is waited for, and stop the reader.
                let first = monitor.withLock { () -> Bool in
                    defer { broken = true }
                    return !broken
                }
                if first { socket.shutdownBoth() }
            }
            monitor.withLock {
                inFlight -= 1
                inFlightBytes -= req.charged
                monitor.broadcast()
            }
            req.buffer = nil
        }
    }

    /// The next completed request, or nil once the reader has stopped and
    /// nothing is in flight.
    private func nextReady() -> Request? {
        monitor.withLock {
            while ready.isEmpty {
                if readerDone && inFlight == 0 { return nil }
                monitor.wait()
            }
            return ready.removeFirst()
        }
    }

    /// Simple reply: magic, error, cookie; then the data of a good READ.
    private func sendReply(_ req: Request) -> Bool {
        var w = WireWriter(capacity: 16)
        w.u32(NBD.simpleReplyMagic)
        w.u32(req.error)
        w.u64(req.cookie)
        guard socket.write(w.bytes) else { return false }
        if req.repliesWithData, let b = req.buffer {
            return socket.write(b.pointer, count: Int(req.length))
        }
        return true
    }
}
