import Glibc
import GlueAPI
import HuskHost
import HypercallABI
import Platform
import SimBackend
import Synchronization

/// Two sim virtio NICs wired back to back in this process, each driven by
/// the virtio_net component, a registry consumer on each: frames go from
/// vnet0's consumer through the driver, the sim device, the other device and
/// the other driver to vnet1's consumer. No system call on the way, so this
/// is the cost of the drivers, the virtqueues and the registry alone.
final class SimPairPath: NICBenchPath, @unchecked Sendable {
    // @unchecked: the refs are set in init before frames flow; the counter is atomic.
    private let host: ComponentHost
    private var sender: OpaquePointer?
    private var receiver: OpaquePointer?
    private let received = Atomic<UInt32>(0)
    private let stopSending = Atomic<Bool>(false)

    init() throws {
        let backend: SimBackend
        do { backend = try SimBackend(specs: ["virtio-net:link=hkbench", "virtio-net:link=hkbench"]) } catch {
            throw BenchFailure("sim backend: \(error)")
        }
        host = ComponentHost(backend: backend)
        guard let driver = ComponentRegistry.builtIn(named: "virtio_net") else { throw BenchFailure("no built-in virtio_net component") }
        host.load([driver])
        guard host.refused.isEmpty else { throw BenchFailure("virtio_net: \(host.refused[0].reason)") }
        sender = try open("vnet0", counting: false)
        receiver = try open("vnet1", counting: true)
    }

    private func open(_ name: String, counting: Bool) throws -> OpaquePointer? {
        var c = netif_consumer()
        if counting {
            c.input = { arg, frame, _ in
                let me = Unmanaged<SimPairPath>.fromOpaque(arg!).takeUnretainedValue()
                me.received.add(1, ordering: .relaxed)
                glue_netif_rx_done(me.receiver, frame)
            }
        } else {
            c.input = { arg, frame, _ in
                let me = Unmanaged<SimPairPath>.fromOpaque(arg!).takeUnretainedValue()
                glue_netif_rx_done(me.sender, frame)
            }
        }
        c.arg = Unmanaged.passUnretained(self).toOpaque()
        var r: OpaquePointer?
        let s = glue_netif_open(name, &c, &r)
        guard s == HUSK_OK else {
            host.shutdown()
            throw BenchFailure("cannot open \(name) in the registry: \(ErrnoName.describe(s))")
        }
        return r
    }

    /// Frames per second vnet0's driver accepted (a full transmit ring is
    /// EAGAIN, retried: the rate is what the pair sustains).
    func transmit(_ frame: [UInt8], seconds: Double) -> Double {
        Double(send(frame, until: monotonicNanos() + UInt64(seconds * 1e9), stoppable: false)) / seconds
    }

    /// Frames per second vnet1's consumer received while vnet0 sends from
    /// another thread (the AF_PACKET source is not used: this pair has no
    /// kernel side).
    func receive(seconds: Double, source: NICBenchSource) -> Double {
        let frame = source.frameBytes
        stopSending.store(false, ordering: .relaxed)
        let start = received.load(ordering: .relaxed)
        let me = self
        let thread = HostThread.start(name: "bench-nic-sim") { _ = me.send(frame, until: .max, stoppable: true) }
        usleep(UInt32(seconds * 1e6))
        let n = received.load(ordering: .relaxed) &- start
        stopSending.store(true, ordering: .relaxed)
        thread.join()
        return Double(n) / seconds
    }

    private func send(_ frame: [UInt8], until end: UInt64, stoppable: Bool) -> Int {
        func over() -> Bool { monotonicNanos() >= end || (stoppable && stopSending.load(ordering: .relaxed)) }
        var sent = 0
        frame.withUnsafeBytes { f in
            while true {
                if sent & 63 == 0 && over() { break }
                let r = glue_netif_send(sender, f.baseAddress, f.count)
                if r == HUSK_OK {
                    sent += 1
                } else if r == HUSK_EAGAIN {
                    if over() { break }
                    sched_yield()
                } else {
                    break
                }
            }
        }
        return sent
    }

    func close() {
        glue_netif_close(sender)
        glue_netif_close(receiver)
        host.shutdown()
    }
}
