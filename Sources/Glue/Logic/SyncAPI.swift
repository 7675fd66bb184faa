import GlueAPI
import HypercallABI

// Mutexes, rwlocks and condition variables (husk/glue/sync.h).
// Each C object holds the host handle and its creator's context; every
// operation uses that context, so the object works from whichever thread
// the creator's code runs on.

// MARK: mutex

@_cdecl("glue_mutex_init")
public func glue_mutex_init(_ m: UnsafeMutablePointer<kmutex_t>?, _ name: UnsafePointer<CChar>?) -> Int32 {
    let ctx = Hyp.current("mutex_init")
    guard let m else { Hyp.panic(ctx, "mutex_init(NULL)") }
    var h: husk_handle = 0
    let r = Hyp.table.pointee.mutex_create!(ctx, name, &h)
    m.pointee = kmutex_t(mtx_handle: r == HUSK_OK ? h : 0, mtx_ctx: ctx)
    return r
}

@_cdecl("glue_mutex_destroy")
public func glue_mutex_destroy(_ m: UnsafeMutablePointer<kmutex_t>?) {
    let (ctx, h) = Sync.mutex(m, "mutex_destroy")
    Sync.check(Hyp.table.pointee.mutex_destroy!(ctx, h), ctx, "mutex_destroy")
    m!.pointee.mtx_handle = 0
}

@_cdecl("glue_mutex_enter")
public func glue_mutex_enter(_ m: UnsafeMutablePointer<kmutex_t>?) {
    let (ctx, h) = Sync.mutex(m, "mutex_enter")
    Sync.check(Hyp.table.pointee.mutex_lock!(ctx, h), ctx, "mutex_enter")
}

@_cdecl("glue_mutex_exit")
public func glue_mutex_exit(_ m: UnsafeMutablePointer<kmutex_t>?) {
    let (ctx, h) = Sync.mutex(m, "mutex_exit")
    Sync.check(Hyp.table.pointee.mutex_unlock!(ctx, h), ctx, "mutex_exit")
}

@_cdecl("glue_mutex_tryenter")
public func glue_mutex_tryenter(_ m: UnsafeMutablePointer<kmutex_t>?) -> Bool {
    let (ctx, h) = Sync.mutex(m, "mutex_tryenter")
    let r = Hyp.table.pointee.mutex_trylock!(ctx, h)
    if r == HUSK_EBUSY { return false }
    Sync.check(r, ctx, "mutex_tryenter")
    return true
}

@_cdecl("glue_mutex_owned")
public func glue_mutex_owned(_ m: UnsafePointer<kmutex_t>?) -> Bool {
    guard let m, m.pointee.mtx_handle != 0 else { return false }
    return Hyp.table.pointee.mutex_owned!(m.pointee.mtx_ctx, m.pointee.mtx_handle) == 1
}

// MARK: rwlock

@_cdecl("glue_rw_init")
public func glue_rw_init(_ rw: UnsafeMutablePointer<krwlock_t>?, _ name: UnsafePointer<CChar>?) -> Int32 {
    let ctx = Hyp.current("rw_init")
    guard let rw else { Hyp.panic(ctx, "rw_init(NULL)") }
    var h: husk_handle = 0
    let r = Hyp.table.pointee.rw_create!(ctx, name, &h)
    rw.pointee = krwlock_t(rw_handle: r == HUSK_OK ? h : 0, rw_ctx: ctx)
    return r
}

@_cdecl("glue_rw_destroy")
public func glue_rw_destroy(_ rw: UnsafeMutablePointer<krwlock_t>?) {
    let (ctx, h) = Sync.rwlock(rw, "rw_destroy")
    Sync.check(Hyp.table.pointee.rw_destroy!(ctx, h), ctx, "rw_destroy")
    rw!.pointee.rw_handle = 0
}

@_cdecl("glue_rw_enter")
public func glue_rw_enter(_ rw: UnsafeMutablePointer<krwlock_t>?, _ op: krw_t) {
    let (ctx, h) = Sync.rwlock(rw, "rw_enter")
    Sync.check(Hyp.table.pointee.rw_enter!(ctx, h, UInt32(op.rawValue)), ctx, "rw_enter")
}

@_cdecl("glue_rw_tryenter")
public func glue_rw_tryenter(_ rw: UnsafeMutablePointer<krwlock_t>?, _ op: krw_t) -> Bool {
    let (ctx, h) = Sync.rwlock(rw, "rw_tryenter")
    let r = Hyp.table.pointee.rw_tryenter!(ctx, h, UInt32(op.rawValue))
    if r == HUSK_EBUSY { return false }
    Sync.check(r, ctx, "rw_tryenter")
    return true
}

@_cdecl("glue_rw_exit")
public func glue_rw_exit(_ rw: UnsafeMutablePointer<krwlock_t>?) {
    let (ctx, h) = Sync.rwlock(rw, "rw_exit")
    Sync.check(Hyp.table.pointee.rw_exit!(ctx, h), ctx, "rw_exit")
}

// MARK: condition variables

@_cdecl("glue_cv_init")
public func glue_cv_init(_ cv: UnsafeMutablePointer<kcondvar_t>?, _ name: UnsafePointer<CChar>?) -> Int32 {
    let ctx = Hyp.current("cv_init")
    guard let cv else { Hyp.panic(ctx, "cv_init(NULL)") }
    var h: husk_handle = 0
    let r = Hyp.table.pointee.cv_create!(ctx, name, &h)
    cv.pointee = kcondvar_t(cv_handle: r == HUSK_OK ? h : 0, cv_ctx: ctx)
    return r
}

@_cdecl("glue_cv_destroy")
public func glue_cv_destroy(_ cv: UnsafeMutablePointer<kcondvar_t>?) {
    let (ctx, h) = Sync.condvar(cv, "cv_destroy")
    let r = Hyp.table.pointee.cv_destroy!(ctx, h)
    if r == HUSK_EBUSY { Hyp.panic(ctx, "cv_destroy: threads still wait on it") }
    Sync.check(r, ctx, "cv_destroy")
    cv!.pointee.cv_handle = 0
}

@_cdecl("glue_cv_wait")
public func glue_cv_wait(_ cv: UnsafeMutablePointer<kcondvar_t>?, _ m: UnsafeMutablePointer<kmutex_t>?) -> Int32 {
    Sync.wait(cv, m, timeout: nil, interruptible: false, "cv_wait")
}

@_cdecl("glue_cv_wait_sig")
public func glue_cv_wait_sig(_ cv: UnsafeMutablePointer<kcondvar_t>?, _ m: UnsafeMutablePointer<kmutex_t>?) -> Int32 {
    Sync.wait(cv, m, timeout: nil, interruptible: true, "cv_wait_sig")
}

@_cdecl("glue_cv_timedwait")
public func glue_cv_timedwait(
    _ cv: UnsafeMutablePointer<kcondvar_t>?, _ m: UnsafeMutablePointer<kmutex_t>?,
    _ ns: UInt64
) -> Int32 {
    Sync.wait(cv, m, timeout: ns, interruptible: false, "cv_timedwait")
}

@_cdecl("glue_cv_timedwait_sig")
public func glue_cv_timedwait_sig(
    _ cv: UnsafeMutablePointer<kcondvar_t>?, _ m: UnsafeMutablePointer<kmutex_t>?,
    _ ns: UInt64
) -> Int32 {
    Sync.wait(cv, m, timeout: ns, interruptible: true, "cv_timedwait_sig")
}

@_cdecl("glue_cv_signal")
public func glue_cv_signal(_ cv: UnsafeMutablePointer<kcondvar_t>?) {
    let (ctx, h) = Sync.condvar(cv, "cv_signal")
    Sync.check(Hyp.table.pointee.cv_signal!(ctx, h), ctx, "cv_signal")
}

@_cdecl("glue_cv_broadcast")
public func glue_cv_broadcast(_ cv: UnsafeMutablePointer<kcondvar_t>?) {
    let (ctx, h) = Sync.condvar(cv, "cv_broadcast")
    Sync.check(Hyp.table.pointee.cv_broadcast!(ctx, h), ctx, "cv_broadcast")
}

/// Shared checks: an uninitialised or destroyed object, or a host error on
/// an operation that cannot fail when used correctly, is a component bug.
enum Sync {
    static func mutex(_ m: UnsafePointer<kmutex_t>?, _ call: StaticString) -> (OpaquePointer, husk_handle) {
        guard let m, m.pointee.mtx_handle != 0, let ctx = m.pointee.mtx_ctx else {
            Hyp.panic(Hyp.currentOrNil, "\(call): mutex not initialised (or destroyed)")
        }
        return (ctx, m.pointee.mtx_handle)
    }
    static func mutex(_ m: UnsafeMutablePointer<kmutex_t>?, _ call: StaticString) -> (OpaquePointer, husk_handle) {
        mutex(UnsafePointer(m), call)
    }
    static func rwlock(_ rw: UnsafeMutablePointer<krwlock_t>?, _ call: StaticString) -> (OpaquePointer, husk_handle) {
        guard let rw, rw.pointee.rw_handle != 0, let ctx = rw.pointee.rw_ctx else {
            Hyp.panic(Hyp.currentOrNil, "\(call): rwlock not initialised (or destroyed)")
        }
        return (ctx, rw.pointee.rw_handle)
    }
    static func condvar(_ cv: UnsafeMutablePointer<kcondvar_t>?, _ call: StaticString) -> (OpaquePointer, husk_handle) {
        guard let cv, cv.pointee.cv_handle != 0, let ctx = cv.pointee.cv_ctx else {
            Hyp.panic(Hyp.currentOrNil, "\(call): condvar not initialised (or destroyed)")
        }
        return (ctx, cv.pointee.cv_handle)
    }
    static func check(_ r: Int32, _ ctx: OpaquePointer, _ call: StaticString) {
        if r != HUSK_OK { Hyp.panic(ctx, "\(call): \(Hyp.errorName(r))") }
    }

    static func wait(
        _ cv: UnsafeMutablePointer<kcondvar_t>?, _ m: UnsafeMutablePointer<kmutex_t>?,
        timeout: UInt64?, interruptible: Bool, _ call: StaticString
    ) -> Int32 {
        let (ctx, cvh) = condvar(cv, call)
        let (_, mh) = mutex(m, call)
        let deadline = timeout.map { Hyp.now(ctx).plusSaturating($0) }
        let r: Int32
        if interruptible {
            let h = Hyp.table
            r = deadline.map { h.pointee.cv_timedwait!(ctx, cvh, mh, $0) } ?? h.pointee.cv_wait!(ctx, cvh, mh)
        } else {
            r = CancelSafeWait.wait(ctx: ctx, cv: cvh, mutex: mh, deadline: deadline)
        }
        if r != HUSK_OK && r != HUSK_ETIMEDOUT && r != HUSK_EINTR { Hyp.panic(ctx, "\(call): \(Hyp.errorName(r))") }
        return r
    }
}
