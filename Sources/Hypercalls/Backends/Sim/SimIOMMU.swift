import Glibc
import HypercallABI
import Hypercalls
import Platform
import SimBackendC

/// A device touched bus memory that no live DMA mapping covers entirely.
/// Devices turn this into their own error state; the host never crashes.
public struct SimDMAFault: Error, Sendable, CustomStringConvertible {
    public let bus: UInt64
    public let length: UInt64
    public var description: String {
        "DMA fault: bus 0x\(String(bus, radix: 16)) length \(length) is not inside one mapping"
    }
}

/// The simulated IOMMU: a DMA (bus) address space separate from CPU
/// addresses, shared by every device of one SimBackend. Buffers are anonymous
/// mmap()ed pages; each gets an I/O virtual address (IOVA) from a first-fit
/// allocator starting at 0x100000 so that a driver that confuses CPU and bus
/// addresses faults instead of working by accident.
///
/// Devices reach memory only through `read`/`write`/`load16`/... here, which
/// copy under the lock: a concurrent `free` from the driver can therefore
/// never unmap memory a device is in the middle of copying (that would crash
/// the host instead of failing the device).
///
/// `@unchecked Sendable`: all mutable state is guarded by `lock`.
public final class SimIOMMU: @unchecked Sendable {
    /// Lowest IOVA handed out; 0 and the first MiB stay unmapped to catch
    /// null and small-integer "addresses".
    public static let iovaBase: UInt64 = 0x10_0000
    /// Width of the simulated IOMMU's input address space (as a 48-bit VT-d).
    public static let iovaLimit: UInt64 = 1 << 48

    private struct Entry {
        var bus: UInt64
        var size: UInt64  // as the driver asked: devices may use exactly this
        var cpu: UnsafeMutableRawPointer
        var mappedBytes: Int  // page-rounded mmap length
    }

    private let lock = Monitor()
    private var entries: [Entry] = []  // sorted by bus, non-overlapping
    private var faultCount = 0
    public let pageSize: Int

    public init() {
        pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    deinit { unmapAll() }

    /// Number of device accesses refused so far.
    public var faults: Int { lock.withLock { faultCount } }
    /// Number of live mappings.
    public var mappingCount: Int { lock.withLock { entries.count } }

    // MARK: allocation (driver side, through HostBackend)

    public func allocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        guard size > 0, UInt64(size) <= (1 << 40) else { throw .inval("dma size \(size)") }
        guard alignment >= 0, alignment & (alignment &- 1) == 0 else {
            throw .inval("dma alignment \(alignment) is not a power of two")
        }
        let align = UInt64(max(alignment, pageSize))
        let mapped = (size + pageSize - 1) / pageSize * pageSize
        let limit = maxBusAddress == 0 ? SimIOMMU.iovaLimit : min(maxBusAddress, SimIOMMU.iovaLimit)

        // CPU addresses get the same alignment as bus addresses: drivers may
        // rely on either (bus_dma aligns both).
        guard let raw = AlignedPages.map(size: mapped, alignment: Int(align)) else {
            throw HypError.fromErrno(errno, "mmap \(mapped) bytes")
        }

        let result: UInt64? = lock.withLock {
            // First fit over the gaps between sorted mappings. IOVA ranges are
            // page-rounded so that two buffers never share a page, as with a
            // real IOMMU.
            var candidate = roundUp(SimIOMMU.iovaBase, align)
            var index = 0
            while true {
                let end = candidate &+ UInt64(mapped)
                guard end > candidate, end <= limit else { return nil }
                if index == entries.count || end <= entries[index].bus {
                    entries.insert(Entry(bus: candidate, size: UInt64(size), cpu: raw, mappedBytes: mapped), at: index)
                    return candidate
                }
                let busy = entries[index]
                let busyEnd = busy.bus + UInt64(busy.mappedBytes)
                if busyEnd > candidate { candidate = roundUp(busyEnd, align) }
                index += 1
            }
        }
        guard let bus = result else {
            munmap(raw, mapped)
            throw HypError(HUSK_ENOMEM, "no free IOVA range of \(mapped) bytes below 0x\(String(limit, radix: 16))")
        }
        return DMAMapping(cpu: raw, bus: bus, size: size)
    }

    public func free(_ mapping: DMAMapping) throws(HypError) {
        let entry: Entry? = lock.withLock {
            guard let i = entries.firstIndex(where: { $0.bus == mapping.bus }),
                entries[i].cpu == mapping.cpu, entries[i].size == UInt64(mapping.size)
            else { return nil }
            return entries.remove(at: i)
        }
        guard let entry else { throw HypError(HUSK_EBADF, "no DMA mapping at bus 0x\(String(mapping.bus, radix: 16))") }
        munmap(entry.cpu, entry.mappedBytes)
    }

    /// Drop every mapping (backend shutdown).
    public func unmapAll() {
        let all = lock.withLock { () -> [Entry] in
            defer { entries.removeAll() }
            return entries
        }
        for e in all { munmap(e.cpu, e.mappedBytes) }
    }

    // MARK: device side

    /// Run `body` on the CPU address of [bus, bus+length) with the lock held,
    /// or count a fault. Lengths of 0 are still checked (the address must be
    /// inside a mapping) so that a device never trusts a wild pointer.
    private func access<T>(
        _ bus: UInt64, _ length: UInt64,
        _ body: (UnsafeMutableRawPointer) -> T
    ) throws(SimDMAFault) -> T {
        lock.lock()
        defer { lock.unlock() }
        // Binary search for the last mapping starting at or below bus.
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entries[mid].bus <= bus { lo = mid + 1 } else { hi = mid }
        }
        if lo > 0 {
            let e = entries[lo - 1]
            let offset = bus - e.bus
            let (end, overflow) = offset.addingReportingOverflow(length)
            if !overflow, end <= e.size, length > 0 || offset < e.size {
                return body(e.cpu + Int(offset))
            }
        }
        faultCount += 1
        throw SimDMAFault(bus: bus, length: length)
    }

    /// Copy device-bound data out of driver memory.
    public func read(bus: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(SimDMAFault) {
        try access(bus, UInt64(buffer.count)) { src in
            if let dst = buffer.baseAddress { dst.copyMemory(from: src, byteCount: buffer.count) }
        }
    }

    /// Copy device-produced data into driver memory.
    public func write(bus: UInt64, from buffer: UnsafeRawBufferPointer) throws(SimDMAFault) {
        try access(bus, UInt64(buffer.count)) { dst in
            if let src = buffer.baseAddress { dst.copyMemory(from: src, byteCount: buffer.count) }
        }
    }

    public func read(bus: UInt64, count: Int) throws(SimDMAFault) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var fault: SimDMAFault?
        out.withUnsafeMutableBytes { b in
            do throws(SimDMAFault) { try read(bus: bus, into: b) } catch { fault = error }
        }
        if let fault { throw fault }
        return out
    }

    /// Little-endian loads for ring structures (any alignment).
    public func load<T: FixedWidthInteger>(_ type: T.Type, bus: UInt64) throws(SimDMAFault) -> T {
        try access(bus, UInt64(MemoryLayout<T>.size)) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    public func store<T: FixedWidthInteger>(_ value: T, bus: UInt64) throws(SimDMAFault) {
        try access(bus, UInt64(MemoryLayout<T>.size)) { $0.storeBytes(of: value.littleEndian, as: T.self) }
    }

    /// A ring index the driver publishes (acquire: entries before it are visible).
    public func loadAcquire16(bus: UInt64) throws(SimDMAFault) -> UInt16 {
        try access(bus, 2) { p in
            UInt16(littleEndian: bus & 1 == 0 ? husk_sim_load_acquire_u16(p) : p.loadUnaligned(as: UInt16.self))
        }
    }

    /// A ring index the device publishes (release: entries before it are visible).
    public func storeRelease16(_ value: UInt16, bus: UInt64) throws(SimDMAFault) {
        try access(bus, 2) { p in
            if bus & 1 == 0 {
                husk_sim_store_release_u16(p, value.littleEndian)
            } else {
                husk_sim_fence()
                p.storeBytes(of: value.littleEndian, as: UInt16.self)
            }
        }
    }
}

@inline(__always)
func roundUp(_ v: UInt64, _ align: UInt64) -> UInt64 {
    let (r, o) = v.addingReportingOverflow(align - 1)
    return o ? UInt64.max & ~(align - 1) : r & ~(align - 1)
}
