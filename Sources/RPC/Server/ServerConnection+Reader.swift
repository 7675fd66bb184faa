import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// The reader thread: validation (protocol §7), reassembly of fragments,
/// routing to the control interface or a handler, back-pressure.
extension ServerConnection {
    // MARK: reader

    func readerLoop() {
        var reason = "peer closed the connection"
        loop: while true {
            if state.withLock({ stopReadingRequested }) {
                reason = "server shutting down"
                break
            }
            switch transport.receive() {
            case .closed:
                if state.withLock({ stopReadingRequested }) { reason = "server shutting down" }
                break loop
            case .rejected(let err, let bytes):
                protocolError(err.description, bytes: bytes)
                reason = "protocol error: \(err)"
                break loop
            case .message(let m):
                if let why = handle(m) {
                    reason = why
                    break loop
                }
            }
        }
        teardown(reason: reason)
    }

    /// Handle one message; returns a reason to close the connection, or nil.
    func handle(_ m: ReceivedMessage) -> String? {
        let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptors.count) }
        let h: RPCHeader
        switch decoded {
        case .failure(let e):
            closeDescriptors(m.descriptors)
            if case .badVersion(let v) = e, let hello = helloOfOtherVersion(m.bytes) {
                // A client that speaks only another version says so in the
                // header of its HELLO: that is a negotiation failure, not garbage.
                sendReply(header: hello, status: RPCStatus.protonosupport, payload: [], fds: [], signal: 0)
                return "client speaks protocol version \(v), server speaks \(RPCHeader.protocolVersion)"
            }
            protocolError(e.description, bytes: m.bytes)
            return "protocol error: \(e)"
        case .success(let x): h = x
        }
        func malformed(_ why: String) -> String {
            closeDescriptors(m.descriptors)
            protocolError(why, bytes: m.bytes)
            return "protocol error: \(why)"
        }
        if h.flags.contains(.reply) || h.flags.contains(.event) { return malformed("REPLY/EVENT flag on a client message") }
        if h.requestID == 0 { return malformed("request id 0") }
        if h.status != 0 || h.signal != 0 { return malformed("non-zero status or signal in a request") }
        let helloDone = state.withLock { self.helloDone }
        if !helloDone && !(h.interface == RPCControl.interface && h.operation == RPCControl.Operation.hello.rawValue && h.flags.isEmpty) {
            return malformed("first message is not HELLO")
        }
        if h.flags.contains(.cancel) {
            if h.flags.contains(.more) || h.payloadLength != 0 || h.fdCount != 0 {
                return malformed("CANCEL with payload, descriptors or MORE")
            }
            cancel(requestID: h.requestID)
            return nil
        }
        // Reassembly of MORE fragments.
        var payload = Array(m.bytes.dropFirst(RPCHeader.size))
        var fds = m.descriptors
        if h.flags.contains(.more) || fragments[h.requestID] != nil {
            let first = fragments[h.requestID] == nil
            var f = fragments[h.requestID] ?? Fragmented(header: h, payload: [], descriptors: fds, discarding: false)
            if !first {
                if h.interface != f.header.interface || h.operation != f.header.operation {
                    return malformed("fragment names another interface/operation")
                }
                if !fds.isEmpty { return malformed("descriptors on a continuation fragment") }
            } else if fragments.count >= Int(limits.maxInFlight) {
                return malformed("too many fragmented requests at once")
            }
            if !f.discarding {
                if fragmentBytes + payload.count > Int(limits.maxPayload) {
                    // EMSGSIZE once; swallow the remaining fragments.
                    fragmentBytes -= f.payload.count
                    f.payload = []
                    closeDescriptors(f.descriptors)
                    f.descriptors = []
                    f.discarding = true
                    sendReply(header: h, status: RPCStatus.msgsize, payload: [], fds: [], signal: 0)
                    server.count(h.interface, h.operation, status: RPCStatus.msgsize)
                } else {
                    f.payload.append(contentsOf: payload)
                    fragmentBytes += payload.count
                }
            }
            if h.flags.contains(.more) {
                fragments[h.requestID] = f
                return nil
            }
            fragments.removeValue(forKey: h.requestID)
            fragmentBytes -= f.payload.count
            if f.discarding { return nil }
            payload = f.payload
            fds = f.descriptors
        }
        var whole = h
        whole.flags.remove(.more)
        whole.payloadLength = UInt32(truncatingIfNeeded: payload.count)
        if whole.interface == RPCControl.interface { return control(whole, payload: payload, fds: fds) }
        return call(whole, payload: payload, fds: fds)
    }

    func call(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) -> String? {
        // Back-pressure: a call beyond the in-flight limit waits here (the
        // one message held) and the reader stops reading until a call
        // completes. A client that keeps to the limit is never held, so its
        // CANCELs and control messages are always read at once.
        let stopping: Bool = state.withLock {
            while inFlight.count >= Int(limits.maxInFlight) && !stopReadingRequested { state.wait() }
            return stopReadingRequested
        }
        if stopping {
            closeDescriptors(fds)
            sendReply(header: h, status: RPCStatus.intr, payload: [], fds: [], signal: 0)
            return "server shutting down"
        }
        guard let handler = server.handlers[h.interface] else {
            closeDescriptors(fds)
            sendReply(header: h, status: RPCStatus.nosys, payload: [], fds: [], signal: 0)
            return nil
        }
        guard handler.operationNames[h.operation] != nil else {
            closeDescriptors(fds)
            sendReply(header: h, status: RPCStatus.nosys, payload: [], fds: [], signal: 0)
            return nil
        }
        if !server.configuration.policy.allows(identity, names: { server.operationName(h.interface, h.operation) }) {
            let (iname, oname) = server.operationName(h.interface, h.operation)
            closeDescriptors(fds)
            server.log(.warning, "connection \(id): \(iname).\(oname) denied to \(identity) (EACCES)")
            server.count(h.interface, h.operation, status: RPCStatus.acces)
            sendReply(header: h, status: RPCStatus.acces, payload: [], fds: [], signal: 0)
            return nil
        }
        let c = ServerCall(connection: self, header: h, payload: payload, descriptors: fds)
        let duplicate: Bool = state.withLock {
            if inFlight[h.requestID] != nil { return true }
            inFlight[h.requestID] = c
            return false
        }
        if duplicate {
            closeDescriptors(fds)
            protocolError("request id \(h.requestID) already in flight", bytes: h.encoded())
            return "protocol error: duplicate request id"
        }
        if handler.runsInline(operation: h.operation) {
            c.run(handler: handler)
        } else {
            server.pool.submit { c.run(handler: handler) }
        }
        return nil
    }
}
