import Glibc
import GlueAPI
import HypercallABI
import Platform

/// The consumer side of one registry interface for `husk nic probe`: frames
/// received are copied into a queue and returned to the provider at once;
/// ARP requests for our address are answered as they come.
final class ProbeLink: @unchecked Sendable {
    // @unchecked: the queue is behind `monitor`; `ref` and `mac` are set
    // in init; the counters are only touched by the calling thread.
    static let pingPayload = 32
    private let monitor = Monitor()
    private var queue: [[UInt8]] = []
    private var ref: OpaquePointer?
    private(set) var mac: [UInt8] = []
    private(set) var sent = 0
    private(set) var received = 0
    private var answering: IPv4?

    struct OpenError: Error, CustomStringConvertible { let description: String }

    init(interface: String) throws {
        var c = netif_consumer()
        c.input = { arg, frame, len in
            let link = Unmanaged<ProbeLink>.fromOpaque(arg!).takeUnretainedValue()
            link.arrived(Array(UnsafeRawBufferPointer(start: frame, count: len)), frame: frame)
        }
        var info = netif_info()
        c.arg = Unmanaged.passUnretained(self).toOpaque()
        var r: OpaquePointer?
        let status = monitor.withLock { () -> Int32 in
            // Frames that arrive before `ref` is stored wait on the lock.
            let s = glue_netif_open(interface, &c, &r)
            ref = r
            return s
        }
        guard status == HUSK_OK, let r else {
            throw OpenError(description: "cannot open interface \(interface) in the NIC registry: \(ErrnoName.describe(status))")
        }
        glue_netif_info(r, &info)
        mac = withUnsafeBytes(of: info.mac) { Array($0) }
    }

    func close() { glue_netif_close(ref) }

    /// Input callback (the provider's receive thread): copy, give the frame back.
    private func arrived(_ bytes: [UInt8], frame: UnsafeMutableRawPointer?) {
        let r = monitor.withLock { () -> OpaquePointer? in
            queue.append(bytes)
            monitor.broadcast()
            return ref
        }
        glue_netif_rx_done(r, frame)
    }

    /// The next frame that `match` accepts, within `timeout` seconds;
    /// meanwhile ARP requests for the address being answered get replies.
    private func wait(timeout: Double, _ match: ([UInt8]) -> Bool) -> [UInt8]? {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while true {
            let next: [UInt8]? = monitor.withLock {
                while queue.isEmpty { if !monitor.wait(deadlineNanos: deadline) { return nil } }
                return queue.removeFirst()
            }
            guard let f = next else { return nil }
            received += 1
            if let me = answering, let request = ARP.request(in: f, for: me) { send(ARP.reply(to: request, from: mac, ip: me)) }
            if match(f) { return f }
        }
    }

    private func send(_ frame: [UInt8]) {
        let r = frame.withUnsafeBytes { glue_netif_send(ref, $0.baseAddress, frame.count) }
        if r == HUSK_OK { sent += 1 }
    }

    /// ARP for `ip`, the request repeated every second as stacks do (a TAP
    /// interface whose carrier has just come up may not answer the first
    /// one); the peer's MAC, or nil once `timeout` has passed.
    func resolve(_ ip: IPv4, from me: IPv4, timeout: Double) -> [UInt8]? {
        answering = me
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while true {
            let now = monotonicNanos()
            guard now < deadline else { return nil }
            send(ARP.request(from: mac, ip: me, asking: ip))
            let slice = min(1.0, Double(deadline - now) / 1e9)
            if let f = wait(timeout: slice, { ARP.replySender(in: $0, ip: ip, to: me) != nil }) {
                return ARP.replySender(in: f, ip: ip, to: me)
            }
        }
    }

    /// One ICMP echo; true when the matching reply came back intact.
    func ping(_ ip: IPv4, mac peer: [UInt8], from me: IPv4, sequence: UInt16, timeout: Double) -> Bool {
        let payload = (0..<Self.pingPayload).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) }
        send(ICMPEcho.request(from: mac, to: peer, src: me, dst: ip, id: 0x4855, sequence: sequence, payload: payload))
        return wait(timeout: timeout) { ICMPEcho.isReply($0, from: ip, id: 0x4855, sequence: sequence, payload: payload) } != nil
    }
}
