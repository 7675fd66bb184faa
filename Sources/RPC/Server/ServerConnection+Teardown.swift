import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// Protocol errors and the end of a connection.
extension ServerConnection {
    // MARK: errors and teardown

    /// Reply EPROTO where a request id is readable (magic intact and at least
    /// 24 bytes, request id not 0), then the caller closes the connection.
    func protocolError(_ why: String, bytes: [UInt8]) {
        server.log(.warning, "connection \(id) (\(identity)): protocol error: \(why)")
        guard bytes.count >= 24 else { return }
        let parsed: (UInt32, UInt32, UInt32, UInt64)? = bytes.withUnsafeBytes { b in
            var r = PayloadReader(b)
            guard let magic = r.u32(), let _ = r.u16(), let _ = r.u16(), let i = r.u32(), let o = r.u32(), let rid = r.u64() else {
                return nil
            }
            return (magic, i, o, rid)
        }
        // Request id 0 belongs to events: no reply carries it, so such a
        // request is closed without one (protocol §7).
        guard let (magic, i, o, rid) = parsed, magic == RPCHeader.magic, rid != 0 else { return }
        sendReply(header: RPCHeader(interface: i, operation: o, requestID: rid), status: RPCStatus.proto, payload: [], fds: [], signal: 0)
    }

    /// The header of a HELLO whose only fault is its protocol version (the
    /// rest of the 40-byte header well formed), for the EPROTONOSUPPORT reply.
    func helloOfOtherVersion(_ bytes: [UInt8]) -> RPCHeader? {
        guard !state.withLock({ helloDone }), bytes.count >= RPCHeader.size else { return nil }
        var copy = bytes
        copy[4] = UInt8(truncatingIfNeeded: RPCHeader.protocolVersion)
        copy[5] = UInt8(truncatingIfNeeded: RPCHeader.protocolVersion >> 8)
        let decoded = copy.withUnsafeBytes { RPCHeader.decode($0, messageLength: copy.count, fdsReceived: 0) }
        guard case .success(let h) = decoded, h.interface == RPCControl.interface, h.operation == RPCControl.Operation.hello.rawValue,
            h.flags.isEmpty, h.requestID != 0, h.fdCount == 0
        else { return nil }
        return h
    }

    func teardown(reason: String) {
        for f in fragments.values { closeDescriptors(f.descriptors) }
        fragments = [:]
        fragmentBytes = 0
        let stopping = server.isStopping
        state.withLock {
            readerDone = true
            if closeReason == "peer closed the connection" { closeReason = reason }
        }
        if !stopping {
            // The client is gone (or misbehaved): nobody will read the replies.
            cancelAll()
            transport.shutdown()
        }
        maybeClose()
    }

    /// Server shutdown: no more requests; replies still go out.
    func stopReading() {
        state.withLock {
            stopReadingRequested = true
            state.broadcast()
        }
        transport.shutdownReceive()
    }

    func forceClose() {
        cancelAll()
        transport.shutdown()
    }

    /// Close once the reader has left and no call is in flight: release the
    /// shared memory and the socket.
    func maybeClose() {
        let (go, reason): (Bool, String) = state.withLock {
            guard readerDone && inFlight.isEmpty && !closed else { return (false, "") }
            closed = true
            regions = [:]
            handlerState = nil
            regionBytes = 0
            return (true, closeReason)
        }
        guard go else { return }
        sendLock.withLock {
            sendBroken = true
            for m in queue { closeDescriptors(m.fds) }
            queue = []
            queuedBytes = 0
            transport.close()
        }
        server.connectionClosed(self, reason: reason)
    }
}
