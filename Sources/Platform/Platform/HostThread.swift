import Glibc
import PlatformC

/// A host thread: a Swift closure on a named pthread, for work that blocks
/// in system calls (device threads, interrupt dispatch, socket readers) and
/// so must not run on Swift's cooperative pool. Component threads are made
/// by the hypercall host (HypercallThreads in Hypercalls), which keeps a record
/// per thread.
public struct HostThread: @unchecked Sendable {
    // @unchecked: pthread_t is an integer handle on Linux.
    public let id: pthread_t

    public struct SpawnError: Error, CustomStringConvertible {
        public let code: Int32
        public var description: String { "cannot start a thread: pthread_create: \(String(cString: strerror(code)))" }
    }

    private final class Start: @unchecked Sendable {
        // @unchecked: written once before the thread starts, read by it only.
        let name: String
        let body: @Sendable () -> Void
        init(_ name: String, _ body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Start `body` on a new thread named `name` (the first 15 bytes show in
    /// top and gdb). Joinable unless `detached`. With `blockSignals` every
    /// signal but SIGSYS is blocked on it, so that process signals reach the
    /// application's own threads (SIGSYS stays open: a seccomp trap on a
    /// thread that blocks it kills the process instead of reaching the
    /// sandbox's logging handler).
    @discardableResult
    public static func spawn(
        name: String, detached: Bool = false, blockSignals: Bool = false,
        _ body: @escaping @Sendable () -> Void
    ) throws(SpawnError) -> HostThread {
        var old = sigset_t()
        if blockSignals {
            var all = sigset_t()
            sigfillset(&all)
            sigdelset(&all, SIGSYS)
            pthread_sigmask(SIG_SETMASK, &all, &old)
        }
        defer { if blockSignals { pthread_sigmask(SIG_SETMASK, &old, nil) } }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if detached { pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED)) }
        let start = Unmanaged.passRetained(Start(name, body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(
            &tid, &attr,
            { raw in
                let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
                _ = husk_set_thread_name(String(start.name.prefix(15)))
                start.body()
                return nil
            }, start)
        guard r == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw SpawnError(code: r)
        }
        return HostThread(id: tid)
    }

    /// Like spawn, for threads without which the process cannot go on:
    /// failing to create one (the process is out of threads) ends it.
    @discardableResult
    public static func start(
        name: String, detached: Bool = false, blockSignals: Bool = false,
        _ body: @escaping @Sendable () -> Void
    ) -> HostThread {
        do {
            return try spawn(name: name, detached: detached, blockSignals: blockSignals, body)
        } catch {
            fatalError("\(name): \(error)")
        }
    }

    /// Wait for a joinable thread to end.
    public func join() { pthread_join(id, nil) }
    public func detach() { pthread_detach(id) }
}
