import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import Synchronization

/// Owner of a memory mapping: unmapped exactly once, when dropped.
struct MemoryMapping: ~Copyable, @unchecked Sendable {
    // @unchecked: an address range, not shared state; whoever uses the
    // memory synchronises access to it.
    let base: UnsafeMutableRawPointer
    let length: Int
    deinit { munmap(base, length) }
}

/// The uio backend's DMA memory: 2 MiB huge pages, populated, locked and
/// translated to physical addresses once. Buffers are carved out of one huge
/// page (physically contiguous within it), or out of a run of consecutive
/// pages that happen to be physically contiguous too. Bus address = physical.
final class HugePagePool: @unchecked Sendable {
    // @unchecked: the mapping and the page table are immutable after init;
    // the allocator and the table of buffers are inside `state`, a Mutex.
    static let hugePageSize = 2 << 20

    let mapping: MemoryMapping
    /// Physical address of each huge page, in virtual order.
    let physical: [UInt64]
    private let runs: [Run]
    private let state: Mutex<State>

    /// Huge pages contiguous both virtually and physically.
    private struct Run {
        var cpu: UnsafeMutableRawPointer
        var phys: UInt64
        var length: UInt64
    }
    private struct State {
        var allocator: IOVAAllocator
        var buffers: [UInt64: DMAMapping] = [:]  // by physical address; size = reserved length
    }

    init(pages: Int) throws(HypError) {
        guard pages > 0 else { throw HypError.inval("a DMA pool needs at least one huge page") }
        let length = pages * Self.hugePageSize
        let mapHuge2MB: Int32 = 21 << 26  // MAP_HUGE_2MB: log2(2 MiB) << MAP_HUGE_SHIFT
        // Shared, so a fork never copy-on-writes a page a device writes to.
        let flags = MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | mapHuge2MB | MAP_POPULATE
        guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0),
            base != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            let e = errno
            throw HypError(
                HUSK_ENOMEM,
                "cannot get \(pages) free 2 MiB huge pages for the DMA pool (\(errnoString(e))): reserve some with: echo 64 > /proc/sys/vm/nr_hugepages (HugePages_Free in /proc/meminfo shows what is left)"
            )
        }
        mapping = MemoryMapping(base: base, length: length)
        _ = madvise(base, length, MADV_DONTFORK)
        try Self.lock(base, length)
        // Touch every page (MAP_POPULATE should have) so each is resident.
        for i in 0..<pages { base.storeBytes(of: 0, toByteOffset: i * Self.hugePageSize, as: UInt8.self) }
        physical = try Pagemap.physicalAddresses(of: (0..<pages).map { UnsafeRawPointer(base + $0 * Self.hugePageSize) })
        for (i, p) in physical.enumerated() where p % UInt64(Self.hugePageSize) != 0 {
            throw HypError.io("huge page \(i) of the DMA pool is at physical 0x\(String(p, radix: 16)), not 2 MiB aligned")
        }
        var runs: [Run] = []
        for (i, p) in physical.enumerated() {
            if let last = runs.last, last.phys + last.length == p {
                runs[runs.count - 1].length += UInt64(Self.hugePageSize)
            } else {
                runs.append(Run(cpu: base + i * Self.hugePageSize, phys: p, length: UInt64(Self.hugePageSize)))
            }
        }
        self.runs = runs
        let spans = runs.map { IOVAAllocator.Span(first: $0.phys, last: $0.phys + $0.length - 1) }
        state = Mutex(State(allocator: IOVAAllocator(usable: spans, granule: UInt64(hostPageSize), reserveBelow: 1)))
    }

    /// mlock the pool, raising RLIMIT_MEMLOCK first if that is allowed.
    private static func lock(_ base: UnsafeMutableRawPointer, _ length: Int) throws(HypError) {
        let resource = __rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue)
        var rl = rlimit()
        if getrlimit(resource, &rl) == 0, rl.rlim_cur != rlim_t.max, rl.rlim_cur < rlim_t(length) * 2 {
            var raised = rl
            raised.rlim_cur = rl.rlim_max == rlim_t.max ? rlim_t(length) * 2 : min(rl.rlim_max, max(rl.rlim_cur, rlim_t(length) * 2))
            if setrlimit(resource, &raised) != 0 {
                raised.rlim_cur = rl.rlim_max  // as far as we may go unprivileged
                _ = setrlimit(resource, &raised)
            }
        }
        if mlock(base, length) != 0 {
            let e = errno
            throw HypError(
                e == EPERM ? HUSK_EPERM : HUSK_ENOMEM,
                "mlock of the \(length >> 20) MiB DMA pool failed (\(errnoString(e))): raise the locked-memory limit (ulimit -l) or run as root"
            )
        }
    }

    var totalBytes: Int { mapping.length }

    func allocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        guard size > 0 else { throw HypError.inval("DMA size 0") }
        let got: DMAMapping? = state.withLock { s in
            guard let phys = s.allocator.allocate(size: UInt64(size), alignment: UInt64(alignment), limit: maxBusAddress),
                let run = runs.first(where: { phys >= $0.phys && phys < $0.phys + $0.length })
            else { return nil }
            let m = DMAMapping(cpu: run.cpu + Int(phys - run.phys), bus: phys, size: size)
            let reserved = (size + hostPageSize - 1) / hostPageSize * hostPageSize
            s.buffers[phys] = DMAMapping(cpu: m.cpu, bus: phys, size: reserved)
            return m
        }
        guard let got else {
            let largest = runs.map(\.length).max() ?? 0
            let why =
                UInt64(size) > largest
                ? "larger than the largest physically contiguous run of the pool (\(largest >> 20) MiB): uio can only give buffers up to one 2 MiB huge page unless consecutive pages happen to be contiguous"
                : "the pool (\(totalBytes >> 20) MiB) has no free range of that size and alignment\(maxBusAddress == 0 ? "" : " below 0x\(String(maxBusAddress, radix: 16))"); start the uio backend with more huge pages"
            throw HypError(HUSK_ENOMEM, "DMA allocation of \(size) bytes: \(why)")
        }
        memset(got.cpu, 0, (size + hostPageSize - 1) / hostPageSize * hostPageSize)
        return got
    }

    func free(_ mapping: DMAMapping) throws(HypError) {
        let ok = state.withLock { s -> Bool in
            guard let b = s.buffers[mapping.bus], b.cpu == mapping.cpu else { return false }
            s.buffers[mapping.bus] = nil
            s.allocator.release(mapping.bus)
            return true
        }
        if !ok { throw HypError(HUSK_EBADF, "no DMA buffer at bus address 0x\(String(mapping.bus, radix: 16))") }
    }
}
