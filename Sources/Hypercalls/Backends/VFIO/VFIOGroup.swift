import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PCIHostSupport

/// An IOMMU group (/dev/vfio/N): the unit VFIO isolates, attached to the
/// backend's container. Closing it (deinit) detaches it.
final class VFIOGroup: Sendable {
    let number: Int
    let fd: FD

    /// Open /dev/vfio/N for the group of `bdf`.
    init(number: Int, for bdf: String) throws(HypError) {
        self.number = number
        let path = "/dev/vfio/\(number)"
        do {
            fd = try FD(path: path, flags: O_RDWR)
        } catch {
            switch error.errno {
            case ENOENT, ENODEV, ENXIO:
                throw HypError(
                    HUSK_ENODEV,
                    "no \(path) for \(bdf) (IOMMU group \(number)): is vfio-pci loaded and the device bound? \(PCISysfs.bindCommands(bdf, driver: "vfio-pci", module: "vfio-pci"))"
                )
            case EACCES, EPERM:
                throw HypError(
                    HUSK_EACCES,
                    "permission denied on \(path) (IOMMU group \(number) of \(bdf)): run as root or give the user the group: chown USER \(path), and raise its locked-memory limit (ulimit -l) for DMA"
                )
            case EBUSY:
                throw HypError(
                    HUSK_EBUSY,
                    "\(path) (IOMMU group \(number) of \(bdf)) is already open in another process, such as another husk server or QEMU")
            default:
                throw HypError.fromErrno(error.errno, "open \(path): \(error.message)")
            }
        }
    }

    /// EBUSY unless every device of the group is bound to vfio-pci or to no
    /// driver; the message lists the ones that are not.
    func requireViable() throws(HypError) {
        var status = vfio_group_status()
        status.argsz = UInt32(MemoryLayout<vfio_group_status>.size)
        if husk_ioctl_ptr(fd.raw, husk_vfio_req_group_get_status(), &status) < 0 {
            let e = errno
            throw HypError.fromErrno(e, "VFIO_GROUP_GET_STATUS on group \(number): \(errnoString(e))")
        }
        if status.flags & UInt32(VFIO_GROUP_FLAGS_VIABLE) != 0 { return }
        let dir = "/sys/kernel/iommu_groups/\(number)/devices"
        let others = listDirectory(dir).compactMap { bdf -> String? in
            guard let d = PCISysfs.driver(bdf), d != "vfio-pci" else { return nil }
            return "\(bdf) (bound to \(d))"
        }
        let list = others.isEmpty ? "see \(dir)" : others.joined(separator: ", ")
        throw HypError(
            HUSK_EBUSY,
            "IOMMU group \(number) is not viable: every device in \(dir) must be bound to vfio-pci or unbound; these are not: \(list). Bind each to vfio-pci (echo vfio-pci > /sys/bus/pci/devices/BDF/driver_override; echo BDF > /sys/bus/pci/devices/BDF/driver/unbind; echo BDF > /sys/bus/pci/drivers_probe)"
        )
    }

    func attach(to container: VFIOContainer) throws(HypError) {
        var cfd = container.fd.raw
        if husk_ioctl_ptr(fd.raw, husk_vfio_req_group_set_container(), &cfd) < 0 {
            let e = errno
            throw HypError.fromErrno(e, "VFIO_GROUP_SET_CONTAINER for group \(number): \(errnoString(e))")
        }
    }

    /// A device descriptor for `bdf`, a member of this group.
    func openDevice(_ bdf: String) throws(HypError) -> FD {
        let r = bdf.withCString { name in
            husk_ioctl_ptr(fd.raw, husk_vfio_req_group_get_device_fd(), UnsafeMutableRawPointer(mutating: name))
        }
        if r < 0 {
            let e = errno
            if e == EBUSY {
                throw HypError(HUSK_EBUSY, "\(bdf) is already open through VFIO (another process or a previous open)")
            }
            throw HypError.fromErrno(e, "VFIO_GROUP_GET_DEVICE_FD(\(bdf)) on group \(number): \(errnoString(e))")
        }
        return FD(adopting: r)
    }
}
