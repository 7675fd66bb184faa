import Glibc
import Platform
import RPCClientC
import RPCSys
import RPCTransport
import RPCWire

/// Setting up the shared-memory call rings (docs/protocol.md §11) right
/// after HELLO: a memfd sealed against shrinking, RING_SETUP with it on the
/// socket, and the rings as the data path once the server said yes.
extension RPCClient {
    /// Slots per ring and slot size the Swift client asks for.
    public static let ringSlots: UInt32 = HUSK_RING_DEFAULT_SLOTS
    public static let ringSlotSize: UInt32 = HUSK_RING_DEFAULT_SLOT_SIZE

    /// True when the rings carry this connection's calls; false when the
    /// server refused them (the socket path then stays). Throws when the
    /// connection broke meanwhile (it is closed).
    static func setUpRing(_ t: SeqPacketConnection, timeoutSeconds: Double) throws(RPCError) -> Bool {
        let size = Int(husk_ring_size(ringSlots, ringSlotSize))
        let fd = husk_rpc_memfd("husk-rpc-ring")
        guard fd >= 0 else { return false }
        defer { _ = Glibc.close(fd) }
        guard ftruncate(fd, off_t(size)) == 0, husk_rpc_add_seals(fd, husk_rpc_seal_shrink()) == 0,
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED
        else { return false }
        var w = PayloadWriter()
        w.u32(ringSlots)
        w.u32(ringSlotSize)
        let h = RPCHeader(
            interface: RPCControl.interface, operation: RPCControl.Operation.ringSetup.rawValue, requestID: 1,
            payloadLength: UInt32(w.bytes.count), fdCount: 1)
        func fail(_ why: String) -> RPCError {
            munmap(p, size)
            t.close()
            return RPCError(RPCStatus.connreset, why)
        }
        do { try t.send(h.encoded() + w.bytes, descriptors: [fd]) } catch { throw fail("sending RING_SETUP: \(error)") }
        var pfd = pollfd(fd: t.fd, events: Int16(POLLIN), revents: 0)
        if poll(&pfd, 1, Int32(timeoutSeconds * 1000)) <= 0 { throw fail("no RING_SETUP reply within \(timeoutSeconds) s") }
        guard case .message(let m) = t.receive() else { throw fail("server closed the connection during RING_SETUP") }
        closeDescriptors(m.descriptors)
        let decoded = m.bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: 0) }
        guard case .success(let rh) = decoded, rh.flags == .reply, rh.requestID == 1, rh.interface == RPCControl.interface,
            rh.operation == RPCControl.Operation.ringSetup.rawValue
        else { throw fail("malformed RING_SETUP reply") }
        guard rh.status == 0 else {
            munmap(p, size)
            return false
        }
        guard t.attachRing(base: p, size: size, slotCount: ringSlots, slotSize: ringSlotSize, server: false) else {
            throw fail("could not attach the call rings")
        }
        return true
    }
}
