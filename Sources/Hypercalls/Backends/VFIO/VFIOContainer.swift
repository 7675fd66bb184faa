import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PCIHostSupport
import Synchronization

/// The VFIO container (/dev/vfio/vfio): one IOMMU address space shared by
/// every device of the backend, and the DMA buffers mapped into it.
final class VFIOContainer: @unchecked Sendable {
    // @unchecked: `fd` is immutable after init and the kernel serialises
    // ioctls on it; all mutable state (the IOVA allocator and the table of
    // mapped buffers) is inside `dma`, a Mutex. Raw pointers in that table
    // are the reason the class is not implicitly Sendable.
    static let devicePath = "/dev/vfio/vfio"

    let fd: FD
    private(set) var iommuType: Int32 = 0  // written once, in setIOMMU, before the container is shared
    private let dma = Mutex(DMAState())

    private struct DMAState {
        var iova: IOVAAllocator?
        var buffers: [UInt64: DMAMapping] = [:]  // by IOVA; size = mapped length
    }

    init() throws(HypError) {
        do {
            fd = try FD(path: Self.devicePath, flags: O_RDWR)
        } catch {
            switch error.errno {
            case ENOENT, ENODEV, ENXIO:
                throw HypError(HUSK_ENODEV, "no \(Self.devicePath): load vfio-pci: modprobe vfio-pci")
            case EACCES, EPERM:
                throw HypError(HUSK_EACCES, "permission denied on \(Self.devicePath): run as root, or give the user access to /dev/vfio")
            default:
                throw HypError.fromErrno(error.errno, "open \(Self.devicePath): \(error.message)")
            }
        }
        let version = husk_ioctl_int(fd.raw, husk_vfio_req_get_api_version(), 0)
        guard version == VFIO_API_VERSION else {
            throw HypError(HUSK_ENODEV, "\(Self.devicePath) speaks VFIO API version \(version), Husk needs \(VFIO_API_VERSION)")
        }
        guard supports(VFIO_TYPE1v2_IOMMU) || supports(VFIO_TYPE1_IOMMU) else {
            throw HypError(HUSK_ENODEV, "the VFIO container offers no type1 IOMMU: modprobe vfio_iommu_type1")
        }
    }

    private func supports(_ ext: Int32) -> Bool {
        husk_ioctl_int(fd.raw, husk_vfio_req_check_extension(), UInt(ext)) > 0
    }

    /// Choose the IOMMU model (after the first group joined) and prepare the
    /// IOVA allocator from the ranges the kernel reports.
    func setIOMMU() throws(HypError) {
        let type = supports(VFIO_TYPE1v2_IOMMU) ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU
        if husk_ioctl_int(fd.raw, husk_vfio_req_set_iommu(), UInt(type)) < 0 {
            let e = errno
            throw HypError.fromErrno(e, "VFIO_SET_IOMMU(type1\(type == VFIO_TYPE1v2_IOMMU ? "v2" : "")): \(errnoString(e))")
        }
        iommuType = type
        let allocator = makeAllocator()
        dma.withLock { $0.iova = allocator }
    }

    /// Usable IOVA ranges from VFIO_IOMMU_GET_INFO, or a conservative default
    /// (39-bit address space, the x86 MSI window left out) when the kernel
    /// reports none.
    private func makeAllocator() -> IOVAAllocator {
        var pgsizes: UInt64 = 0
        var starts = [UInt64](repeating: 0, count: 32)
        var ends = [UInt64](repeating: 0, count: 32)
        let n = husk_vfio_iommu_info(fd.raw, &pgsizes, &starts, &ends, 32)
        let page = UInt64(hostPageSize)
        // The smallest IOMMU page, but never less than a CPU page.
        let granule = max(page, pgsizes == 0 ? page : pgsizes & (~pgsizes &+ 1))
        var usable: [IOVAAllocator.Span] = []
        if n > 0 {
            for i in 0..<Int(min(n, 32)) where starts[i] <= ends[i] {
                usable.append(.init(first: starts[i], last: ends[i]))
            }
        }
        if usable.isEmpty {
            usable = [.init(first: 0, last: 0xfedf_ffff), .init(first: 0xfef0_0000, last: (1 << 39) - 1)]
        }
        return IOVAAllocator(usable: usable, granule: granule)
    }

    /// Zeroed anonymous memory mapped for device read/write at a fresh IOVA.
    func allocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        guard size > 0 else { throw HypError.inval("DMA size 0") }
        guard dma.withLock({ $0.iova != nil }) else {
            throw HypError(HUSK_ENODEV, "the VFIO container has no IOMMU set up (no group attached)")
        }
        let page = hostPageSize
        let length = (size + page - 1) / page * page
        // The CPU address gets the alignment asked for too (drivers may rely on it).
        guard let cpu = AlignedPages.map(size: length, alignment: alignment) else {
            throw HypError(HUSK_ENOMEM, "mmap of \(length) bytes for DMA failed: \(errnoString(errno))")
        }
        // A fork must not copy-on-write the pages the IOMMU has pinned.
        _ = madvise(cpu, length, MADV_DONTFORK)
        let iova: UInt64? = dma.withLock { state in
            state.iova?.allocate(size: UInt64(length), alignment: UInt64(alignment), limit: maxBusAddress)
        }
        guard let iova else {
            munmap(cpu, length)
            let below = maxBusAddress == 0 ? "" : " below 0x\(String(maxBusAddress, radix: 16))"
            throw HypError(HUSK_ENOMEM, "no free IOVA range of \(length) bytes aligned to \(alignment)\(below)")
        }
        let r = husk_vfio_map_dma(fd.raw, UInt64(UInt(bitPattern: cpu)), iova, UInt64(length))
        if r < 0 {
            dma.withLock { _ = $0.iova?.release(iova) }
            munmap(cpu, length)
            let hint = -r == ENOMEM ? " (pinned DMA memory counts against RLIMIT_MEMLOCK: raise ulimit -l)" : ""
            throw HypError.fromErrno(
                -r, "VFIO_IOMMU_MAP_DMA of \(length) bytes at IOVA 0x\(String(iova, radix: 16)): \(errnoString(-r))\(hint)")
        }
        dma.withLock { $0.buffers[iova] = DMAMapping(cpu: cpu, bus: iova, size: length) }
        return DMAMapping(cpu: cpu, bus: iova, size: size)
    }

    func free(_ mapping: DMAMapping) throws(HypError) {
        let entry: DMAMapping? = dma.withLock { state in
            guard let e = state.buffers[mapping.bus], e.cpu == mapping.cpu else { return nil }
            state.buffers[mapping.bus] = nil
            return e
        }
        guard let entry else { throw HypError(HUSK_EBADF, "no DMA buffer at IOVA 0x\(String(mapping.bus, radix: 16))") }
        let r = husk_vfio_unmap_dma(fd.raw, mapping.bus, UInt64(entry.size))
        dma.withLock { _ = $0.iova?.release(mapping.bus) }
        munmap(entry.cpu, entry.size)
        if r < 0 { throw HypError.fromErrno(-r, "VFIO_IOMMU_UNMAP_DMA: \(errnoString(-r))") }
    }

    /// Unmap and free every buffer (backend shutdown).
    func freeAll() {
        let all = dma.withLock { state in
            let b = state.buffers
            state.buffers = [:]
            for iova in b.keys { _ = state.iova?.release(iova) }
            return b
        }
        for (iova, e) in all {
            _ = husk_vfio_unmap_dma(fd.raw, iova, UInt64(e.size))
            munmap(e.cpu, e.size)
        }
    }
}
