import Glibc
import HypercallABI
import Hypercalls
import PCIHostSupport
import Synchronization

/// The `uio` backend, the fallback when there is no IOMMU: PCI functions
/// bound to uio_pci_generic, INTx only, DMA from a pinned pool of huge pages
/// whose physical addresses the devices use directly. Needs root.
public final class UIOBackend: HostBackend, @unchecked Sendable {
    // @unchecked: the pool guards its own state; which devices are open lives
    // in `open`, a Mutex; everything else is immutable.
    public let name = "uio"
    public let features: UInt64
    public let devices: [PCIIdentity]

    private let uioNodes: [String]
    private let pool: HugePagePool?
    private let open = Mutex<Set<Int>>([])

    /// Claim the PCI functions at `addresses` and reserve `hugepages` 2 MiB
    /// pages of DMA memory (0: no DMA). Do this before any privilege drop:
    /// translating the pool through /proc/self/pagemap needs CAP_SYS_ADMIN.
    public init(addresses: [String], hugepages: Int = 8) throws(HypError) {
        guard !addresses.isEmpty else {
            throw HypError.inval("the uio backend needs at least one PCI address, such as 0000:00:03.0")
        }
        guard hugepages >= 0 else { throw HypError.inval("hugepages must be >= 0") }
        var bdfs: [String] = []
        for a in addresses {
            let bdf = try PCISysfs.normalize(a)
            guard !bdfs.contains(bdf) else { throw HypError.inval("PCI address \(bdf) given twice") }
            bdfs.append(bdf)
        }
        var nodes: [String] = []
        for bdf in bdfs {
            try PCISysfs.requireDevice(bdf)
            try PCISysfs.requireDriver(bdf, driver: "uio_pci_generic", module: "uio_pci_generic")
            guard let node = listDirectory(PCISysfs.path(bdf, "uio")).first(where: { $0.hasPrefix("uio") }) else {
                throw HypError(
                    HUSK_ENODEV,
                    "\(bdf) is bound to uio_pci_generic but has no uio node in \(PCISysfs.path(bdf, "uio")); uio_pci_generic refuses functions without INTx"
                )
            }
            guard fileExists("/dev/\(node)") else {
                throw HypError(
                    HUSK_ENODEV,
                    "no /dev/\(node) for \(bdf): mount devtmpfs on /dev (mount -t devtmpfs none /dev) or create it with mknod using /sys/class/uio/\(node)/dev"
                )
            }
            nodes.append(node)
        }
        pool = hugepages > 0 ? try HugePagePool(pages: hugepages) : nil
        uioNodes = nodes
        devices = bdfs.map(PCISysfs.identity)
        var f = UInt64(HUSK_FEAT_PCI | HUSK_FEAT_BAR_MAP | HUSK_FEAT_IRQ_INTX)
        if pool != nil { f |= UInt64(HUSK_FEAT_DMA) }
        features = f
    }

    public func dmaAllocate(size: Int, alignment: Int, maxBusAddress: UInt64) throws(HypError) -> DMAMapping {
        guard let pool else { throw HypError.nodev("the uio backend was started without huge pages, so it has no DMA memory") }
        return try pool.allocate(size: size, alignment: alignment, maxBusAddress: maxBusAddress)
    }

    public func dmaFree(_ mapping: DMAMapping) throws(HypError) {
        guard let pool else { throw HypError.badf }
        try pool.free(mapping)
    }

    public func openDevice(index: Int) throws(HypError) -> any HostDevice {
        guard devices.indices.contains(index) else {
            throw HypError(HUSK_ENOENT, "no device \(index) (the uio backend has \(devices.count))")
        }
        guard open.withLock({ $0.insert(index).inserted }) else {
            throw HypError(HUSK_EBUSY, "\(devices[index].address) is already open")
        }
        do {
            return try UIODevice(
                identity: devices[index], uioNode: uioNodes[index],
                onClose: { [weak self] in _ = self?.open.withLock { $0.remove(index) } })
        } catch {
            _ = open.withLock { $0.remove(index) }
            throw error
        }
    }
}
