import Glibc
import HostSys
import HypercallABI

/// Thread, TLS and cancellation operations of the table.
extension HypercallHost {
    static func fillThreads(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.thread_create = { ctx, name, fn, arg, flags, out in
            guard let fn else { return HUSK_EINVAL }
            guard flags & ~UInt32(HUSK_THREAD_JOINABLE) == 0 else { return HUSK_EINVAL }
            let joinable = flags & UInt32(HUSK_THREAD_JOINABLE) != 0
            if joinable && out == nil { return HUSK_EFAULT }
            switch HypercallThreads.create(ctx: ctx, name: name, fn: fn, arg: arg, joinable: joinable) {
            case .success(let h):
                ComponentContext.from(ctx)?.accountThreadCreated()
                out?.pointee = h
                return HUSK_OK
            case .failure(let e):
                return e.code
            }
        }
        t.pointee.thread_join = { _, handle in HypercallThreads.join(handle) }
        t.pointee.thread_exit = { ctx in HypercallThreads.exitCurrent(ctx: ctx) }
        t.pointee.thread_self = { _ in HypercallThreads.current().pointee.handle }
        t.pointee.ctx_current = { OpaquePointer(HypercallThreads.current().pointee.ctx) }
        t.pointee.tls_set = { _, value in HypercallThreads.current().pointee.tls = value }
        t.pointee.tls_get = { _ in HypercallThreads.current().pointee.tls }
        t.pointee.thread_cancel = { _, handle in HypercallThreads.cancel(handle) }
        t.pointee.cancel_pending = { _ in HypercallThreads.current().cancelPending ? 1 : 0 }
        t.pointee.cancel_clear = { _ in husk_atomic_store_u32(HypercallThreads.current().cancelWord, 0) }
    }
}
