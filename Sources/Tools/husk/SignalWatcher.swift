import Glibc
import Platform

/// SIGINT and SIGTERM become a call on a dedicated thread instead of killing
/// the process, so that the host can cancel components' work and finalise
/// them (flushing what they hold). Must be started before any other thread,
/// because threads inherit the blocked-signal mask.
enum SignalWatcher {
    static func start(_ handler: @escaping @Sendable (Int32) -> Void) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        HostThread.start(name: "signals", detached: true) {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            var count = 0
            while true {
                var sig: Int32 = 0
                if sigwait(&set, &sig) != 0 { continue }
                count += 1
                if count > 1 {
                    // A second Ctrl-C means "now": do not wait for components.
                    _exit(128 + sig)
                }
                handler(sig)
            }
        }
    }
}
