import GlueAPI
import HypercallABI

// kmem(9) over hyp->mem_alloc / mem_free (husk/glue/kmem.h).

private let kmemAlignment: UInt64 = 16
/// How long KM_SLEEP waits for memory before declaring the host exhausted.
private let kmemSleepLimitNs: UInt64 = 10_000_000_000
private let kmemRetryNs: UInt64 = 1_000_000

@_cdecl("glue_kmem_alloc")
public func glue_kmem_alloc(_ size: Int, _ flags: Int32) -> UnsafeMutableRawPointer? {
    Kmem.allocate(size, flags, call: "kmem_alloc")
}

@_cdecl("glue_kmem_zalloc")
public func glue_kmem_zalloc(_ size: Int, _ flags: Int32) -> UnsafeMutableRawPointer? {
    guard let p = Kmem.allocate(size, flags, call: "kmem_zalloc") else { return nil }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    return p
}

@_cdecl("glue_kmem_free")
public func glue_kmem_free(_ ptr: UnsafeMutableRawPointer?, _ size: Int) {
    guard let ptr else { return }
    let ctx = Hyp.current("kmem_free")
    let r = Hyp.table.pointee.mem_free!(ctx, ptr, UInt64(size))
    if r != HUSK_OK {
        Hyp.panic(ctx, "kmem_free(\(ptr), \(size)): \(Hyp.errorName(r)) (wrong size, or not from kmem_alloc?)")
    }
}

enum Kmem {
    static func allocate(_ size: Int, _ flags: Int32, call: StaticString) -> UnsafeMutableRawPointer? {
        let ctx = Hyp.current(call)
        if size <= 0 { Hyp.panic(ctx, "\(call)(\(size)): size must be positive") }
        let sleep = flags & KM_SLEEP != 0
        var waited: UInt64 = 0
        while true {
            var p: UnsafeMutableRawPointer?
            let r = Hyp.table.pointee.mem_alloc!(ctx, UInt64(size), kmemAlignment, &p)
            if r == HUSK_OK, let p { return p }
            if r != HUSK_ENOMEM { Hyp.panic(ctx, "\(call)(\(size)): \(Hyp.errorName(r))") }
            if !sleep { return nil }
            if waited >= kmemSleepLimitNs {
                Hyp.panic(ctx, "\(call)(\(size), KM_SLEEP): host out of memory for 10 s")
            }
            _ = Hyp.table.pointee.sleep_ns!(ctx, kmemRetryNs)
            waited += kmemRetryNs
        }
    }
}
