import Glibc
import HypercallABI

/// Clock and sleep operations of the table.
extension HypercallHost {
    static func fillTime(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.clock_monotonic = { _ in Clock.monotonicNs() }
        t.pointee.clock_wall = { _ in Clock.wallNs() }
        t.pointee.sleep_ns = { _, ns in
            let now = Clock.monotonicNs()
            let deadline = ns > UInt64.max - now ? UInt64.max : now + ns
            return Clock.sleep(until: deadline, rec: HypercallThreads.current())
        }
        t.pointee.sleep_until = { _, deadline in Clock.sleep(until: deadline, rec: HypercallThreads.current()) }
    }
}
