import Glibc
import RPCWire

/// One received message: its bytes and the descriptors that came with it.
/// The receiver owns the descriptors (close them, or hand them on).
public struct ReceivedMessage: Sendable {
    public var bytes: [UInt8]
    public var descriptors: [Int32]
    public init(bytes: [UInt8], descriptors: [Int32]) {
        self.bytes = bytes
        self.descriptors = descriptors
    }
}

/// Outcome of one receive.
public enum ReceiveResult: Sendable {
    case message(ReceivedMessage)
    /// The peer closed the connection (or it was shut down locally).
    case closed
    /// A message the transport itself refuses (longer than the buffer:
    /// MSG_TRUNC; control data cut: MSG_CTRUNC; more descriptors than
    /// allowed). Its descriptors have already been closed; `bytes` holds what
    /// was received (at most the buffer), so a request id may still be read.
    case rejected(RPCWireError, bytes: [UInt8])
}

/// What the RPC runtime needs from a message transport. Sockets are one
/// implementation (SeqPacketConnection); a shared-memory ring or a
/// microkernel IPC endpoint would be others. Nothing above this protocol
/// depends on sockets.
public protocol RPCTransport: AnyObject, Sendable {
    /// Send one message with descriptors (the caller keeps ownership of
    /// them; the kernel duplicates them). `nonBlocking`: fail with EAGAIN
    /// instead of waiting for buffer space.
    func send(_ message: UnsafeRawBufferPointer, descriptors: [Int32], nonBlocking: Bool) throws(TransportError)
    /// Wait for the next message.
    func receive() -> ReceiveResult
    /// Wake a thread blocked in receive() (it then sees `.closed`) and make
    /// further sends fail; the descriptor stays open until `close()`.
    func shutdown()
    /// Stop receiving only: a blocked receive() returns `.closed`, sends
    /// still work (server shutdown lets replies go out). The default is
    /// shutdown().
    func shutdownReceive()
    /// Release the underlying resources. Only after every thread has left
    /// send() and receive().
    func close()
    /// The kernel's view of the peer, if the transport has one.
    var peerIdentity: PeerIdentity? { get }
}

extension RPCTransport {
    public func shutdownReceive() { shutdown() }

    public func send(_ message: [UInt8], descriptors: [Int32] = [], nonBlocking: Bool = false) throws(TransportError) {
        var failure: TransportError?
        message.withUnsafeBytes { buf in
            do throws(TransportError) { try send(buf, descriptors: descriptors, nonBlocking: nonBlocking) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
