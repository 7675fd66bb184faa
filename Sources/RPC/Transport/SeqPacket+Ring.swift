import Glibc
import Platform
import RPCClientC
import RPCSys
import RPCWire

/// The shared-memory call rings (docs/protocol.md §11) under a
/// SeqPacketConnection: messages without descriptors that fit a slot go
/// inline; the others go on the socket, announced by a slot, so the
/// receiver sees one order. The socket still tells of the peer's death.
extension SeqPacketConnection {
    /// How long one futex sleep lasts before the socket is checked for a
    /// hang-up (protocol §11: at most 100 ms).
    static let ringSleepMilliseconds: Int32 = 100

    func ringSend(_ message: UnsafeRawBufferPointer, descriptors: [Int32], nonBlocking: Bool) throws(TransportError) {
        let inline = descriptors.isEmpty && message.count <= Int(husk_ring_inline_max(ring))
        var backoff: UInt32 = 1
        while true {
            let free = husk_ring_can_send(ring)
            if free == 0 { break }
            if free == EPROTO { throw TransportError(EPROTO, "ring: the peer's head index is garbage") }
            if nonBlocking { throw TransportError(EAGAIN, "ring full") }
            if peerGone() { throw TransportError(EPIPE, "ring send (peer gone)") }
            // A full request ring: the server holds calls back (in-flight
            // limit) or is slow; poll with a backoff of at most 1 ms.
            usleep(backoff)
            backoff = min(backoff * 2, 1000)
        }
        if !inline {
            try socketSend(message, descriptors: descriptors, nonBlocking: nonBlocking)
        }
        let rc = husk_ring_send(
            ring, inline ? HUSK_RING_KIND_INLINE : HUSK_RING_KIND_SOCKET, message.baseAddress, inline ? message.count : 0, nil, 0)
        if rc == HUSK_RING_NEEDS_SOCKET_WAKE {
            sendWake()
        } else if rc != 0 {
            throw TransportError(rc, "ring send")
        }
    }

    /// RING_WAKE (protocol §11): an EVENT on interface 0, operation 7, for
    /// a client that sleeps on the socket. Best effort: if the socket is
    /// full the client has something to read anyway.
    func sendWake() {
        var h = RPCHeader(flags: .event, interface: 0, operation: HUSK_RING_OP_WAKE, requestID: 0)
        h.version = RPCHeader.protocolVersion
        let bytes = h.encoded()
        bytes.withUnsafeBytes { b in _ = husk_rpc_send(fd, b.baseAddress, b.count, nil, 0, 1) }
    }

    /// True for a RING_WAKE message.
    static func isWake(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == RPCHeader.size else { return false }
        let d = bytes.withUnsafeBytes { RPCHeader.decode($0, messageLength: bytes.count, fdsReceived: 0) }
        guard case .success(let h) = d else { return false }
        return h.flags == .event && h.interface == 0 && h.operation == HUSK_RING_OP_WAKE && h.requestID == 0
    }

    /// The socket reports a hang-up (the peer closed, or we shut it down).
    func peerGone() -> Bool {
        husk_ring_socket_gone(fd) != 0
    }

    /// The next entry of the receiving ring without waiting: a message
    /// (an announced one read from the socket), a rejection, or nil when
    /// the ring is empty. The caller is the one consumer.
    private func takeFromRing() -> ReceiveResult? {
        var kind: UInt32 = 0, length: UInt32 = 0
        var why: UnsafePointer<CChar>? = nil
        let cap = receiveBuffer.count
        let rc = receiveBuffer.withUnsafeMutableBytes { b in husk_ring_receive(ring, b.baseAddress, cap, &kind, &length, &why) }
        if rc == EPROTO { return .rejected(.ring(why.map { String(cString: $0) } ?? "garbage"), bytes: []) }
        guard rc == 0 else { return nil }
        if kind == HUSK_RING_KIND_INLINE {
            return .message(ReceivedMessage(bytes: Array(receiveBuffer.prefix(Int(length))), descriptors: []))
        }
        // Announced: the next message on the socket (RING_WAKEs skipped).
        while true {
            let r = socketReceive()
            if case .message(let m) = r, m.descriptors.isEmpty, Self.isWake(m.bytes) { continue }
            return r
        }
    }

    func ringReceive() -> ReceiveResult {
        // After a sleep slice that ended with nothing to read the connection
        // is idle: sleep again at once rather than spin (an idle connection
        // costs one short wake-up per slice and nothing more). With
        // callersReceive the calling threads spin, not this one.
        var spin = !callersReceive
        while true {
            if let r = takeFromRing() { return r }
            // Empty: spin, then sleep on the futex in slices, checking the
            // socket for a hang-up between them.
            if husk_ring_is_stopped(ring) != 0 { return .closed }
            if spin && husk_ring_spin(ring) != 0 { continue }
            spin = !callersReceive
            switch husk_ring_prepare_sleep(ring, HUSK_RING_SLEEP_FUTEX) {
            case EAGAIN: continue
            case ECANCELED: return .closed
            default: break
            }
            // Sleeping, a caller may consume (pollRing): it holds our flag
            // while it does, so the peer does not wake us for its replies.
            if callersReceive { consumer.unlock() }
            let slept = husk_ring_futex_sleep(ring, Int32(Self.ringSleepMilliseconds))
            if callersReceive { consumer.lock() }
            husk_ring_end_sleep(ring)
            // Woken (or timed out) with nothing to read: a peer that closes
            // wakes us, and a dead one is found here after a slice.
            if husk_ring_pending(ring) == 0 {
                if peerGone() { return .closed }
                if slept == ETIMEDOUT { spin = false }
            }
        }
    }

    /// A calling thread's own receive (callersReceive): take entries off
    /// the reply ring while `handle` returns false, spinning within the
    /// ring's adaptive budget (none when both sides share a CPU). The
    /// receiving thread's sleeping flag is held meanwhile, so the server
    /// makes no wake-up call for what this thread takes, then put back and
    /// the ring drained (protocol §11's order). Returns false at once when
    /// the rings are off or another thread is consuming; true when
    /// `handle` returned true.
    public func pollRing(_ handle: (ReceiveResult) -> Bool) -> Bool {
        guard callersReceive, husk_ring_is_active(ring) != 0, consumer.tryLock() else { return false }
        defer { consumer.unlock() }
        var done = false
        while true {
            let held = husk_ring_hold_wakes(ring)
            while !done {
                guard let r = takeFromRing() else {
                    if husk_ring_is_stopped(ring) != 0 || husk_ring_spin(ring) == 0 { break }
                    continue
                }
                done = handle(r)
                guard case .message = r else {
                    done = true  // the handler saw the connection fail
                    break
                }
            }
            if husk_ring_release_wakes(ring, held) == 0 { return done }
            // Something came in while the flag was held: take it too.
            while let r = takeFromRing() {
                if handle(r) { done = true }
                guard case .message = r else { return true }
            }
            if done { return true }
        }
    }
}
