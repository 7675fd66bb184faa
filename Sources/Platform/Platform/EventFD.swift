import Glibc
import PlatformC

/// An eventfd owned by one object: write to signal, read to consume.
public struct EventFD: ~Copyable {
    public let fd: Int32

    /// A blocking counter, or with `nonblocking` one whose signaller never
    /// blocks (a simulated device raising an interrupt).
    public init(nonblocking: Bool = false) {
        fd = nonblocking ? husk_eventfd_nonblocking() : husk_eventfd(0)
        // Only descriptor exhaustion makes eventfd fail; nothing can run then.
        precondition(fd >= 0, "eventfd failed: \(String(cString: strerror(errno)))")
    }

    public func signal() { signalEventFD(fd) }
    /// Consume the counter; returns it, or 0 if there was nothing.
    @discardableResult
    public func drain() -> UInt64 { drainEventFD(fd) }

    deinit { close(fd) }
}

/// Add one to an eventfd's counter (8 bytes).
public func signalEventFD(_ fd: Int32) {
    var one: UInt64 = 1
    _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
}

/// Consume an eventfd's counter (8 bytes); returns the count or 0.
@discardableResult
public func drainEventFD(_ fd: Int32) -> UInt64 {
    var v: UInt64 = 0
    let n = withUnsafeMutableBytes(of: &v) { Glibc.read(fd, $0.baseAddress, 8) }
    return n == 8 ? v : 0
}

/// Wait until one of `fds` is readable (retrying on EINTR); returns the
/// readable ones, or none on timeout.
public func pollReadable(_ fds: [Int32], timeoutMs: Int32 = -1) -> [Int32] {
    var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
        let r = poll(&pfds, nfds_t(pfds.count), timeoutMs)
        if r < 0 && errno == EINTR { continue }
        if r <= 0 { return [] }
        return pfds.filter { $0.revents != 0 }.map { $0.fd }
    }
}
