import Glibc
import HostSys
import HypercallABI

/// Mutex, rwlock and condition variable operations of the table.
extension HypercallHost {
    static func fillSync(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.mutex_create = { ctx, name, out in HypercallHost.createSync(.mutex, ctx, name, out) }
        t.pointee.mutex_destroy = { ctx, h in
            guard let s = SyncSlab.slot(h, .mutex) else { return HUSK_EBADF }
            if husk_atomic_load_u32(SyncOps.word(s)) != 0 {
                HostPanic.panic(ctx: ctx, "mutex '\(SyncSlab.name(of: s))' destroyed while locked")
            }
            SyncSlab.free(h)
            return HUSK_OK
        }
        t.pointee.mutex_lock = { ctx, h in
            guard let s = SyncSlab.slot(h, .mutex) else { return HUSK_EBADF }
            SyncOps.lock(s, me: HypercallThreads.current().pointee.id, ctx: ctx)
            return HUSK_OK
        }
        t.pointee.mutex_trylock = { ctx, h in
            guard let s = SyncSlab.slot(h, .mutex) else { return HUSK_EBADF }
            return husk_atomic_cas_acquire_u32(SyncOps.word(s), 0, HypercallThreads.current().pointee.id) != 0 ? HUSK_OK : HUSK_EBUSY
        }
        t.pointee.mutex_unlock = { ctx, h in
            guard let s = SyncSlab.slot(h, .mutex) else { return HUSK_EBADF }
            SyncOps.unlock(s, me: HypercallThreads.current().pointee.id, ctx: ctx)
            return HUSK_OK
        }
        t.pointee.mutex_owned = { _, h in
            guard let s = SyncSlab.slot(h, .mutex) else { return 0 }
            return SyncOps.owned(s, me: HypercallThreads.current().pointee.id) ? 1 : 0
        }

        t.pointee.rw_create = { ctx, name, out in HypercallHost.createSync(.rwlock, ctx, name, out) }
        t.pointee.rw_destroy = { ctx, h in
            guard let s = SyncSlab.slot(h, .rwlock) else { return HUSK_EBADF }
            if husk_atomic_load_u32(SyncOps.word(s)) & (SyncOps.rwWriter | SyncOps.rwReaders) != 0 {
                HostPanic.panic(ctx: ctx, "rwlock '\(SyncSlab.name(of: s))' destroyed while held")
            }
            SyncSlab.free(h)
            return HUSK_OK
        }
        t.pointee.rw_enter = { ctx, h, mode in
            guard let s = SyncSlab.slot(h, .rwlock) else { return HUSK_EBADF }
            guard mode == UInt32(HUSK_RW_READER) || mode == UInt32(HUSK_RW_WRITER) else { return HUSK_EINVAL }
            SyncOps.rwEnter(s, writer: mode == UInt32(HUSK_RW_WRITER), me: HypercallThreads.current().pointee.id, ctx: ctx)
            return HUSK_OK
        }
        t.pointee.rw_tryenter = { ctx, h, mode in
            guard let s = SyncSlab.slot(h, .rwlock) else { return HUSK_EBADF }
            guard mode == UInt32(HUSK_RW_READER) || mode == UInt32(HUSK_RW_WRITER) else { return HUSK_EINVAL }
            return SyncOps.rwTry(s, writer: mode == UInt32(HUSK_RW_WRITER), me: HypercallThreads.current().pointee.id)
                ? HUSK_OK : HUSK_EBUSY
        }
        t.pointee.rw_exit = { ctx, h in
            guard let s = SyncSlab.slot(h, .rwlock) else { return HUSK_EBADF }
            SyncOps.rwExit(s, me: HypercallThreads.current().pointee.id, ctx: ctx)
            return HUSK_OK
        }

        t.pointee.cv_create = { ctx, name, out in HypercallHost.createSync(.condvar, ctx, name, out) }
        t.pointee.cv_destroy = { _, h in
            guard let s = SyncSlab.slot(h, .condvar) else { return HUSK_EBADF }
            if husk_atomic_load_u32(&s.pointee.waiters) != 0 { return HUSK_EBUSY }
            SyncSlab.free(h)
            return HUSK_OK
        }
        t.pointee.cv_wait = { ctx, cvh, mh in
            guard let cv = SyncSlab.slot(cvh, .condvar), let m = SyncSlab.slot(mh, .mutex) else { return HUSK_EBADF }
            return SyncOps.wait(cv: cv, mutex: m, rec: HypercallThreads.current(), deadline: nil, ctx: ctx)
        }
        t.pointee.cv_timedwait = { ctx, cvh, mh, deadline in
            guard let cv = SyncSlab.slot(cvh, .condvar), let m = SyncSlab.slot(mh, .mutex) else { return HUSK_EBADF }
            return SyncOps.wait(cv: cv, mutex: m, rec: HypercallThreads.current(), deadline: deadline, ctx: ctx)
        }
        t.pointee.cv_signal = { _, h in
            guard let cv = SyncSlab.slot(h, .condvar) else { return HUSK_EBADF }
            SyncOps.signal(cv, all: false)
            return HUSK_OK
        }
        t.pointee.cv_broadcast = { _, h in
            guard let cv = SyncSlab.slot(h, .condvar) else { return HUSK_EBADF }
            SyncOps.signal(cv, all: true)
            return HUSK_OK
        }
    }

    static func createSync(
        _ kind: SyncKind, _ ctx: OpaquePointer?, _ name: UnsafePointer<CChar>?,
        _ out: UnsafeMutablePointer<husk_handle>?
    ) -> Int32 {
        guard let out else { return HUSK_EFAULT }
        guard let h = SyncSlab.allocate(kind, ctx: ctx, name: name) else { return HUSK_EAGAIN }
        out.pointee = h
        return HUSK_OK
    }
}
