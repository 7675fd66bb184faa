import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// A call between its request and its reply, and what a synchronous caller
/// blocks on meanwhile.
extension RPCClient {
    final class Pending: @unchecked Sendable {
        // @unchecked: every field is guarded by `monitor`.
        let monitor = Monitor()
        let interface: UInt32, operation: UInt32
        var done = false
        var reply = RPCReply(status: 0, payload: [], descriptors: [], signal: 0)
        var fragments: [UInt8]? = nil
        var fragmentFDs: [Int32] = []
        /// A waiter blocked in read() on this eventfd (see wait()).
        var wakeFD: Int32 = -1
        /// An async waiter.
        var continuation: CheckedContinuation<RPCReply, Never>?
        /// The connection generation the request was sent on.
        let generation: UInt64
        init(interface: UInt32, operation: UInt32, generation: UInt64) {
            self.interface = interface
            self.operation = operation
            self.generation = generation
        }
        func complete(_ r: RPCReply) {
            let c: CheckedContinuation<RPCReply, Never>? = monitor.withLock {
                if done {
                    closeDescriptors(r.descriptors)
                    return nil
                }
                reply = r
                done = true
                monitor.broadcast()
                // Written under the monitor: a waiter that sees `done` after
                // registering knows the eventfd holds this write.
                if wakeFD >= 0 {
                    var one: UInt64 = 1
                    _ = Glibc.write(wakeFD, &one, 8)
                }
                let c = continuation
                continuation = nil
                return c
            }
            c?.resume(returning: r)
        }
    }

    /// One blocking eventfd per calling thread (created on first use, closed
    /// when the thread exits): what a synchronous call waits on.
    enum WaitFD {
        static let key: pthread_key_t = {
            var k = pthread_key_t()
            pthread_key_create(&k) { p in
                let v = Int(bitPattern: p)
                if v > 0 { _ = Glibc.close(Int32(v - 1)) }
            }
            return k
        }()
        static func current() -> Int32? {
            let v = Int(bitPattern: pthread_getspecific(key))
            if v > 0 { return Int32(v - 1) }
            let fd = husk_eventfd(0)
            guard fd >= 0 else { return nil }
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: Int(fd) + 1))
            return fd
        }
    }
}
