import Glibc
import Hypercalls
import Platform
import RPCClientC
import RPCSys
import RPCTransport
import RPCWire

/// The control interface (interface 0, protocol §4): HELLO, PING,
/// shared memory registration, STATS.
extension ServerConnection {
    // MARK: control interface

    func control(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) -> String? {
        if h.operation == RPCControl.Operation.hello.rawValue {
            closeDescriptors(fds)
            return hello(h, payload: payload)
        }
        if h.operation == RPCControl.Operation.ringSetup.rawValue {
            return ringSetup(h, payload: payload, fds: fds)
        }
        let oname = RPCControl.name(h.operation)
        if h.operation >= RPCControl.Operation.ping.rawValue && h.operation <= RPCControl.Operation.stats.rawValue,
            !server.configuration.policy.allows(identity, names: { ("control", oname) })
        {
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
            if fds.count != 1 || !payload.isEmpty {
                closeDescriptors(fds)
                status = RPCStatus.inval
                break
            }
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
                if let sid {
                    w.u32(sid)
                    w.u32(0)
                    w.u64(UInt64(region.size))
                } else {
                    status = RPCStatus.nospc
                }
            }
        case RPCControl.Operation.unregisterShm.rawValue:
            closeDescriptors(fds)
            if !fds.isEmpty {
                status = RPCStatus.inval
                break
            }
            let sid: UInt32? = payload.withUnsafeBytes { b in
                var r = PayloadReader(b)
                guard let v = r.u32(), r.isAtEnd else { return nil }
                return v
            }
            guard let sid else {
                status = RPCStatus.inval
                break
            }
            let removed: Bool = state.withLock {
                guard let r = regions.removeValue(forKey: sid) else { return false }
                regionBytes -= UInt64(r.size)
                return true
            }
            if !removed { status = RPCStatus.inval }
        case RPCControl.Operation.stats.rawValue:
            closeDescriptors(fds)
            if !payload.isEmpty || !fds.isEmpty {
                status = RPCStatus.inval
                break
            }
            let s = server.statistics()
            w.u64(server.uptimeNanos)
            w.u32(UInt32(s.count))
            for e in s {
                w.u32(e.interface)
                w.u32(e.operation)
                w.u64(e.calls)
                w.u64(e.errors)
            }
        default:
            closeDescriptors(fds)
            status = RPCStatus.nosys
        }
        if h.operation >= RPCControl.Operation.ping.rawValue && h.operation <= RPCControl.Operation.stats.rawValue {
            server.count(0, h.operation, status: status)
        }
        sendReply(header: h, status: status, payload: status == 0 ? w.bytes : [], fds: [], signal: 0)
        return nil
    }

    func hello(_ h: RPCHeader, payload: [UInt8]) -> String? {
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
        // Control version 2 (the rings) only to a client that asks for it
        // and only when this server offers the rings (protocol §4).
        let askedControl = ask.wanted.first { $0.0 == RPCControl.interface }?.1 ?? 1
        let control: UInt32 = askedControl >= 2 && server.configuration.rings ? 2 : 1
        var w = PayloadWriter()
        w.u16(ours)
        w.u16(control >= 2 ? RPCControl.featureRing : 0)
        w.string(server.configuration.name)
        w.u32(UInt32(ask.wanted.count))
        for (i, _) in ask.wanted {
            w.u32(i)
            w.u32(i == 0 ? control : (server.handlers[i]?.interfaceVersion ?? 0))
        }
        let l = limits
        w.u32(l.maxMessage)
        w.u32(l.maxFDs)
        w.u32(l.maxInFlight)
        w.u32(server.epoch)
        w.u64(l.maxSharedMemory)
        w.u64(l.maxPayload)
        state.withLock {
            helloDone = true
            controlVersion = control
        }
        sendReply(header: h, status: 0, payload: w.bytes, fds: [], signal: 0)
        return nil
    }

    /// RING_SETUP (protocol §11): map the client's memfd and make the rings
    /// the data path once the reply has gone out on the socket.
    func ringSetup(_ h: RPCHeader, payload: [UInt8], fds: [Int32]) -> String? {
        // The descriptors are closed before any reply goes out, so that a
        // client that counts the server's descriptors after the reply sees
        // the final count.
        var open = fds
        func release() {
            closeDescriptors(open)
            open = []
        }
        func refuse(_ status: Int32, _ why: String) -> String? {
            release()
            server.log(.info, "connection \(id): RING_SETUP refused (\(RPCStatus.name(status))): \(why)")
            sendReply(header: h, status: status, payload: [], fds: [], signal: 0)
            return nil
        }
        let (version, active, busy) = state.withLock { (controlVersion, ringActive, !inFlight.isEmpty) }
        guard version >= 2, let seq = transport as? SeqPacketConnection else {
            return refuse(RPCStatus.nosys, "control interface version 2 not negotiated")
        }
        let params: (UInt32, UInt32)? = payload.withUnsafeBytes { b in
            var r = PayloadReader(b)
            guard let n = r.u32(), let s = r.u32(), r.isAtEnd else { return nil }
            return (n, s)
        }
        guard let (count, slotSize) = params, fds.count == 1 else { return refuse(RPCStatus.inval, "needs one memfd and 8 bytes") }
        if active { return refuse(RPCStatus.inval, "ring already set up") }
        if busy { return refuse(RPCStatus.busy, "requests in flight") }
        guard husk_ring_params_valid(count, slotSize) != 0 else {
            return refuse(RPCStatus.inval, "slot_count \(count) / slot_size \(slotSize) not allowed")
        }
        guard slotSize - 8 <= limits.maxMessage else { return refuse(RPCStatus.inval, "slot larger than max_message") }
        let seals = husk_rpc_get_seals(fds[0])
        guard seals >= 0, seals & husk_rpc_seal_shrink() != 0 else {
            return refuse(RPCStatus.inval, "not a memfd sealed with F_SEAL_SHRINK")
        }
        let need = Int(husk_ring_size(count, slotSize))
        var st = stat()
        guard fstat(fds[0], &st) == 0, Int(st.st_size) >= need else { return refuse(RPCStatus.inval, "memfd smaller than \(need) bytes") }
        guard let p = mmap(nil, need, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0), p != MAP_FAILED else {
            return refuse(RPCStatus.inval, "mmap: \(String(cString: strerror(errno)))")
        }
        release()
        // The reply goes out on the socket, then the rings take over; under
        // the send lock, so no other reply can slip in between.
        var reply = RPCHeader(flags: .reply, interface: h.interface, operation: h.operation, requestID: h.requestID)
        reply.version = RPCHeader.protocolVersion
        let ok: Bool = sendLock.withLock {
            guard !sendBroken, queue.isEmpty else { return false }
            do throws(TransportError) { try seq.send(reply.encoded(), descriptors: [], nonBlocking: false) } catch { return false }
            return seq.attachRing(base: p, size: need, slotCount: count, slotSize: slotSize, server: true)
        }
        guard ok else {
            munmap(p, need)
            return "could not set up the ring"
        }
        state.withLock { ringActive = true }
        server.count(0, h.operation, status: 0)
        server.log(.info, "connection \(id): call rings set up (\(count) slots of \(slotSize) bytes)")
        return nil
    }
}
