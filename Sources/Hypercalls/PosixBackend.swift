import Glibc
import HypercallABI

/// The embedded default: no devices, DMA memory is ordinary pinned-free
/// memory whose bus address is its CPU address (there is no device to reach
/// it, but components written for DMA buffers run unchanged), block I/O on
/// host files (implemented by the host for every backend).
public final class PosixBackend: HostBackend, @unchecked Sendable {
    // @unchecked: `live` is behind its lock.
    public let name = "posix"
    public let features = UInt64(HUSK_FEAT_DMA)
    private let live = LockedValue<[UInt: Int]>([:])

    public init() {}

    public func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        // Over-map by the alignment and trim both ends, so any power-of-two
        // alignment can be honoured with plain mmap.
        let slack = alignment > 4096 ? alignment : 0
        guard let raw = mmap(nil, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            throw HypError.nomem
        }
        let base = UInt(bitPattern: raw)
        let aligned = (base + UInt(alignment) - 1) & ~(UInt(alignment) - 1)
        if aligned > base { munmap(raw, Int(aligned - base)) }
        let tail = base + UInt(size + slack) - (aligned + UInt(size))
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: aligned + UInt(size)), Int(tail)) }
        let p = UnsafeMutableRawPointer(bitPattern: aligned)!
        // Bus address = CPU address here, so an address limit cannot be chosen:
        // refuse rather than hand out memory a device could not reach.
        if maxBusAddress != 0 && UInt64(aligned) + UInt64(size) > maxBusAddress {
            munmap(p, size)
            throw HypError(HUSK_ENOMEM, "posix DMA memory is ordinary memory at CPU addresses: none below 0x\(String(maxBusAddress, radix: 16))")
        }
        live.withLock { $0[UInt(bitPattern: p)] = size }
        return DMAMapping(cpu: p, bus: UInt64(aligned), size: size)
    }

    public func dmaFree(_ mapping: DMAMapping) throws(HypError) {
        guard let size = live.withLock({ $0.removeValue(forKey: UInt(bitPattern: mapping.cpu)) }) else { throw HypError.badf }
        munmap(mapping.cpu, size)
    }
}
