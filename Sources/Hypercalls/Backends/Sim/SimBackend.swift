import HypercallABI
import Hypercalls

/// The `sim` backend: simulated PCI devices living in this process, behind a
/// simulated IOMMU, so that driver logic runs under `swift test` without a
/// VM. Devices are "sim:0", "sim:1", ... in the order given. BARs are never
/// mappable (the device must observe every access): drivers use
/// barRead/barWrite. See docs/sim-backend.md.
///
/// Sendable without a lock: every stored property is an immutable reference
/// to a Sendable, internally synchronised object.
public final class SimBackend: HostBackend {
    public let name = "sim"
    public let features: UInt64 =
        HUSK_FEAT_PCI | HUSK_FEAT_IRQ_INTX | HUSK_FEAT_IRQ_MSI
        | HUSK_FEAT_IRQ_MSIX | HUSK_FEAT_DMA | HUSK_FEAT_DMA_IOMMU
    /// The DMA address space all devices of this backend share.
    public let iommu = SimIOMMU()
    /// The devices, typed for test controls (powerCut, stats, ...).
    public let simDevices: [any SimDevice]

    public init(devices: [any SimDevice]) {
        simDevices = devices
        for (i, d) in devices.enumerated() { d.function.attach(index: i, iommu: iommu) }
    }

    /// Devices from spec strings (see SimDeviceSpec), e.g.
    /// `["virtio-blk:size=16M", "edu"]`.
    public convenience init(specs: [String]) throws(HypError) {
        var devices: [any SimDevice] = []
        for spec in specs {
            do { devices.append(try SimDeviceSpec.make(spec)) } catch {
                for d in devices { d.shutdown() }
                throw error
            }
        }
        self.init(devices: devices)
    }

    public var devices: [PCIIdentity] { simDevices.map(\.identity) }

    public func openDevice(index: Int) throws(HypError) -> any HostDevice {
        guard simDevices.indices.contains(index) else {
            throw HypError(HUSK_ENOENT, "no sim device \(index) (\(simDevices.count) configured)")
        }
        let device = simDevices[index]
        try device.open()
        return device
    }

    public func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        try iommu.allocate(size: size, alignment: alignment, maxBusAddress: maxBusAddress)
    }

    public func dmaFree(_ mapping: DMAMapping) throws(HypError) {
        try iommu.free(mapping)
    }

    public func shutdown() {
        for d in simDevices { d.shutdown() }
        iommu.unmapAll()
    }
}
