import Glibc
import Hypercalls
import Platform
import RPCTransport
import RPCWire

/// EVENT messages to the client (protocol §8).
extension ServerConnection {
    // MARK: events

    var isOpen: Bool { state.withLock { !closed && !readerDone } }

    /// Send an EVENT message (protocol §8); false once the connection is closing.
    func sendEvent(interface: UInt32, operation: UInt32, payload: [UInt8], signal: UInt16) -> Bool {
        guard isOpen, payload.count <= Int(limits.maxMessage) - RPCHeader.size else { return false }
        var h = RPCHeader(
            flags: .event, interface: interface, operation: operation, requestID: 0,
            payloadLength: UInt32(payload.count), signal: signal)
        h.version = RPCHeader.protocolVersion
        enqueue([(h.encoded() + payload, [])])
        return true
    }
}
