import Glibc
import HostSys
import HypercallABI

/// Mutexes, reader/writer locks and condition variables on futexes.
///
/// Mutex word: 0 when free, else the owner's thread id, with bit 31 set when
/// another thread may be sleeping on it. Owning the id in the word gives the
/// ownership checks of an error-checking mutex at the cost of one CAS.
enum SyncOps {
    static let contended: UInt32 = 0x8000_0000
    static let ownerMask: UInt32 = 0x7fff_ffff

    @inline(__always)
    static func word(_ s: UnsafeMutablePointer<husk_sync_slot>) -> UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(s).assumingMemoryBound(to: UInt32.self)  // `word` is at offset 0
    }

    // MARK: mutex

    @inline(__always)
    static func lock(_ s: UnsafeMutablePointer<husk_sync_slot>, me: UInt32, ctx: OpaquePointer?) {
        let w = word(s)
        if husk_atomic_cas_acquire_u32(w, 0, me) != 0 { return }
        lockSlow(s, w, me: me, ctx: ctx)
    }

    @inline(never)
    static func lockSlow(_ s: UnsafeMutablePointer<husk_sync_slot>, _ w: UnsafeMutablePointer<UInt32>, me: UInt32, ctx: OpaquePointer?) {
        if husk_atomic_load_u32(w) & ownerMask == me {
            HostPanic.panic(ctx: ctx, "mutex '\(SyncSlab.name(of: s))' locked twice by the same thread")
        }
        // Spin briefly: most critical sections are short, and a futex sleep
        // costs a cross-core wake-up (tens of microseconds on these machines).
        for _ in 0..<HypercallHost.mutexSpin {
            husk_cpu_relax()
            if husk_atomic_load_u32(w) == 0, husk_atomic_cas_acquire_u32(w, 0, me) != 0 { return }
        }
        while true {
            let v = husk_atomic_load_u32(w)
            if v == 0 {
                // Taken from the slow path: others may still sleep, keep the bit.
                if husk_atomic_cas_acquire_u32(w, 0, me | contended) != 0 { return }
                continue
            }
            if v & contended == 0, husk_atomic_cas_u32(w, v, v | contended) == 0 { continue }
            _ = husk_futex_wait(w, v | contended, nil)
        }
    }

    @inline(__always)
    static func unlock(_ s: UnsafeMutablePointer<husk_sync_slot>, me: UInt32, ctx: OpaquePointer?) {
        let w = word(s)
        if husk_atomic_cas_u32(w, me, 0) != 0 { return }
        unlockSlow(s, w, me: me, ctx: ctx)
    }

    @inline(never)
    static func unlockSlow(_ s: UnsafeMutablePointer<husk_sync_slot>, _ w: UnsafeMutablePointer<UInt32>, me: UInt32, ctx: OpaquePointer?) {
        let v = husk_atomic_load_u32(w)
        if v & ownerMask != me {
            HostPanic.panic(
                ctx: ctx,
                v == 0
                    ? "mutex '\(SyncSlab.name(of: s))' unlocked but not locked"
                    : "mutex '\(SyncSlab.name(of: s))' unlocked by a thread that does not own it")
        }
        if husk_atomic_exchange_release_u32(w, 0) & contended != 0 {
            _ = husk_futex_wake(w, 1)
        }
    }

    @inline(__always)
    static func owned(_ s: UnsafeMutablePointer<husk_sync_slot>, me: UInt32) -> Bool {
        husk_atomic_load_u32(word(s)) & ownerMask == me
    }

    // MARK: condition variable (word = sequence, waiters = threads inside wait)

    /// Returns HUSK_OK, HUSK_EINTR or HUSK_ETIMEDOUT; the mutex is held again.
    static func wait(
        cv: UnsafeMutablePointer<husk_sync_slot>, mutex m: UnsafeMutablePointer<husk_sync_slot>,
        rec: ThreadRecord, deadline: UInt64?, ctx: OpaquePointer?
    ) -> Int32 {
        let me = rec.pointee.id
        if !owned(m, me: me) {
            HostPanic.panic(ctx: ctx, "cv_wait on '\(SyncSlab.name(of: cv))' without holding mutex '\(SyncSlab.name(of: m))'")
        }
        let seq = word(cv)
        let waiters = UnsafeMutableRawPointer(cv).advanced(by: MemoryLayout<husk_sync_slot>.offset(of: \husk_sync_slot.waiters)!)
            .assumingMemoryBound(to: UInt32.self)
        // Order matters for cancellation: publish the word, then read the
        // sequence, then test the flag (see HypercallThreads.wake).
        rec.setWaitWord(seq)
        _ = husk_atomic_fetch_add_u32(waiters, 1)
        let observed = husk_atomic_load_u32(seq)
        if rec.cancelPending {
            _ = husk_atomic_fetch_sub_u32(waiters, 1)
            rec.setWaitWord(nil)
            return HUSK_EINTR
        }
        unlock(m, me: me, ctx: ctx)
        var result: Int32 = HUSK_OK
        if let deadline {
            var ts = Clock.timespec(monotonicNs: deadline)
            if husk_futex_wait(seq, observed, &ts) == -ETIMEDOUT { result = HUSK_ETIMEDOUT }
        } else {
            _ = husk_futex_wait(seq, observed, nil)
        }
        _ = husk_atomic_fetch_sub_u32(waiters, 1)
        rec.setWaitWord(nil)
        lock(m, me: me, ctx: ctx)
        if rec.cancelPending { return HUSK_EINTR }
        if result == HUSK_OK, let deadline, Clock.monotonicNs() >= deadline { result = HUSK_ETIMEDOUT }
        return result
    }

    @inline(__always)
    static func signal(_ cv: UnsafeMutablePointer<husk_sync_slot>, all: Bool) {
        let seq = word(cv)
        _ = husk_atomic_fetch_add_u32(seq, 1)
        if husk_atomic_load_u32(&cv.pointee.waiters) != 0 {
            _ = husk_futex_wake(seq, all ? Int32.max : 1)
        }
    }

    // MARK: reader/writer lock
    // word: bits 0..29 reader count, bit 30 writer holds, bit 31 sleepers.
    // waiters: writers waiting (readers yield to them, so writers are not starved).
    static let rwWriter: UInt32 = 0x4000_0000
    static let rwReaders: UInt32 = 0x3fff_ffff

    static func rwTry(_ s: UnsafeMutablePointer<husk_sync_slot>, writer: Bool, me: UInt32) -> Bool {
        let w = word(s)
        let v = husk_atomic_load_u32(w)
        if writer {
            guard v & (rwWriter | rwReaders) == 0 else { return false }
            if husk_atomic_cas_acquire_u32(w, v, v | rwWriter) != 0 {
                husk_atomic_store_u32(&s.pointee.owner, me)
                return true
            }
            return false
        }
        guard v & rwWriter == 0, husk_atomic_load_u32(&s.pointee.waiters) == 0, v & rwReaders < rwReaders else { return false }
        return husk_atomic_cas_acquire_u32(w, v, v + 1) != 0
    }

    static func rwEnter(_ s: UnsafeMutablePointer<husk_sync_slot>, writer: Bool, me: UInt32, ctx: OpaquePointer?) {
        if husk_atomic_load_u32(&s.pointee.owner) == me, husk_atomic_load_u32(word(s)) & rwWriter != 0 {
            HostPanic.panic(ctx: ctx, "rwlock '\(SyncSlab.name(of: s))' entered by the thread that holds it as writer")
        }
        if rwTry(s, writer: writer, me: me) { return }
        let w = word(s)
        if writer { _ = husk_atomic_fetch_add_u32(&s.pointee.waiters, 1) }
        defer { if writer { _ = husk_atomic_fetch_sub_u32(&s.pointee.waiters, 1) } }
        while true {
            if writer {
                let v = husk_atomic_load_u32(w)
                if v & (rwWriter | rwReaders) == 0 {
                    if husk_atomic_cas_acquire_u32(w, v, v | rwWriter) != 0 {
                        husk_atomic_store_u32(&s.pointee.owner, me)
                        return
                    }
                    continue
                }
            } else if rwTry(s, writer: false, me: me) {
                return
            }
            let v = husk_atomic_load_u32(w)
            if v & (rwWriter | rwReaders) == 0 && (writer || husk_atomic_load_u32(&s.pointee.waiters) == 0) { continue }
            if v & contended == 0, husk_atomic_cas_u32(w, v, v | contended) == 0 { continue }
            var ts = Clock.timespec(monotonicNs: Clock.monotonicNs() + 50_000_000)
            // Bounded sleep: a reader that yielded to a waiting writer is woken
            // by that writer's exit, but the bound keeps a missed edge harmless.
            _ = husk_futex_wait(w, v | contended, &ts)
        }
    }

    static func rwExit(_ s: UnsafeMutablePointer<husk_sync_slot>, me: UInt32, ctx: OpaquePointer?) {
        let w = word(s)
        while true {
            let v = husk_atomic_load_u32(w)
            let next: UInt32
            if v & rwWriter != 0 {
                if husk_atomic_load_u32(&s.pointee.owner) != me {
                    HostPanic.panic(ctx: ctx, "rw_exit on '\(SyncSlab.name(of: s))' by a thread that does not hold it")
                }
                // Clear the owner before releasing (a new writer sets its own
                // right after acquiring); put it back if the release loses a
                // race with a sleeper setting its bit, since we still hold it.
                husk_atomic_store_u32(&s.pointee.owner, 0)
                if husk_atomic_cas_u32(w, v, 0) != 0 {
                    if v & contended != 0 { _ = husk_futex_wake(w, Int32.max) }
                    return
                }
                husk_atomic_store_u32(&s.pointee.owner, me)
                continue
            } else if v & rwReaders != 0 {
                next = (v - 1) & rwReaders  // the last reader clears the sleeper bit and wakes
                if v & rwReaders > 1 {
                    if husk_atomic_cas_u32(w, v, (v - 1)) != 0 { return }
                    continue
                }
            } else {
                HostPanic.panic(ctx: ctx, "rw_exit on '\(SyncSlab.name(of: s))' which is not held")
            }
            if husk_atomic_cas_u32(w, v, next) != 0 {
                if v & contended != 0 { _ = husk_futex_wake(w, Int32.max) }
                return
            }
        }
    }
}
