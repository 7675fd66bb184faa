import Glibc
import PlatformC

/// A mutex with one condition variable, for sim device state shared between
/// the driver's threads (register accesses) and the device's own thread.
/// pthread objects live in heap memory that never moves, which is why this is
/// a class holding pointers rather than a struct. It is `@unchecked Sendable`
/// because the pthread objects themselves are the synchronisation.
final class SimLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Wait on the condition; the caller holds the lock.
    func wait() { pthread_cond_wait(cond, mutex) }

    func broadcast() { pthread_cond_broadcast(cond) }
}

/// A joinable host thread running a closure: the "device's own thread".
/// Not Foundation's Thread, to keep the backend on Glibc only.
/// `@unchecked Sendable`: `joined` is only touched by the owner, which
/// serialises start/stop under its own lock.
final class SimThread: @unchecked Sendable {
    private var tid = pthread_t()
    private var joined = false

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        final class Box {
            let name: String, body: @Sendable () -> Void
            init(_ n: String, _ b: @escaping @Sendable () -> Void) { name = n; body = b }
        }
        let arg = Unmanaged.passRetained(Box(name, body)).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            husk_set_thread_name(box.name)
            box.body()
            return nil
        }, arg)
        // Creating a thread only fails when the process is out of resources;
        // a sim device cannot work without one.
        precondition(rc == 0, "sim: pthread_create failed: \(rc)")
    }

    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(tid, nil)
    }
}
