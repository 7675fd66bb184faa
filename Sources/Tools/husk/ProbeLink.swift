import Glibc
import Platform

/// What `husk nic probe` does over a frame transport, as a network stack
/// would: ARP requests for our address are answered as they come.
final class ProbeLink {
    static let pingPayload = 32
    private let transport: any ProbeTransport
    var mac: [UInt8] { transport.mac }
    private(set) var sent = 0
    private(set) var received = 0
    private var answering: IPv4?

    init(_ transport: any ProbeTransport) { self.transport = transport }

    func close() { transport.close() }

    /// The next frame that `match` accepts, within `timeout` seconds;
    /// meanwhile ARP requests for the address being answered get replies.
    private func wait(timeout: Double, _ match: ([UInt8]) -> Bool) -> [UInt8]? {
        let deadline = monotonicNanos() + UInt64(timeout * 1e9)
        while true {
            guard let f = transport.next(deadline: deadline) else { return nil }
            received += 1
            if let me = answering, let request = ARP.request(in: f, for: me) { send(ARP.reply(to: request, from: mac, ip: me)) }
            if match(f) { return f }
        }
    }

    private func send(_ frame: [UInt8]) {
        if transport.send(frame) { sent += 1 }
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
