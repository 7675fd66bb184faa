import Glibc

/// A mutex with one condition variable on CLOCK_MONOTONIC: the host side's
/// one lock for state shared between plain threads (device threads, I/O
/// workers, RPC readers, completions). Plain pthreads rather than Swift
/// concurrency: a completion that arrives from C must never wait for a task
/// executor. (Components never see this: they lock through the hypercall
/// table.)
public final class Monitor: @unchecked Sendable {
    // @unchecked: the pthread mutex and condvar are the synchronisation
    // themselves; they live in heap memory this object owns, which never moves.
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
        pthread_cond_destroy(c)
        pthread_mutex_destroy(m)
        c.deallocate()
        m.deallocate()
    }

    public func lock() { pthread_mutex_lock(m) }
    public func unlock() { pthread_mutex_unlock(m) }
    /// Take the lock if it is free; true if taken.
    public func tryLock() -> Bool { pthread_mutex_trylock(m) == 0 }

    @inline(__always) @discardableResult
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }

    /// With the lock held: wait for a signal, until the CLOCK_MONOTONIC
    /// deadline if one is given. Returns false on timeout. Spurious wake-ups
    /// happen: callers wait in a loop over their condition.
    @discardableResult
    public func wait(deadlineNanos: UInt64? = nil) -> Bool {
        guard let d = deadlineNanos else {
            pthread_cond_wait(c, m)
            return true
        }
        var ts = timespec(tv_sec: Int(d / 1_000_000_000), tv_nsec: Int(d % 1_000_000_000))
        return pthread_cond_timedwait(c, m, &ts) != ETIMEDOUT
    }

    /// With the lock held: wait for a signal or `nanos` nanoseconds.
    @discardableResult
    public func wait(timeoutNanos nanos: UInt64) -> Bool { wait(deadlineNanos: monotonicNanos() &+ nanos) }

    public func signal() { pthread_cond_signal(c) }
    public func broadcast() { pthread_cond_broadcast(c) }
}

/// CLOCK_MONOTONIC now, in nanoseconds.
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
