import Glibc

/// A plain pthread mutex owned by a class, for the host's own bookkeeping.
/// (The hypercall mutexes handed to components are in SyncSlab.)
public final class HostLock: @unchecked Sendable {
    // @unchecked: the pthread mutex is the synchronisation itself; it lives in
    // stable heap memory that this object owns.
    private let m: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        m = .allocate(capacity: 1)
        pthread_mutex_init(m, nil)
    }
    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }
    public func lock() { pthread_mutex_lock(m) }
    public func unlock() { pthread_mutex_unlock(m) }
    /// Wait on `cond` with this lock held (pthread semantics).
    func wait(_ cond: UnsafeMutablePointer<pthread_cond_t>) { pthread_cond_wait(cond, m) }
    @discardableResult
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body()
    }
}

/// A value guarded by a HostLock.
public final class LockedValue<Value>: @unchecked Sendable {
    // @unchecked: `value` is only reached through withLock.
    private let lock = HostLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    @discardableResult
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
}
