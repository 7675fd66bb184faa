import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import Synchronization

/// The `vfio` backend: PCI functions bound to vfio-pci, passed through with
/// an IOMMU. All devices share one container, so one DMA buffer is reachable
/// by all of them at the same IOVA.
public final class VFIOBackend: HostBackend, @unchecked Sendable {
    // @unchecked: the container and groups are immutable references (the
    // container guards its own DMA state); which devices are open lives in
    // `open`, a Mutex.
    public let name = "vfio"
    public let features: UInt64
    public let devices: [PCIIdentity]

    private let container: VFIOContainer
    private let groups: [VFIOGroup]
    private let groupOfDevice: [Int]  // device index -> index into groups
    private let open = Mutex<[Int: Bool]>([:])

    /// Claim the PCI functions at `addresses` ("0000:00:03.0" or "00:03.0").
    /// Every check names the device and says how to fix what is wrong.
    public init(addresses: [String]) throws(HypError) {
        guard !addresses.isEmpty else {
            throw HypError.inval("the vfio backend needs at least one PCI address, such as 0000:00:03.0")
        }
        var bdfs: [String] = []
        for a in addresses {
            let bdf = try PCISysfs.normalize(a)
            guard !bdfs.contains(bdf) else { throw HypError.inval("PCI address \(bdf) given twice") }
            bdfs.append(bdf)
        }
        // Sysfs checks first: they give the most specific messages.
        var groupNumbers: [Int] = []
        for bdf in bdfs {
            try PCISysfs.requireDevice(bdf)
            guard let g = PCISysfs.iommuGroup(bdf) else {
                throw HypError(
                    HUSK_ENODEV,
                    "PCI device \(bdf) has no IOMMU group: the IOMMU is off. Boot with intel_iommu=on (amd_iommu=on on AMD); in a VM, give it a virtual IOMMU (libvirt: <iommu model='intel'/> on q35)"
                )
            }
            try PCISysfs.requireDriver(bdf, driver: "vfio-pci", module: "vfio-pci")
            groupNumbers.append(g)
        }
        let container = try VFIOContainer()
        var groups: [VFIOGroup] = []
        var groupOfDevice: [Int] = []
        for (bdf, number) in zip(bdfs, groupNumbers) {
            if let i = groups.firstIndex(where: { $0.number == number }) {
                groupOfDevice.append(i)
                continue
            }
            let group = try VFIOGroup(number: number, for: bdf)
            try group.requireViable()
            try group.attach(to: container)
            if groups.isEmpty { try container.setIOMMU() }
            groupOfDevice.append(groups.count)
            groups.append(group)
        }
        // Probe each device once (descriptor opened and closed again) for
        // the interrupt kinds and the release request.
        var features = UInt64(HUSK_FEAT_PCI | HUSK_FEAT_BAR_MAP | HUSK_FEAT_DMA | HUSK_FEAT_DMA_IOMMU)
        for (i, bdf) in bdfs.enumerated() {
            let fd = try groups[groupOfDevice[i]].openDevice(bdf)
            let info = try VFIODeviceInfo(fd: fd.raw, bdf: bdf)
            if info.interrupts[UInt32(HUSK_IRQ_INTX)] != nil { features |= UInt64(HUSK_FEAT_IRQ_INTX) }
            if info.interrupts[UInt32(HUSK_IRQ_MSI)] != nil { features |= UInt64(HUSK_FEAT_IRQ_MSI) }
            if info.interrupts[UInt32(HUSK_IRQ_MSIX)] != nil { features |= UInt64(HUSK_FEAT_IRQ_MSIX) }
            if info.hasReleaseRequest { features |= UInt64(HUSK_FEAT_DEV_RELEASE) }
        }
        self.container = container
        self.groups = groups
        self.groupOfDevice = groupOfDevice
        self.devices = bdfs.map(PCISysfs.identity)
        self.features = features
    }

    public func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        try container.allocate(size: size, alignment: alignment, maxBusAddress: maxBusAddress)
    }

    public func dmaFree(_ mapping: DMAMapping) throws(HypError) {
        try container.free(mapping)
    }

    public func openDevice(index: Int) throws(HypError) -> any HostDevice {
        guard devices.indices.contains(index) else {
            throw HypError(HUSK_ENOENT, "no device \(index) (the vfio backend has \(devices.count))")
        }
        let claimed = open.withLock { o -> Bool in
            if o[index] == true { return false }
            o[index] = true
            return true
        }
        guard claimed else { throw HypError(HUSK_EBUSY, "\(devices[index].address) is already open") }
        do {
            return try VFIODevice(
                bdf: devices[index].address, identity: devices[index],
                group: groups[groupOfDevice[index]],
                onClose: { [weak self] in self?.open.withLock { $0[index] = nil } })
        } catch {
            open.withLock { $0[index] = nil }
            throw error
        }
    }

    public func shutdown() {
        container.freeAll()
    }
}
