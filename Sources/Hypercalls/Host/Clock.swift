import Glibc
import HostSys
import HypercallABI

/// Time for the hypercall table: monotonic and wall clocks in nanoseconds,
/// and interruptible sleeps on the thread's own futex word.
enum Clock {
    @inline(__always)
    static func monotonicNs() -> UInt64 {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func wallNs() -> UInt64 {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    static func timespec(monotonicNs ns: UInt64) -> Glibc.timespec {
        // Deadlines far in the future are clamped (a year is "forever" here)
        // so that tv_sec cannot overflow.
        let capped = min(ns, monotonicNs() &+ 365 * 86_400 * 1_000_000_000)
        return Glibc.timespec(tv_sec: Int(capped / 1_000_000_000), tv_nsec: Int(capped % 1_000_000_000))
    }

    /// Sleep until the deadline; HUSK_EINTR as soon as the thread is cancelled.
    static func sleep(until deadline: UInt64, rec: ThreadRecord) -> Int32 {
        let word = rec.sleepWord
        rec.setWaitWord(word)
        defer { rec.setWaitWord(nil) }
        while true {
            let observed = husk_atomic_load_u32(word)
            if rec.cancelPending { return HUSK_EINTR }
            if monotonicNs() >= deadline { return HUSK_OK }
            var ts = timespec(monotonicNs: deadline)
            let r = husk_futex_wait(word, observed, &ts)
            if r == -ETIMEDOUT { return rec.cancelPending ? HUSK_EINTR : HUSK_OK }
        }
    }
}
