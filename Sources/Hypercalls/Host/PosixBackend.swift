import Glibc
import HypercallABI
import Platform

/// The embedded default: no devices, DMA memory is ordinary pinned-free
/// memory whose bus address is its CPU address (there is no device to reach
/// it, but components written for DMA buffers run unchanged), block I/O on
/// host files (implemented by the host for every backend).
public final class PosixBackend: HostBackend, @unchecked Sendable {
    // @unchecked: `live` is behind its lock.
    public let name = "posix"
    public let features = UInt64(HUSK_FEAT_DMA)
    private let live = Locked<[UInt: Int]>([:])

    public init() {}

    public func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        guard let p = AlignedPages.map(size: size, alignment: alignment) else { throw HypError.nomem }
        let aligned = UInt(bitPattern: p)
        // Bus address = CPU address here, so an address limit cannot be chosen:
        // refuse rather than hand out memory a device could not reach.
        if maxBusAddress != 0 && UInt64(aligned) + UInt64(size) > maxBusAddress {
            munmap(p, size)
            throw HypError(
                HUSK_ENOMEM, "posix DMA memory is ordinary memory at CPU addresses: none below 0x\(String(maxBusAddress, radix: 16))")
        }
        live.withLock { $0[UInt(bitPattern: p)] = size }
        return DMAMapping(cpu: p, bus: UInt64(aligned), size: size)
    }

    public func dmaFree(_ mapping: DMAMapping) throws(HypError) {
        guard let size = live.withLock({ $0.removeValue(forKey: UInt(bitPattern: mapping.cpu)) }) else { throw HypError.badf }
        munmap(mapping.cpu, size)
    }
}
