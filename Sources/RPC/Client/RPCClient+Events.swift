import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// EVENT messages: the onEvent handler and signals registered per event.
extension RPCClient {
    // MARK: events

    /// Deliver `signal` (process-directed with kill, or to one thread with
    /// pthread_kill) when an EVENT for (interface, operation) arrives,
    /// SIGIO-style. `signal` 0 uses the signal the event carries in its
    /// header (nothing when that is 0 too). `onEvent` runs first (so a
    /// signal handler can rely on what it recorded).
    public func registerEventSignal(interface: UInt32, operation: UInt32, signal: Int32, target: EventSignalTarget = .process) {
        lock.withLock { eventSignals[UInt64(interface) << 32 | UInt64(operation)] = (signal, target) }
    }

    public func unregisterEventSignal(interface: UInt32, operation: UInt32) {
        lock.withLock { _ = eventSignals.removeValue(forKey: UInt64(interface) << 32 | UInt64(operation)) }
    }

    func event(_ h: RPCHeader, _ body: [UInt8]) {
        onEvent?(h, body)
        if let reg = lock.withLock({ eventSignals[UInt64(h.interface) << 32 | UInt64(h.operation)] }) {
            let sig = reg.signal != 0 ? reg.signal : Int32(h.signal)
            if sig > 0 && sig < 65 {
                switch reg.target {
                case .process: kill(getpid(), sig)
                case .thread(let t): pthread_kill(t, sig)
                }
            }
        }
    }
}
