import Glibc
import PlatformC

/// Plain pthreads for the accept loop and the per-connection reader and
/// sender: they block in socket calls, which must not happen on Swift's
/// cooperative pool.
enum NBDThread {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(_ name: String, _ run: @escaping @Sendable () -> Void) { self.name = name; self.run = run }
    }

    struct SpawnError: Error, CustomStringConvertible {
        let code: Int32
        var description: String { "pthread_create: \(String(cString: strerror(code)))" }
    }

    /// Start `body` on a new joinable thread named `name` (≤ 15 bytes shown).
    static func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) throws(SpawnError) -> pthread_t {
        let box = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, nil, { raw in
            let b = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            _ = husk_set_thread_name(String(b.name.prefix(15)))
            b.run()
            return nil
        }, box)
        guard r == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw SpawnError(code: r)
        }
        return tid
    }

    static func join(_ tid: pthread_t) { pthread_join(tid, nil) }
    static func detach(_ tid: pthread_t) { pthread_detach(tid) }
}
