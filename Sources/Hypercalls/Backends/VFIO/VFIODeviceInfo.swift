import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PCIHostSupport

/// What a VFIO device descriptor reports: flags, where config space and the
/// BARs are in the descriptor's offset space, and the interrupts offered.
struct VFIODeviceInfo: Sendable {
    struct Region: Sendable {
        var offset: UInt64
        var size: UInt64
        var flags: UInt32
    }

    var resettable: Bool
    var config: Region
    var bars: [Region]  // 6 entries; size 0 when not implemented
    var barInfo: [BARInfo]  // 6 entries, HUSK_BAR_* flags
    var interrupts: [UInt32: UInt32]  // HUSK_IRQ_* kind -> vectors
    var hasReleaseRequest: Bool

    init(fd: Int32, bdf: String) throws(HypError) {
        var info = vfio_device_info()
        info.argsz = UInt32(MemoryLayout<vfio_device_info>.size)
        if husk_ioctl_ptr(fd, husk_vfio_req_device_get_info(), &info) < 0 {
            let e = errno
            throw HypError.fromErrno(e, "VFIO_DEVICE_GET_INFO(\(bdf)): \(errnoString(e))")
        }
        guard info.flags & UInt32(VFIO_DEVICE_FLAGS_PCI) != 0 else {
            throw HypError(HUSK_ENODEV, "\(bdf) is not a vfio-pci device")
        }
        resettable = info.flags & UInt32(VFIO_DEVICE_FLAGS_RESET) != 0
        config = try Self.region(fd: fd, index: husk_vfio_pci_config_region_index(), bdf: bdf)
        guard config.size >= 64 else { throw HypError.io("\(bdf): VFIO config region of \(config.size) bytes") }
        var bars: [Region] = []
        var barInfo: [BARInfo] = []
        for i in 0..<6 {
            let r = (try? Self.region(fd: fd, index: UInt32(i), bdf: bdf)) ?? Region(offset: 0, size: 0, flags: 0)
            bars.append(r)
            guard r.size > 0 else {
                barInfo.append(.absent)
                continue
            }
            let reg = (try? RegionIO.read(fd: fd, offset: config.offset + 0x10 + UInt64(4 * i), width: 4, what: bdf)) ?? 0
            var flags = PCISysfs.barKindFlags(register: UInt32(truncatingIfNeeded: reg))
            if flags & UInt32(HUSK_BAR_MMIO) != 0 && r.flags & UInt32(VFIO_REGION_INFO_FLAG_MMAP) != 0 {
                flags |= UInt32(HUSK_BAR_MAPPABLE)
            }
            barInfo.append(BARInfo(size: r.size, flags: flags))
        }
        self.bars = bars
        self.barInfo = barInfo
        interrupts = VFIOIRQ.available(fd: fd)
        hasReleaseRequest = info.num_irqs > VFIOIRQ.requestIndex && VFIOIRQ.count(fd: fd, index: VFIOIRQ.requestIndex) > 0
    }

    private static func region(fd: Int32, index: UInt32, bdf: String) throws(HypError) -> Region {
        var r = vfio_region_info()
        r.argsz = UInt32(MemoryLayout<vfio_region_info>.size)
        r.index = index
        if husk_ioctl_ptr(fd, husk_vfio_req_device_get_region_info(), &r) < 0 {
            let e = errno
            throw HypError.fromErrno(e, "VFIO_DEVICE_GET_REGION_INFO(\(bdf), region \(index)): \(errnoString(e))")
        }
        return Region(offset: r.offset, size: r.size, flags: r.flags)
    }
}
