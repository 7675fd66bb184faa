import GlueAPI
import HypercallABI

/// A mutex with condition variables, made of the hypercall table's objects
/// of one component. The glue's per-component machinery (callout thread,
/// workqueues) sleeps on these so that waits, cancellation and diagnostics
/// behave exactly like the component's own.
final class HypMonitor: @unchecked Sendable {
    // @unchecked: the handles are immutable after init; the host's mutex
    // and condition variables do all the synchronisation.
    let ctx: OpaquePointer
    let mutex: husk_handle
    let cvs: [husk_handle]

    /// nil when the host's tables are full.
    init?(ctx: OpaquePointer, name: String, conditions: Int) {
        self.ctx = ctx
        let h = Hyp.table
        var m: husk_handle = 0
        guard name.withCString({ h.pointee.mutex_create!(ctx, $0, &m) }) == HUSK_OK else { return nil }
        var made: [husk_handle] = []
        for _ in 0..<conditions {
            var cv: husk_handle = 0
            guard name.withCString({ h.pointee.cv_create!(ctx, $0, &cv) }) == HUSK_OK else {
                for c in made { _ = h.pointee.cv_destroy!(ctx, c) }
                _ = h.pointee.mutex_destroy!(ctx, m)
                return nil
            }
            made.append(cv)
        }
        mutex = m
        cvs = made
    }

    func lock() { check(Hyp.table.pointee.mutex_lock!(ctx, mutex), "mutex_lock") }
    func unlock() { check(Hyp.table.pointee.mutex_unlock!(ctx, mutex), "mutex_unlock") }
    var owned: Bool { Hyp.table.pointee.mutex_owned!(ctx, mutex) == 1 }

    /// Wait on condition `i` (lock held), ignoring cancellation; returns
    /// HUSK_OK or HUSK_ETIMEDOUT (deadline on the monotonic clock).
    @discardableResult
    func wait(_ i: Int, until deadline: UInt64? = nil) -> Int32 {
        CancelSafeWait.wait(ctx: ctx, cv: cvs[i], mutex: mutex, deadline: deadline)
    }
    func signal(_ i: Int) { _ = Hyp.table.pointee.cv_signal!(ctx, cvs[i]) }
    func broadcast(_ i: Int) { _ = Hyp.table.pointee.cv_broadcast!(ctx, cvs[i]) }

    func destroy() {
        for c in cvs { _ = Hyp.table.pointee.cv_destroy!(ctx, c) }
        _ = Hyp.table.pointee.mutex_destroy!(ctx, mutex)
    }

    private func check(_ r: Int32, _ op: StaticString) {
        if r != HUSK_OK { Hyp.panic(ctx, "glue: \(op) on an internal lock failed: \(Hyp.errorName(r))") }
    }
}

/// Condition-variable waits that a pending cancellation does not turn into
/// a busy loop.
///
/// The hypercall's cv_wait returns EINTR at once while the thread's
/// cancellation flag is set, and the flag stays set until the component
/// clears it. For a wait that must not be interrupted (NetBSD's cv_wait,
/// the glue's own threads) the glue clears the flag, waits at most
/// `cancelledSlice` without it, and sets the flag again before returning, so
/// that the thread's next interruptible wait still sees the cancellation.
/// The early return is a legal spurious wake-up; bounding the flagless wait
/// bounds the delay should the cancellation have swallowed a signal.
enum CancelSafeWait {
    static let cancelledSlice: UInt64 = 10_000_000  // 10 ms

    static func wait(ctx: OpaquePointer, cv: husk_handle, mutex: husk_handle, deadline: UInt64?) -> Int32 {
        let h = Hyp.table
        let r = deadline.map { h.pointee.cv_timedwait!(ctx, cv, mutex, $0) } ?? h.pointee.cv_wait!(ctx, cv, mutex)
        if r != HUSK_EINTR { return r }
        h.pointee.cancel_clear!(ctx)
        let slice = Hyp.now(ctx).plusSaturating(cancelledSlice)
        let limit = deadline.map { min($0, slice) } ?? slice
        var r2 = h.pointee.cv_timedwait!(ctx, cv, mutex, limit)
        _ = h.pointee.thread_cancel!(ctx, h.pointee.thread_self!(ctx))
        if r2 == HUSK_EINTR { r2 = HUSK_OK }  // cancelled again meanwhile
        if r2 == HUSK_ETIMEDOUT, let d = deadline, Hyp.now(ctx) >= d { return HUSK_ETIMEDOUT }
        return r2 == HUSK_ETIMEDOUT ? HUSK_OK : r2  // the slice ended: a spurious wake-up
    }
}
