import Glibc
import PlatformC

/// A mutex with one condition variable (pthread), for the runtime's queues
/// and waits. Waits may have a CLOCK_MONOTONIC deadline.
public final class Monitor: @unchecked Sendable {
    // @unchecked: the pthread mutex/cond are the synchronisation themselves;
    // they live in heap memory owned by this object.
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    private let c: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        m = .allocate(capacity: 1)
        c = .allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(c, &attr)
        pthread_condattr_destroy(&attr)
    }
    deinit {
        pthread_cond_destroy(c); pthread_mutex_destroy(m)
        c.deallocate(); m.deallocate()
    }

    public func lock() { pthread_mutex_lock(m) }
    public func unlock() { pthread_mutex_unlock(m) }
    @discardableResult
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(m); defer { pthread_mutex_unlock(m) }
        return try body()
    }
    /// With the lock held: wait for a signal. Returns false on timeout.
    @discardableResult
    public func wait(deadlineNanos: UInt64? = nil) -> Bool {
        guard let d = deadlineNanos else { pthread_cond_wait(c, m); return true }
        var ts = timespec(tv_sec: Int(d / 1_000_000_000), tv_nsec: Int(d % 1_000_000_000))
        return pthread_cond_timedwait(c, m, &ts) != ETIMEDOUT
    }
    public func signal() { pthread_cond_signal(c) }
    public func broadcast() { pthread_cond_broadcast(c) }
}

/// CLOCK_MONOTONIC now, in nanoseconds.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Start a detached pthread running `body` (with every signal blocked when
/// `blockSignals`, so that signals go to the application's own threads).
public func startThread(name: String, blockSignals: Bool = true, _ body: @escaping @Sendable () -> Void) {
    final class Box: @unchecked Sendable {
        // @unchecked: written once before the thread starts, read by it only.
        let body: @Sendable () -> Void
        let name: String
        init(_ b: @escaping @Sendable () -> Void, _ n: String) { body = b; name = n }
    }
    var old = sigset_t()
    if blockSignals {
        var all = sigset_t()
        sigfillset(&all)
        // SIGSYS stays open: a seccomp trap delivered to a thread that blocks it
        // kills the process instead of reaching the sandbox's logging handler.
        sigdelset(&all, SIGSYS)
        pthread_sigmask(SIG_SETMASK, &all, &old)
    }
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    var tid = pthread_t()
    let box = Unmanaged.passRetained(Box(body, name)).toOpaque()
    let r = pthread_create(&tid, &attr, { raw in
        let b = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        _ = b.name.withCString { husk_set_thread_name($0) }
        b.body()
        return nil
    }, box)
    pthread_attr_destroy(&attr)
    if blockSignals { pthread_sigmask(SIG_SETMASK, &old, nil) }
    if r != 0 {
        Unmanaged<AnyObject>.fromOpaque(box).release()
        fatalError("pthread_create failed: \(r)")
    }
}
