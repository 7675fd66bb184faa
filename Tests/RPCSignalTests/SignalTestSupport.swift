import Foundation
import Glibc
import HuskTestSupport
import Platform
import RPCTransport
import XCTest

/// A short scratch directory (sun_path holds 107 bytes), removed after the test.
func scratchDir(_ test: XCTestCase) throws -> String { try scratchDirectory(test, prefix: "rpcsig") }

/// Counts of signals caught by the handler of installCountingHandler (index = signal number).
nonisolated(unsafe) let caughtCounters: UnsafeMutablePointer<Int32> = {
    let p = UnsafeMutablePointer<Int32>.allocate(capacity: 65)
    p.initialize(repeating: 0, count: 65)
    return p
}()

/// How often `sig` was caught (a plain load: the handler's store happened
/// on a thread that has since passed a syscall, a full barrier).
func caught(_ sig: Int32) -> Int32 { caughtCounters[Int(sig)] }

/// Install a handler that counts deliveries, with `flags` (SA_RESTART or 0).
func installCountingHandler(_ sig: Int32, flags: Int32) {
    _ = caughtCounters
    var sa = sigaction()
    sa.__sigaction_handler.sa_handler = { s in caughtCounters[Int(s)] &+= 1 }
    sa.sa_flags = flags
    sigemptyset(&sa.sa_mask)
    sigaction(sig, &sa, nil)
}

/// After `ms`, pthread_kill(target, sig) from a thread that blocks every
/// signal; the box receives the monotonic time of the kill.
func signalLater(_ target: pthread_t, _ sig: Int32, afterMs ms: UInt32, at box: Locked<UInt64>) {
    HostThread.start(name: "test-killer", detached: true, blockSignals: true) {
        usleep(ms * 1000)
        box.set(monotonicNanos())
        pthread_kill(target, sig)
    }
}
