import Glibc
import HostSys
import HypercallABI
import Platform

/// One interrupt vector's dedicated host thread: it waits on the device's
/// eventfd for the vector and runs the component's handler, one call at a
/// time, as the component (irq context). Masking is a gate in this thread,
/// because Linux 6.1 VFIO cannot mask MSI-X: an interrupt that arrives while
/// masked is remembered and re-raised on unmask.
final class InterruptVector: @unchecked Sendable {
    // @unchecked: handler/arg/ctx change only under `handlerLock`; masked and
    // pending are atomics; the fds are immutable.
    typealias Handler = @convention(c) (UnsafeMutableRawPointer?) -> Int32

    let vector: Int
    let eventFD: Int32
    private let stop = EventFD()
    private let handlerLock = Monitor()
    private var handler: Handler?
    private var arg: UnsafeMutableRawPointer?
    private var ctx: OpaquePointer?
    private var masked: UInt32 = 0
    private var pending: UInt32 = 0
    private var thread: HostThread?
    private(set) var delivered: UInt64 = 0

    init(vector: Int, eventFD: Int32, deviceName: String) {
        self.vector = vector
        self.eventFD = eventFD
        thread = HostThread.start(name: "irq\(vector)") { [self] in self.loop() }
    }

    var isEstablished: Bool { handlerLock.withLock { handler != nil } }

    func establish(_ h: @escaping Handler, arg: UnsafeMutableRawPointer?, ctx: OpaquePointer?) -> Bool {
        handlerLock.withLock {
            if handler != nil { return false }
            handler = h
            self.arg = arg
            self.ctx = ctx
            return true
        }
    }

    /// Returns when the handler is not running and will not run again.
    func disestablish() {
        handlerLock.withLock {
            handler = nil
            arg = nil
            ctx = nil
        }
    }

    func mask() { husk_atomic_store_u32(&masked, 1) }

    func unmask() {
        husk_atomic_store_u32(&masked, 0)
        if husk_atomic_exchange_u32(&pending, 0) != 0 {
            // Re-raise what arrived while masked through the same eventfd, so
            // delivery stays on this vector's thread.
            signalEventFD(eventFD)
        }
    }

    private func loop() {
        while true {
            let ready = pollReadable([eventFD, stop.fd])
            if ready.contains(stop.fd) { return }
            guard ready.contains(eventFD), drainEventFD(eventFD) > 0 else { continue }
            if husk_atomic_load_u32(&masked) != 0 {
                husk_atomic_store_u32(&pending, 1)
                // Close the race with an unmask that ran between the check and the store.
                if husk_atomic_load_u32(&masked) != 0 { continue }
                husk_atomic_store_u32(&pending, 0)
            }
            handlerLock.withLock {
                guard let handler else { return }
                delivered += 1
                HypercallThreads.acting(as: ctx) { _ = handler(arg) }
            }
        }
    }

    /// Stop the thread (the device closes the eventfd afterwards).
    func terminate() {
        stop.signal()
        if let t = thread {
            t.join()
            thread = nil
        }
    }
}
