import Glibc
import Platform
import RPCWire

/// A transport without a kernel, for the fuzz target and tests: incoming
/// messages are pulled from a closure, outgoing ones are recorded in `sent`.
///
/// receive() applies the same rules as SeqPacketConnection, so the code above
/// sees what it would see over a socket: a message longer than `maxMessage`
/// is rejected (`tooLarge`, first `maxMessage` bytes kept), so is one with
/// more than `maxDescriptors` descriptors or with cut control data
/// (MSG_CTRUNC); the descriptors of a rejected message are closed; an empty
/// record without descriptors reads as end of stream (recvmsg returning 0).
///
/// Descriptors sent with a message are not transferred: only their number is
/// recorded (the sender keeps ownership, as with sendmsg).
public final class InMemoryTransport: RPCTransport, @unchecked Sendable {
    // @unchecked: `next` is only called by the single receiving thread (as
    // with SeqPacketConnection, receive() is not reentrant); the rest is
    // under `monitor`.
    public enum Incoming: Sendable {
        /// A message and the descriptors that came with it (the transport
        /// owns them from here on); `controlTruncated` emulates MSG_CTRUNC.
        case message([UInt8], descriptors: [Int32], controlTruncated: Bool)
        /// The peer closed the connection.
        case closed
    }

    public struct Sent: Sendable {
        public var bytes: [UInt8]
        public var descriptorCount: Int
    }

    public let maxMessage: Int
    public let maxDescriptors: Int
    public let peerIdentity: PeerIdentity?
    private let next: @Sendable () -> Incoming
    private let monitor = Monitor()
    private var outbox: [Sent] = []
    private var readShut = false
    private var writeShut = false
    private var isClosed = false

    public init(
        maxMessage: Int = Int(RPCLimits().maxMessage), maxDescriptors: Int = Int(RPCLimits().maxFDs),
        peerIdentity: PeerIdentity? = nil, next: @escaping @Sendable () -> Incoming
    ) {
        self.maxMessage = maxMessage
        self.maxDescriptors = maxDescriptors
        self.peerIdentity = peerIdentity
        self.next = next
    }

    /// Every message sent so far, in order.
    public var sent: [Sent] { monitor.withLock { outbox } }

    public func send(_ message: UnsafeRawBufferPointer, descriptors: [Int32], nonBlocking: Bool) throws(TransportError) {
        let failure: TransportError? = monitor.withLock {
            if isClosed { return TransportError(EBADF, "sendmsg") }
            if writeShut { return TransportError(EPIPE, "sendmsg") }
            outbox.append(Sent(bytes: Array(message), descriptorCount: descriptors.count))
            return nil
        }
        if let failure { throw failure }
    }

    public func receive() -> ReceiveResult {
        if monitor.withLock({ readShut || isClosed }) { return .closed }
        switch next() {
        case .closed:
            return .closed
        case .message(let bytes, let fds, let ctrunc):
            if bytes.isEmpty && fds.isEmpty && !ctrunc { return .closed }
            let kept = Array(bytes.prefix(maxMessage))
            if bytes.count > maxMessage {
                closeDescriptors(fds)
                return .rejected(.tooLarge(bytes.count), bytes: kept)
            }
            if ctrunc {
                closeDescriptors(fds)
                return .rejected(.controlTruncated, bytes: kept)
            }
            if fds.count > maxDescriptors {
                closeDescriptors(fds)
                return .rejected(.descriptorMismatch(declared: UInt16(truncatingIfNeeded: maxDescriptors), actual: fds.count), bytes: kept)
            }
            return .message(ReceivedMessage(bytes: bytes, descriptors: fds))
        }
    }

    public func shutdown() {
        monitor.withLock {
            readShut = true
            writeShut = true
        }
    }
    public func shutdownReceive() { monitor.withLock { readShut = true } }
    public func close() { monitor.withLock { isClosed = true } }
}
