import Glibc

/// A value shared between threads, reached only under its lock.
///
/// Where the value and every result are Sendable, Synchronization's `Mutex`
/// serves as well (the vfio and uio backends use it); its `sending` contract
/// does not fit a box whose callers hand back non-Sendable values, which is
/// what this one is for.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched with `m` held.
    private let m: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        m = .allocate(capacity: 1)
        pthread_mutex_init(m, nil)
    }

    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }

    @inline(__always) @discardableResult
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(m)
        defer { pthread_mutex_unlock(m) }
        return try body(&value)
    }

    /// A copy of the value.
    public func get() -> Value { withLock { $0 } }
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}
