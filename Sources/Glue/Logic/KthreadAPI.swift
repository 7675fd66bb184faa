import GlueAPI
import HypercallABI

// Kernel threads of the calling component (husk/glue/kthread.h).

@_cdecl("glue_kthread_create")
public func glue_kthread_create(
    _ name: UnsafePointer<CChar>?, _ fn: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
    _ arg: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<kthread_t>?
) -> Int32 {
    let ctx = Hyp.current("kthread_create")
    guard let fn else { return HUSK_EINVAL }
    let flags = out != nil ? UInt32(HUSK_THREAD_JOINABLE) : 0
    return Hyp.table.pointee.thread_create!(ctx, name, fn, arg, flags, out)
}

@_cdecl("glue_kthread_join")
public func glue_kthread_join(_ t: kthread_t) -> Int32 {
    Hyp.table.pointee.thread_join!(Hyp.current("kthread_join"), t)
}

@_cdecl("glue_kthread_exit")
public func glue_kthread_exit() -> Never {
    Hyp.table.pointee.thread_exit!(Hyp.current("kthread_exit"))
    fatalError("husk glue: hyp->thread_exit returned")
}
