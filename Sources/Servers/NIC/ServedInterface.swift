import Glibc
import GlueAPI
import HypercallABI
import Platform
import RPCInterfaces
import RPCWire

/// One interface of the glue's NIC registry as the server serves it. The
/// server is the registry's one consumer of the interface (opened at start,
/// closed at shutdown) and fans frames out to its clients' ports: the stack
/// port gets received frames and may send; every monitor port gets a copy of
/// each frame in both directions. Received frames are copied and returned to
/// the driver inside the input callback, so no client can hold a driver's
/// receive buffer.
final class ServedInterface: @unchecked Sendable {
    // @unchecked: mutable state behind `monitor`; `ref` is set once in open.
    let name: String
    private let monitor = Monitor()
    private var ref: OpaquePointer?
    private var stack: PortQueue?
    private var monitors: [PortQueue] = []
    private var counters = [UInt64](repeating: 0, count: Nic.Counter.allCases.count)
    private var link: UInt32 = NETIF_LINK_DOWN
    /// Sends inside glue_netif_send now: close waits for them, since the
    /// registry reference dies with glue_netif_close.
    private var sending = 0

    struct OpenError: Error, CustomStringConvertible { let description: String }

    private init(name: String) { self.name = name }

    /// Open `name` in the registry as its consumer.
    static func open(_ name: String) throws -> ServedInterface {
        let served = ServedInterface(name: name)
        var c = netif_consumer()
        c.input = { arg, frame, len in
            Unmanaged<ServedInterface>.fromOpaque(arg!).takeUnretainedValue().arrived(frame, len)
        }
        c.link = { arg, state in
            Unmanaged<ServedInterface>.fromOpaque(arg!).takeUnretainedValue().linkChanged(state)
        }
        // The registry holds this pointer until close(); `served` outlives it
        // because the service keeps it until shutdown, which closes first.
        c.arg = Unmanaged.passUnretained(served).toOpaque()
        let status = served.monitor.withLock { () -> Int32 in
            // A frame arriving before `ref` is stored waits on the lock.
            var r: OpaquePointer?
            let s = glue_netif_open(name, &c, &r)
            served.ref = r
            return s
        }
        guard status == HUSK_OK else {
            throw OpenError(description: "cannot open interface \(name) in the NIC registry: \(ErrnoName.describe(status))")
        }
        served.link = served.info().link
        return served
    }

    /// Stop consuming: returns once no callback is running.
    func close() {
        let r = monitor.withLock { () -> OpaquePointer? in
            let r = ref
            ref = nil  // no new send starts
            while sending > 0 { _ = monitor.wait() }
            return r
        }
        glue_netif_close(r)
        monitor.withLock {
            stack?.close()
            for m in monitors { m.close() }
        }
    }

    func info() -> netif_info {
        var out = netif_info()
        monitor.withLock { if let ref { glue_netif_info(ref, &out) } }
        return out
    }

    var currentLink: UInt32 { monitor.withLock { link } }
    var statistics: [UInt64] { monitor.withLock { counters } }

    /// A new port; EBUSY when `mode` is stack and another stack port is open.
    func attach(_ mode: Nic.PortMode) -> Result<PortQueue, RPCError> {
        monitor.withLock {
            let q = PortQueue(mode: mode)
            switch mode {
            case .stack:
                if stack != nil {
                    return .failure(
                        RPCError(RPCStatus.busy, "interface \(name) already has a stack port open (one at a time; monitors are unlimited)"))
                }
                stack = q
            case .monitor:
                monitors.append(q)
            }
            return .success(q)
        }
    }

    func detach(_ q: PortQueue) {
        q.close()
        monitor.withLock {
            if stack === q { stack = nil }
            monitors.removeAll { $0 === q }
        }
    }

    /// Send one frame through the provider; monitors get a copy of what went
    /// out. EAGAIN (transmit queue full) is retried for up to 100 ms.
    func send(_ frame: UnsafeRawBufferPointer) -> Int32 {
        let deadline = monotonicNanos() + 100_000_000
        let r = monitor.withLock { () -> OpaquePointer? in
            if ref != nil { sending += 1 }
            return ref
        }
        guard let r else { return HUSK_ENODEV }
        var status: Int32
        while true {
            status = glue_netif_send(r, frame.baseAddress, frame.count)
            if status != HUSK_EAGAIN || monotonicNanos() >= deadline { break }
            sched_yield()
        }
        monitor.withLock {
            sending -= 1
            if sending == 0 { monitor.broadcast() }
            guard status == HUSK_OK else {
                counters[Nic.Counter.txErrors.rawValue] += 1
                return
            }
            counters[Nic.Counter.txFrames.rawValue] += 1
            counters[Nic.Counter.txBytes.rawValue] += UInt64(frame.count)
            if !monitors.isEmpty {
                fanOut(PortQueue.Frame(bytes: Array(frame), flags: Nic.FrameFlag.outgoing, time: realtimeNanos()), stack: false)
            }
        }
        return status
    }

    /// Input callback (the driver's receive context): copy, give the buffer back.
    private func arrived(_ frame: UnsafeMutableRawPointer?, _ len: Int) {
        let copy = PortQueue.Frame(bytes: Array(UnsafeRawBufferPointer(start: frame, count: len)), flags: 0, time: realtimeNanos())
        let r = monitor.withLock { () -> OpaquePointer? in
            counters[Nic.Counter.rxFrames.rawValue] += 1
            counters[Nic.Counter.rxBytes.rawValue] += UInt64(len)
            if stack == nil { counters[Nic.Counter.rxNoPort.rawValue] += 1 }
            fanOut(copy, stack: true)
            return ref
        }
        glue_netif_rx_done(r, frame)
    }

    /// Lock held.
    private func fanOut(_ f: PortQueue.Frame, stack toStack: Bool) {
        if toStack, let stack, !stack.push(f) { counters[Nic.Counter.rxQueueFull.rawValue] += 1 }
        for m in monitors where !m.push(f) { counters[Nic.Counter.rxQueueFull.rawValue] += 1 }
    }

    private func linkChanged(_ state: UInt32) {
        monitor.withLock {
            link = state
            counters[Nic.Counter.linkChanges.rawValue] += 1
            stack?.noteLinkChange()
            for m in monitors { m.noteLinkChange() }
        }
    }
}
