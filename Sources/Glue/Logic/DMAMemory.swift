import GlueAPI
import HypercallABI

/// Every DMA buffer handed out through bus_dmamem_alloc, by CPU address, so
/// that a DMA map can translate a CPU range to the bus address a device
/// needs, and refuse memory that is not DMA memory.
final class DMAMemory: Sendable {
    struct Buffer {
        var cpu: UInt
        var size: UInt64
        var bus: UInt64
        var handle: husk_handle
        var ctx: UInt
    }

    static let shared = DMAMemory()
    /// Sorted by `cpu`; buffers never overlap. Searched under the lock from
    /// any thread (also irq context: the critical sections are short and
    /// make no calls).
    private let buffers = GlueLock<[Buffer]>("glue.bus_dma", [])

    func add(_ b: Buffer) {
        buffers.withLock { all in
            let at = all.firstIndex { $0.cpu > b.cpu } ?? all.endIndex
            all.insert(b, at: at)
        }
    }

    func remove(handle: husk_handle) -> Buffer? {
        buffers.withLock { all in
            guard let i = all.firstIndex(where: { $0.handle == handle }) else { return nil }
            return all.remove(at: i)
        }
    }

    /// The bus address of [cpu, cpu+len) if it lies inside one buffer.
    func translate(cpu: UInt, len: UInt64) -> UInt64? {
        buffers.withLock { all in
            // Last buffer starting at or before cpu (binary search).
            var lo = 0, hi = all.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if all[mid].cpu <= cpu { lo = mid + 1 } else { hi = mid }
            }
            guard lo > 0 else { return nil }
            let b = all[lo - 1]
            let off = UInt64(cpu - b.cpu)
            guard off < b.size, len <= b.size - off else { return nil }
            return b.bus + off
        }
    }

    /// Free what a finished component left allocated.
    func freeAll(of ctx: OpaquePointer) {
        let mine = buffers.withLock { all in
            let m = all.filter { $0.ctx == ctxKey(ctx) }
            all.removeAll { $0.ctx == ctxKey(ctx) }
            return m
        }
        if !mine.isEmpty {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: freeing \(mine.count) DMA buffer(s) the component did not free")
        }
        for b in mine { _ = Hyp.table.pointee.dma_free!(ctx, b.handle) }
    }
}

// MARK: C entry points (husk/glue/bus_dma.h)

@_cdecl("glue_bus_dmamem_alloc")
public func glue_bus_dmamem_alloc(
    _ size: UInt64, _ align: UInt64, _ maxaddr: UInt64,
    _ seg: UnsafeMutablePointer<bus_dma_segment_t>?
) -> Int32 {
    let ctx = Hyp.current("bus_dmamem_alloc")
    guard let seg else { return HUSK_EINVAL }
    var buf = husk_dma_buf()
    let r = Hyp.table.pointee.dma_alloc!(ctx, size, align, maxaddr, &buf)
    guard r == HUSK_OK, let cpu = buf.cpu else { return r == HUSK_OK ? HUSK_ENOMEM : r }
    DMAMemory.shared.add(
        .init(
            cpu: UInt(bitPattern: cpu), size: buf.size, bus: buf.bus,
            handle: buf.handle, ctx: ctxKey(ctx)))
    seg.pointee = bus_dma_segment_t(
        ds_addr: buf.bus, ds_len: size, ds_vaddr: cpu,
        ds_handle: buf.handle, ds_ctx: ctx)
    return HUSK_OK
}

@_cdecl("glue_bus_dmamem_free")
public func glue_bus_dmamem_free(_ seg: UnsafeMutablePointer<bus_dma_segment_t>?) {
    guard let seg, seg.pointee.ds_handle != 0 else { return }
    let ctx = seg.pointee.ds_ctx ?? Hyp.current("bus_dmamem_free")
    guard DMAMemory.shared.remove(handle: seg.pointee.ds_handle) != nil else {
        Hyp.panic(ctx, "bus_dmamem_free: not DMA memory from bus_dmamem_alloc (or freed twice)")
    }
    let r = Hyp.table.pointee.dma_free!(ctx, seg.pointee.ds_handle)
    if r != HUSK_OK { Hyp.panic(ctx, "bus_dmamem_free: \(Hyp.errorName(r))") }
    seg.pointee = bus_dma_segment_t()
}

@_cdecl("glue_bus_dmamap_create")
public func glue_bus_dmamap_create(
    _ maxsize: UInt64, _ maxaddr: UInt64,
    _ out: UnsafeMutablePointer<bus_dmamap_t?>?
) -> Int32 {
    guard let out, maxsize > 0 else { return HUSK_EINVAL }
    let map = UnsafeMutablePointer<glue_dmamap>.allocate(capacity: 1)
    map.initialize(to: glue_dmamap())
    map.pointee.dm_maxsize = maxsize
    map.pointee.dm_maxaddr = maxaddr
    out.pointee = map
    return HUSK_OK
}

@_cdecl("glue_bus_dmamap_load")
public func glue_bus_dmamap_load(_ map: bus_dmamap_t?, _ buf: UnsafeMutableRawPointer?, _ len: UInt64) -> Int32 {
    guard let map else { Hyp.panic(Hyp.currentOrNil, "bus_dmamap_load(NULL map)") }
    if map.pointee.dm_nsegs != 0 { return HUSK_EBUSY }
    guard let buf, len > 0, len <= map.pointee.dm_maxsize else { return HUSK_EINVAL }
    guard let bus = DMAMemory.shared.translate(cpu: UInt(bitPattern: buf), len: len) else { return HUSK_EINVAL }
    let maxaddr = map.pointee.dm_maxaddr
    if maxaddr != 0 && (bus > maxaddr || len > maxaddr - bus) { return HUSK_EINVAL }
    map.pointee.dm_segs = bus_dma_segment_t(ds_addr: bus, ds_len: len, ds_vaddr: buf, ds_handle: 0, ds_ctx: nil)
    map.pointee.dm_mapsize = len
    map.pointee.dm_nsegs = 1
    return HUSK_OK
}

@_cdecl("glue_bus_dmamap_unload")
public func glue_bus_dmamap_unload(_ map: bus_dmamap_t?) {
    guard let map else { return }
    map.pointee.dm_segs = bus_dma_segment_t()
    map.pointee.dm_mapsize = 0
    map.pointee.dm_nsegs = 0
}

@_cdecl("glue_bus_dmamap_destroy")
public func glue_bus_dmamap_destroy(_ map: bus_dmamap_t?) {
    guard let map else { return }
    map.deinitialize(count: 1)
    map.deallocate()
}
