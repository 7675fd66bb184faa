import Glibc
import Hypercalls
import RPCTransport
import RPCWire
import Platform

/// One client connection: a reader thread that validates and routes
/// messages, the calls in flight, the client's shared memory and its reply
/// queue.
final class ServerConnection: @unchecked Sendable {
    // @unchecked: fields marked (state) are guarded by `state`; fields marked
    // (send) by `sendLock`; fields marked (reader) are only touched by the
    // reader thread. `id`, `server`, `transport`, `identity` are immutable.
    let id: UInt64
    let server: RPCServer
    let transport: any RPCTransport
    let identity: PeerIdentity
    /// What an opened object's connection is bound to (the server's own
    /// object, e.g. an open block device); nil on connections from connect().
    /// Released with the connection, so a dead client releases its handles.
    let binding: (any Sendable)?
    let state = Monitor()
    private var inFlight: [UInt64: ServerCall] = [:]           // (state)
    private var helloDone = false                               // (state)
    private var readerDone = false                              // (state)
    private var closed = false                                  // (state)
    private var stopReadingRequested = false                    // (state)
    private var regions: [UInt32: SharedRegion] = [:]           // (state)
    private var regionBytes: UInt64 = 0                         // (state)
    private var nextRegionID: UInt32 = 1                        // (state)
    private var closeReason = "peer closed the connection"      // (state)

    private struct Fragmented { var header: RPCHeader; var payload: [UInt8]; var descriptors: [Int32]; var discarding: Bool }
    private var fragments: [UInt64: Fragmented] = [:]           // (reader)
    private var fragmentBytes = 0                               // (reader)

    private let sendLock = Monitor()
    private var queue: [(bytes: [UInt8], fds: [Int32])] = []    // (send)
    private var queuedBytes = 0                                 // (send)
    private var sendBroken = false                              // (send)

    var limits: RPCLimits { server.configuration.limits }

    init(id: UInt64, server: RPCServer, transport: any RPCTransport, identity: PeerIdentity, binding: (any Sendable)? = nil) {
        self.binding = binding
        self.id = id; self.server = server; self.transport = transport; self.identity = identity
    }

    /// The descriptor the reply flusher polls for POLLOUT; -1 for a transport
    /// without one (the flusher then simply retries it).
    var pollDescriptor: Int32 { (transport as? SeqPacketConnection)?.fd ?? -1 }

    var inFlightCount: Int { state.withLock { inFlight.count } }

    // MARK: reader

    func readerLoop() {
        var reason = "peer closed the connection"
        loop: while true {
            if state.withLock({ stopReadingRequested }) { reason = "server shutting down"; break }
            switch transport.receive() {
            case .closed:
                if state.withLock({ stopReadingRequested }) { reason = "server shutting down" }
                break loop
            case .rejected(let err, let bytes):
                protocolError(err.description, bytes: bytes)
                reason = "protocol error: \(err)"
                break loop
            case .message(let m):
                if let why = handle(m) { reason = why; break loop }
            }
        }
        teardown(reason: reason)
    }

    /// Handle one message; returns a reason to close the connection, or nil.
    private func handle(_ m: ReceivedMessage) -> String? {
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
        if !helloDone && !(h.interface == 0 && h.operation == RPCControl.Operation.hello.rawValue && h.flags.isEmpty) {
            return malformed("first message is not HELLO")
        }
        if h.flags.contains(.cancel) {
            if h.flags.contains(.more) || h.payloadLength != 0 || h.fdCount != 0 { return malformed("CANCEL with payload, descriptors or MORE") }
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
                if h.interface != f.header.interface || h.operation != f.header.operation { return malformed("fragment names another interface/operation") }
                if !fds.isEmpty { return malformed("descriptors on a continuation fragment") }
            } else if fragments.count >= Int(limits.maxInFlight) {
                return malformed("too many fragmented requests at once")
            }
            if !f.discarding {
                if fragmentBytes + payload.count > Int(limits.maxPayload) {
                    // EMSGSIZE once; swallow the remaining fragments.
                    fragmentBytes -= f.payload.count
                    f.payload = []
                    closeDescriptors(f.descriptors); f.descriptors = []
                    f.discarding = true
                    sendReply(header: h, status: RPCStatus.msgsize, payload: [], fds: [], signal: 0)
                    server.count(h.interface, h.operation, status: RPCStatus.msgsize)
                } else {
                    f.payload.append(contentsOf: payload)
                    fragmentBytes += payload.count
                }
            }
            if h.flags.contains(.more) { fragments[h.requestID] = f; return nil }
            fragments.removeValue(forKey: h.requestID)
            fragmentBytes -= f.payload.count
            if f.discarding { return nil }
            payload = f.payload
            fds = f.descriptors
        }
        var whole = h
        whole.flags.remove(.more)
        whole.payloadLength = UInt32(truncatingIfNeeded: payload.count)
        if whole.interface == 0 { return control(whole, payload: payload, fds: fds) }
        return call(whole, payload: payload, fds: fds)
    }

    private func call(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) -> String? {
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

    // MARK: control interface

    private func control(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) -> String? {
        if h.operation == RPCControl.Operation.hello.rawValue {
            closeDescriptors(fds)
            return hello(h, payload: payload)
        }
        let oname = RPCControl.name(h.operation)
        if h.operation >= RPCControl.Operation.ping.rawValue && h.operation <= RPCControl.Operation.stats.rawValue,
           !server.configuration.policy.allows(identity, names: { ("control", oname) }) {
            closeDescriptors(fds)
            server.log(.warning, "connection \(id): control.\(oname) denied to \(identity) (EACCES)")
            server.count(0, h.operation, status: RPCStatus.acces)
            sendReply(header: h, status: RPCStatus.acces, payload: [], fds: [], signal: 0)
            return nil
        }
        var status: Int32 = 0
        var w = PayloadWriter()
        switch h.operation {
        case RPCControl.Operation.ping.rawValue:
            closeDescriptors(fds)
            if !payload.isEmpty || !fds.isEmpty { status = RPCStatus.inval }
        case RPCControl.Operation.registerShm.rawValue:
            if fds.count != 1 || !payload.isEmpty { closeDescriptors(fds); status = RPCStatus.inval; break }
            let r = SharedRegion.map(fd: fds[0])
            closeDescriptors(fds)
            switch r {
            case .failure(let e):
                status = e.status
                server.log(.info, "connection \(id): REGISTER_SHM refused: \(e)")
            case .success(let region):
                let sid: UInt32? = state.withLock {
                    if regionBytes + UInt64(region.size) > limits.maxSharedMemory { return nil }
                    let sid = nextRegionID
                    nextRegionID &+= 1
                    if nextRegionID == 0 { nextRegionID = 1 }
                    regions[sid] = region
                    regionBytes += UInt64(region.size)
                    return sid
                }
                if let sid { w.u32(sid); w.u32(0); w.u64(UInt64(region.size)) } else { status = RPCStatus.nospc }
            }
        case RPCControl.Operation.unregisterShm.rawValue:
            closeDescriptors(fds)
            if !fds.isEmpty { status = RPCStatus.inval; break }
            let sid: UInt32? = payload.withUnsafeBytes { b in
                var r = PayloadReader(b)
                guard let v = r.u32(), r.isAtEnd else { return nil }
                return v
            }
            guard let sid else { status = RPCStatus.inval; break }
            let removed: Bool = state.withLock {
                guard let r = regions.removeValue(forKey: sid) else { return false }
                regionBytes -= UInt64(r.size)
                return true
            }
            if !removed { status = RPCStatus.inval }
        case RPCControl.Operation.stats.rawValue:
            closeDescriptors(fds)
            if !payload.isEmpty || !fds.isEmpty { status = RPCStatus.inval; break }
            let s = server.statistics()
            w.u64(server.uptimeNanos)
            w.u32(UInt32(s.count))
            for e in s { w.u32(e.interface); w.u32(e.operation); w.u64(e.calls); w.u64(e.errors) }
        default:
            closeDescriptors(fds)
            status = RPCStatus.nosys
        }
        if h.operation >= RPCControl.Operation.ping.rawValue && h.operation <= RPCControl.Operation.stats.rawValue { server.count(0, h.operation, status: status) }
        sendReply(header: h, status: status, payload: status == 0 ? w.bytes : [], fds: [], signal: 0)
        return nil
    }

    private func hello(_ h: RPCHeader, payload: [UInt8]) -> String? {
        if state.withLock({ helloDone }) {
            sendReply(header: h, status: RPCStatus.inval, payload: [], fds: [], signal: 0)
            return nil
        }
        struct Ask { var minV: UInt16, maxV: UInt16, wanted: [(UInt32, UInt32)] }
        let ask: Ask? = payload.withUnsafeBytes { b in
            var r = PayloadReader(b)
            guard let lo = r.u16(), let hi = r.u16(), let n = r.count(minElementSize: 8) else { return nil }
            var wanted: [(UInt32, UInt32)] = []
            wanted.reserveCapacity(n)
            for _ in 0..<n {
                guard let i = r.u32(), let v = r.u32() else { return nil }
                wanted.append((i, v))
            }
            return r.isAtEnd ? Ask(minV: lo, maxV: hi, wanted: wanted) : nil
        }
        guard let ask else {
            protocolError("malformed HELLO", bytes: h.encoded())
            return "protocol error: malformed HELLO"
        }
        let ours = RPCHeader.protocolVersion
        guard ask.minV <= ours && ours <= ask.maxV else {
            // The reply's header carries our (highest) version; no payload (§6).
            sendReply(header: h, status: RPCStatus.protonosupport, payload: [], fds: [], signal: 0)
            return "client wants protocol versions \(ask.minV)...\(ask.maxV), server speaks \(ours)"
        }
        var w = PayloadWriter()
        w.u16(ours); w.u16(0)
        w.string(server.configuration.name)
        w.u32(UInt32(ask.wanted.count))
        for (i, _) in ask.wanted {
            w.u32(i)
            w.u32(i == 0 ? 1 : (server.handlers[i]?.interfaceVersion ?? 0))
        }
        let l = limits
        w.u32(l.maxMessage); w.u32(l.maxFDs); w.u32(l.maxInFlight); w.u32(server.epoch)
        w.u64(l.maxSharedMemory); w.u64(l.maxPayload)
        state.withLock { helloDone = true }
        sendReply(header: h, status: 0, payload: w.bytes, fds: [], signal: 0)
        return nil
    }

    // MARK: cancellation

    private func cancel(requestID: UInt64) {
        let what: (UInt32, UInt32)? = state.withLock {
            guard let c = inFlight[requestID], !c.cancelled else { return nil }   // unknown or finished: ignored
            c.cancelled = true
            // Under `state`, so the worker cannot move on to another call
            // between the check and the cancel.
            if let w = c.worker { _ = HypercallThreads.cancel(w) }
            return (c.interface, c.operation)
        }
        if let (i, o) = what {
            server.log(.info, "connection \(id): request \(requestID) (interface \(i) op \(o)) cancelled by the client")
        }
    }

    func cancelAll() {
        state.withLock {
            for c in inFlight.values where !c.cancelled {
                c.cancelled = true
                if let w = c.worker { _ = HypercallThreads.cancel(w) }
            }
        }
    }

    // MARK: events

    var isOpen: Bool { state.withLock { !closed && !readerDone } }

    /// Send an EVENT message (protocol §8); false once the connection is closing.
    func sendEvent(interface: UInt32, operation: UInt32, payload: [UInt8], signal: UInt16) -> Bool {
        guard isOpen, payload.count <= Int(limits.maxMessage) - RPCHeader.size else { return false }
        var h = RPCHeader(flags: .event, interface: interface, operation: operation, requestID: 0,
                          payloadLength: UInt32(payload.count), signal: signal)
        h.version = RPCHeader.protocolVersion
        enqueue([(h.encoded() + payload, [])])
        return true
    }

    // MARK: completion

    func finish(_ c: ServerCall, reply: RPCReplyBody, signal: Int32) {
        sendReply(header: c.header, status: reply.status, payload: reply.payload, fds: reply.descriptors,
                  signal: UInt16(truncatingIfNeeded: signal))
        state.withLock {
            inFlight.removeValue(forKey: c.requestID)
            state.broadcast()   // a reader waiting for an in-flight slot
        }
        maybeClose()
    }

    // MARK: shared memory

    /// Run `body` over the bytes `ref` names, in place (no copy). The region
    /// stays mapped until `body` returns, even if the client unregisters it.
    func withSharedMemory<T>(_ ref: SharedMemoryRef, writable: Bool,
                             _ body: (UnsafeMutableRawBufferPointer) -> T) -> Result<T, RPCError> {
        guard let region = state.withLock({ regions[ref.id] }) else {
            return .failure(RPCError(RPCStatus.inval, "no shared memory region \(ref.id)"))
        }
        if writable && !region.writable {
            return .failure(RPCError(RPCStatus.acces, "shared memory region \(ref.id) is sealed against writes"))
        }
        return withExtendedLifetime(region) { region.range(offset: ref.offset, length: ref.length).map(body) }
    }

    // MARK: sending

    /// Build the reply (fragmented when needed) and send it, queueing what the
    /// socket does not take now. Takes ownership of `fds`.
    func sendReply(header req: RPCHeader, status: Int32, payload: [UInt8], fds: [Int32], signal: UInt16) {
        let chunk = Int(limits.maxMessage) - RPCHeader.size
        var messages: [(bytes: [UInt8], fds: [Int32])] = []
        var offset = 0
        repeat {
            let n = min(chunk, payload.count - offset)
            let last = offset + n == payload.count
            var h = RPCHeader(flags: last ? .reply : [.reply, .more], interface: req.interface, operation: req.operation,
                              requestID: req.requestID, status: status, payloadLength: UInt32(n),
                              fdCount: offset == 0 ? UInt16(fds.count) : 0, signal: signal)
            h.version = RPCHeader.protocolVersion
            var bytes = h.encoded()
            bytes.append(contentsOf: payload[offset..<offset + n])
            messages.append((bytes, offset == 0 ? fds : []))
            offset += n
        } while offset < payload.count
        enqueue(messages)
    }

    private func enqueue(_ messages: [(bytes: [UInt8], fds: [Int32])]) {
        var needFlusher = false
        var overflow = false
        sendLock.withLock {
            if sendBroken { for m in messages { closeDescriptors(m.fds) }; return }
            var i = 0
            if queue.isEmpty {
                while i < messages.count {
                    do throws(TransportError) {
                        try transport.send(messages[i].bytes, descriptors: messages[i].fds, nonBlocking: true)
                        closeDescriptors(messages[i].fds)
                        i += 1
                    } catch {
                        if error.errno == EAGAIN { break }
                        sendBroken = true
                        for m in messages[i...] { closeDescriptors(m.fds) }
                        return
                    }
                }
            }
            guard i < messages.count else { return }
            // The limit is for a client that does not read: replies already
            // queued beyond it mean it stopped. One reply larger than the
            // limit (up to max_payload) is queued whole and streams out as
            // the client drains it.
            let backlog = queuedBytes
            for m in messages[i...] { queue.append(m); queuedBytes += m.bytes.count }
            if backlog > limits.maxQueuedReplyBytes {
                overflow = true
                sendBroken = true
                for m in queue { closeDescriptors(m.fds) }
                queue = []; queuedBytes = 0
            } else {
                needFlusher = true
            }
        }
        if overflow {
            server.log(.warning, "connection \(id): more than \(limits.maxQueuedReplyBytes) reply bytes queued (client not reading); disconnecting")
            state.withLock { closeReason = "reply queue overflow" }
            transport.shutdown()
        } else if needFlusher {
            server.flusher.add(self)
        }
    }

    /// Send queued replies that fit now; true when nothing is left to do.
    func flushQueue() -> Bool {
        sendLock.withLock {
            if sendBroken { return true }
            while let m = queue.first {
                do throws(TransportError) {
                    try transport.send(m.bytes, descriptors: m.fds, nonBlocking: true)
                } catch {
                    if error.errno == EAGAIN { return false }
                    sendBroken = true
                    for q in queue { closeDescriptors(q.fds) }
                    queue = []; queuedBytes = 0
                    return true
                }
                closeDescriptors(m.fds)
                queue.removeFirst()
                queuedBytes -= m.bytes.count
            }
            return true
        }
    }

    // MARK: errors and teardown

    /// Reply EPROTO where a request id is readable (magic intact and at least
    /// 24 bytes; request id 0 included), then the caller closes the connection.
    private func protocolError(_ why: String, bytes: [UInt8]) {
        server.log(.warning, "connection \(id) (\(identity)): protocol error: \(why)")
        guard bytes.count >= 24 else { return }
        let parsed: (UInt32, UInt32, UInt32, UInt64)? = bytes.withUnsafeBytes { b in
            var r = PayloadReader(b)
            guard let magic = r.u32(), let _ = r.u16(), let _ = r.u16(), let i = r.u32(), let o = r.u32(), let rid = r.u64() else { return nil }
            return (magic, i, o, rid)
        }
        guard let (magic, i, o, rid) = parsed, magic == RPCHeader.magic else { return }
        sendReply(header: RPCHeader(interface: i, operation: o, requestID: rid), status: RPCStatus.proto, payload: [], fds: [], signal: 0)
    }

    /// The header of a HELLO whose only fault is its protocol version (the
    /// rest of the 40-byte header well formed), for the EPROTONOSUPPORT reply.
    private func helloOfOtherVersion(_ bytes: [UInt8]) -> RPCHeader? {
        guard !state.withLock({ helloDone }), bytes.count >= RPCHeader.size else { return nil }
        var copy = bytes
        copy[4] = UInt8(truncatingIfNeeded: RPCHeader.protocolVersion)
        copy[5] = UInt8(truncatingIfNeeded: RPCHeader.protocolVersion >> 8)
        let decoded = copy.withUnsafeBytes { RPCHeader.decode($0, messageLength: copy.count, fdsReceived: 0) }
        guard case .success(let h) = decoded, h.interface == 0, h.operation == RPCControl.Operation.hello.rawValue, h.flags.isEmpty,
              h.requestID != 0, h.fdCount == 0 else { return nil }
        return h
    }

    private func teardown(reason: String) {
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
        state.withLock { stopReadingRequested = true; state.broadcast() }
        transport.shutdownReceive()
    }

    func forceClose() {
        cancelAll()
        transport.shutdown()
    }

    /// Close once the reader has left and no call is in flight: release the
    /// shared memory and the socket.
    private func maybeClose() {
        let (go, reason): (Bool, String) = state.withLock {
            guard readerDone && inFlight.isEmpty && !closed else { return (false, "") }
            closed = true
            regions = [:]
            regionBytes = 0
            return (true, closeReason)
        }
        guard go else { return }
        sendLock.withLock {
            sendBroken = true
            for m in queue { closeDescriptors(m.fds) }
            queue = []; queuedBytes = 0
            transport.close()
        }
        server.connectionClosed(self, reason: reason)
    }
}
