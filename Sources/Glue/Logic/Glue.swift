import GlueAPI
import HypercallABI

/// The glue's entry points for the host.
///
/// The glue implements the kernel-style C API of husk/glue.h on top of the
/// hypercall table and nothing else, so any host that fills the table (the
/// Swift host on Linux, a microkernel port) gets the glue unchanged.
public enum Glue {
    /// Give the glue the table it talks to. Call once, before any component's
    /// init; calling again with the same table is harmless. A different table
    /// later replaces it (tests run several hosts one after another).
    public static func bind(_ hyp: UnsafePointer<husk_hyp>) {
        precondition(
            hyp.pointee.abi_major == UInt32(HUSK_ABI_MAJOR),
            "glue built for hypercall ABI \(HUSK_ABI_MAJOR).x, host offers \(hyp.pointee.abi_major).\(hyp.pointee.abi_minor)")
        Hyp.install(hyp)
    }

    /// Release what a component still holds in the glue after its fini:
    /// disks it registered are withdrawn (after their in-flight requests), attached
    /// PCI drivers are detached (their devices closed), DMA engines
    /// it registered are withdrawn, channels it borrowed are put back, its
    /// workqueues are drained and destroyed, its callout thread is stopped
    /// and its DMA memory is freed. Blocks until done. Call it before the
    /// host forgets the context.
    ///
    /// The work runs on a thread created for the component (so glue calls a
    /// driver's detach makes find the right component through ctx_current),
    /// and on the caller's thread if no thread can be created.
    public static func componentFinished(_ ctx: OpaquePointer) {
        ComponentReaper.reap(ctx)
    }
}

/// Tears down a finished component's glue state; see Glue.componentFinished.
enum ComponentReaper {
    static func reap(_ ctx: OpaquePointer) {
        let box = Unmanaged.passRetained(CtxBox(ctx)).toOpaque()
        var thread: husk_handle = 0
        let r = "glue-reaper".withCString { name in
            Hyp.table.pointee.thread_create!(
                ctx, name,
                { arg in
                    let box = Unmanaged<CtxBox>.fromOpaque(arg!).takeRetainedValue()
                    ComponentReaper.run(box.ctx)
                }, box, UInt32(HUSK_THREAD_JOINABLE), &thread)
        }
        if r == HUSK_OK {
            _ = Hyp.table.pointee.thread_join!(ctx, thread)
        } else {
            let box = Unmanaged<CtxBox>.fromOpaque(box).takeRetainedValue()
            run(box.ctx)
        }
    }

    /// Order matters: drivers first (their detach may still use callouts,
    /// workqueues and DMA memory), then what they might have used.
    /// Disks go before drivers: withdrawing one waits for its in-flight
    /// requests, which need the driver's interrupts still attached.
    static func run(_ ctx: OpaquePointer) {
        SocketProviders.shared.releaseAll(of: ctx)
        Disks.shared.releaseAll(of: ctx)
        Netifs.shared.releaseAll(of: ctx)
        PCIAutoconf.shared.unregisterAll(of: ctx)
        DMAEngines.shared.releaseAll(of: ctx)
        Workqueues.shared.destroyAll(of: ctx)
        CalloutEngines.shared.stop(of: ctx)
        DMAMemory.shared.freeAll(of: ctx)
    }
}

/// A context pointer to hand through a C `void *` argument.
final class CtxBox: @unchecked Sendable {
    // @unchecked: immutable; the pointer is only an identity for the host.
    let ctx: OpaquePointer
    init(_ ctx: OpaquePointer) { self.ctx = ctx }
}
