import Glibc
import HypercallABI

/// Memory and DMA memory operations of the table.
extension HypercallHost {
    static let maxAllocation: UInt64 = 1 << 40

    static func fillMemory(_ t: UnsafeMutablePointer<husk_hyp>) {
        t.pointee.mem_alloc = { ctx, size, align, out in
            guard let out else { return HUSK_EFAULT }
            let align = align == 0 ? 16 : align
            guard size > 0, size <= HypercallHost.maxAllocation, align & (align - 1) == 0, align <= 1 << 30 else { return HUSK_EINVAL }
            var p: UnsafeMutableRawPointer?
            // posix_memalign needs at least pointer alignment.
            guard posix_memalign(&p, Int(max(align, 8)), Int(size)) == 0, let p else { return HUSK_ENOMEM }
            let host = HypercallHost.host(ctx)
            let owner = ComponentContext.from(ctx)
            host.memory.withLock { $0[UInt(bitPattern: p)] = MemoryBlock(size: size, ctx: owner) }
            owner?.account(bytes: Int(size))
            out.pointee = p
            return HUSK_OK
        }
        t.pointee.mem_free = { ctx, ptr, size in
            guard let ptr else { return HUSK_EINVAL }
            let host = HypercallHost.host(ctx)
            let block: MemoryBlock? = host.memory.withLock { m in
                guard let b = m[UInt(bitPattern: ptr)], b.size == size else { return nil }
                m.removeValue(forKey: UInt(bitPattern: ptr))
                return b
            }
            guard let block else { return HUSK_EINVAL }
            block.ctx?.account(bytes: -Int(size))
            Glibc.free(ptr)
            return HUSK_OK
        }
        t.pointee.page_size = { _ in UInt64(sysconf(Int32(_SC_PAGESIZE))) }
        t.pointee.page_map = { ctx, size, prot, out in
            guard let out else { return HUSK_EFAULT }
            let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
            guard size > 0, size <= HypercallHost.maxAllocation, size % page == 0,
                prot & ~UInt32(HUSK_PROT_READ | HUSK_PROT_WRITE) == 0
            else { return HUSK_EINVAL }
            var p: Int32 = PROT_NONE
            if prot & UInt32(HUSK_PROT_READ) != 0 { p |= PROT_READ }
            if prot & UInt32(HUSK_PROT_WRITE) != 0 { p |= PROT_WRITE }
            guard let m = mmap(nil, Int(size), p, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), m != MAP_FAILED else {
                return HUSK_ENOMEM
            }
            let owner = ComponentContext.from(ctx)
            HypercallHost.host(ctx).mappings.withLock { $0[UInt(bitPattern: m)] = MemoryBlock(size: size, ctx: owner) }
            out.pointee = m
            return HUSK_OK
        }
        t.pointee.page_unmap = { ctx, addr, size in
            guard let addr else { return HUSK_EINVAL }
            let ok = HypercallHost.host(ctx).mappings.withLock { m -> Bool in
                guard let b = m[UInt(bitPattern: addr)], b.size == size else { return false }
                m.removeValue(forKey: UInt(bitPattern: addr))
                return true
            }
            guard ok else { return HUSK_EINVAL }
            munmap(addr, Int(size))
            return HUSK_OK
        }
        t.pointee.dma_alloc = { ctx, size, align, maxBus, out in
            guard let out else { return HUSK_EFAULT }
            let host = HypercallHost.host(ctx)
            guard host.backend.features & UInt64(HUSK_FEAT_DMA) != 0 else { return HUSK_ENODEV }
            let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
            guard size > 0, size <= HypercallHost.maxAllocation, align & (align &- 1) == 0, align <= 1 << 30 else { return HUSK_EINVAL }
            let align = max(align, page)
            let rounded = (size + page - 1) / page * page
            do throws(HypError) {
                let m = try host.backend.dmaAllocate(size: Int(rounded), alignment: Int(align), maxBusAddress: maxBus)
                let owner = ComponentContext.from(ctx)
                let h = host.dma.insert(DMABlock(mapping: m, ctx: owner))
                owner?.account(dmaBytes: m.size)
                out.pointee = husk_dma_buf(handle: h, cpu: m.cpu, bus: m.bus, size: size)
                return HUSK_OK
            } catch {
                if !error.detail.isEmpty {
                    HostLog.write(level: UInt32(HUSK_LOG_DEBUG), component: ComponentContext.name(of: ctx), "dma_alloc: \(error)")
                }
                return error.code
            }
        }
        t.pointee.dma_free = { ctx, handle in
            let host = HypercallHost.host(ctx)
            guard let block = host.dma.remove(handle) else { return HUSK_EBADF }
            block.ctx?.account(dmaBytes: -block.mapping.size)
            do throws(HypError) { try host.backend.dmaFree(block.mapping) } catch { return error.code }
            return HUSK_OK
        }
    }
}
