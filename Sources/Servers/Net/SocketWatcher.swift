import Glue
import GlueAPI
import Platform
import RPCInterfaces
import RPCServer
import RPCWire

/// `net.watch`: one-shot readiness notifications as EVENT messages
/// (protocol.md §8). A client arms a socket for readable and/or writable;
/// when one of them (or an error or hang-up) holds, the server posts
/// `(net, watch)` with payload `(id: u64, revents: u32)` on that socket's
/// connection and forgets the registration. One thread polls every armed
/// socket of the stack at once, in 50 ms rounds so that new registrations
/// join within a round.
final class SocketWatcher: @unchecked Sendable {
    // @unchecked: mutable state behind `monitor`.
    private struct Armed {
        weak var socket: ServedSocket?
        let id: UInt64
        let events: UInt32
        let channel: RPCEventChannel
    }
    private let stack: Glue.SocketStack
    private let monitor = Monitor()
    private var armed: [Armed] = []
    private var stopped = false
    private var thread: HostThread?

    static let roundMs: UInt32 = 50

    init(stack: Glue.SocketStack) { self.stack = stack }

    /// Arm `s`; false once the watcher has stopped.
    func add(_ s: ServedSocket, events: UInt32, channel: RPCEventChannel) -> Bool {
        monitor.withLock {
            if stopped { return false }
            armed.append(Armed(socket: s, id: s.id, events: events, channel: channel))
            if thread == nil { thread = HostThread.start(name: "net-watch", blockSignals: true) { [self] in run() } }
            monitor.broadcast()
            return true
        }
    }

    func stop() {
        let t = monitor.withLock { () -> HostThread? in
            stopped = true
            monitor.broadcast()
            return thread
        }
        t?.join()
    }

    private func run() {
        while true {
            let round = monitor.withLock { () -> [Armed]? in
                while armed.isEmpty && !stopped { _ = monitor.wait() }
                return stopped ? nil : armed
            }
            guard let round else { return }
            // Sockets gone since they were armed are dropped quietly: their
            // connection is gone too.
            let live = round.compactMap { a in a.socket.map { (a, $0) } }
            var fired: [(UInt64, UInt32, RPCEventChannel)] = []
            if live.count < round.count { dropGone() }
            if !live.isEmpty {
                let items = live.map { (socket: $0.1.socket, events: $0.0.events) }
                let revents: [UInt32]
                do throws(Glue.SocketError) {
                    revents = try stack.poll(items, timeoutMs: Self.roundMs, interrupted: { [self] in monitor.withLock { stopped } })
                } catch {
                    if error.code == HUSK_ENODEV { return }
                    continue
                }
                for (k, r) in revents.enumerated() where r != 0 { fired.append((live[k].0.id, r, live[k].0.channel)) }
            }
            guard !fired.isEmpty else { continue }
            monitor.withLock {
                armed.removeAll { a in fired.contains { $0.0 == a.id && $0.2 === a.channel } }
            }
            for (id, revents, channel) in fired {
                var w = PayloadWriter()
                w.u64(id)
                w.u32(revents)
                channel.post(interface: Net.interfaceID, operation: Net.Operation.watch.rawValue, payload: w.bytes)
            }
        }
    }

    private func dropGone() { monitor.withLock { armed.removeAll { $0.socket == nil } } }
}
