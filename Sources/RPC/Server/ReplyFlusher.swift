import Glibc
import Platform
import RPCTransport

/// One thread for the whole server that drains reply queues of clients whose
/// socket buffer was full: it polls their sockets for POLLOUT and sends what
/// fits, without ever blocking a worker.
final class ReplyFlusher: @unchecked Sendable {
    // @unchecked: `waiting`, `running` and `stopping` only under `monitor`.
    private let monitor = Monitor()
    private var waiting: [UInt64: ServerConnection] = [:]
    private var running = false
    private var stopping = false

    func add(_ c: ServerConnection) {
        monitor.lock()
        waiting[c.id] = c
        let start = !running
        running = true
        monitor.signal()
        monitor.unlock()
        if start { HostThread.start(name: "rpc-flush", detached: true, blockSignals: true) { [self] in loop() } }
    }

    func stop() {
        monitor.withLock {
            stopping = true
            monitor.signal()
        }
    }

    private func loop() {
        while true {
            monitor.lock()
            while waiting.isEmpty && !stopping { monitor.wait() }
            if stopping {
                monitor.unlock()
                return
            }
            let conns = Array(waiting.values)
            monitor.unlock()
            var fds = conns.map { pollfd(fd: $0.pollDescriptor, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 10)
            for (i, c) in conns.enumerated() where fds[i].revents != 0 || fds[i].fd < 0 {
                if c.flushQueue() { monitor.withLock { _ = waiting.removeValue(forKey: c.id) } }
            }
        }
    }
}
