import Glibc
import PlatformC

/// Host-internal threads (interrupt dispatch, I/O workers, watchers): a
/// Swift closure on a named pthread. Component threads use HostThreads.create.
enum HostThread {
    private final class Box: @unchecked Sendable {
        // @unchecked: handed once from the creating thread to the new one.
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) { self.name = name; self.body = body }
    }

    /// Start `body` on a new joinable thread; crashes only if the process is
    /// out of threads, which the host cannot recover from anyway.
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            _ = husk_set_thread_name(String(box.name.prefix(15)))
            box.body()
            return nil
        }, box)
        precondition(r == 0, "pthread_create failed: \(String(cString: strerror(r)))")
        return tid
    }
}

/// An eventfd owned by one object: write to signal, read to consume.
struct EventFD: ~Copyable {
    let fd: Int32
    init() {
        fd = husk_eventfd(0)
        precondition(fd >= 0, "eventfd failed: errno \(errno)")
    }
    func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }
    deinit { close(fd) }
}

/// Wait until one of `fds` is readable; returns the readable ones.
func pollReadable(_ fds: [Int32], timeoutMs: Int32 = -1) -> [Int32] {
    var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
        let r = poll(&pfds, nfds_t(pfds.count), timeoutMs)
        if r < 0 && errno == EINTR { continue }
        if r <= 0 { return [] }
        return pfds.filter { $0.revents != 0 }.map { $0.fd }
    }
}

/// Consume an eventfd's counter (8 bytes); returns the count or 0.
@discardableResult
func drainEventFD(_ fd: Int32) -> UInt64 {
    var v: UInt64 = 0
    let n = withUnsafeMutableBytes(of: &v) { Glibc.read(fd, $0.baseAddress, 8) }
    return n == 8 ? v : 0
}
