import Glibc
import HypercallABI
import Hypercalls
import PCIHostC
import PCIHostSupport

/// VFIO interrupt indices, VFIO_DEVICE_GET_IRQ_INFO and VFIO_DEVICE_SET_IRQS.
enum VFIOIRQ {
    static let intxIndex = husk_vfio_pci_intx_irq_index()
    static let msiIndex = husk_vfio_pci_msi_irq_index()
    static let msixIndex = husk_vfio_pci_msix_irq_index()
    static let requestIndex = husk_vfio_pci_req_irq_index()

    /// The VFIO index of a HUSK_IRQ_* kind.
    static func index(ofKind kind: UInt32) -> UInt32 {
        switch kind {
        case UInt32(HUSK_IRQ_MSIX): return msixIndex
        case UInt32(HUSK_IRQ_MSI): return msiIndex
        default: return intxIndex
        }
    }

    /// Vectors of irq index `index` that can signal an eventfd (0 if none).
    static func count(fd: Int32, index: UInt32) -> UInt32 {
        var info = vfio_irq_info()
        info.argsz = UInt32(MemoryLayout<vfio_irq_info>.size)
        info.index = index
        guard husk_ioctl_ptr(fd, husk_vfio_req_device_get_irq_info(), &info) == 0,
            info.flags & UInt32(VFIO_IRQ_INFO_EVENTFD) != 0
        else { return 0 }
        return info.count
    }

    /// HUSK_IRQ_* kind -> vector count for the three PCI interrupt kinds.
    static func available(fd: Int32) -> [UInt32: UInt32] {
        var out: [UInt32: UInt32] = [:]
        for kind in [UInt32(HUSK_IRQ_INTX), UInt32(HUSK_IRQ_MSI), UInt32(HUSK_IRQ_MSIX)] {
            let n = count(fd: fd, index: index(ofKind: kind))
            if n > 0 { out[kind] = n }
        }
        return out
    }

    /// MSI-X, then MSI, then INTx: the first kind in `kinds` the device
    /// offers, with min(want, offered) vectors (INTx: 1). nil if none.
    static func choose(kinds: UInt32, want: Int, available: [UInt32: UInt32]) -> (kind: UInt32, count: Int)? {
        for kind in [UInt32(HUSK_IRQ_MSIX), UInt32(HUSK_IRQ_MSI), UInt32(HUSK_IRQ_INTX)] where kinds & kind != 0 {
            guard let offered = available[kind], offered > 0 else { continue }
            let n = kind == UInt32(HUSK_IRQ_INTX) ? 1 : max(1, min(want, Int(offered)))
            return (kind, n)
        }
        return nil
    }

    /// Route vectors 0..<fds.count of `index` to the eventfds, in one call.
    static func trigger(fd: Int32, index: UInt32, eventFDs: [Int32]) -> Int32 {
        let flags = UInt32(VFIO_IRQ_SET_DATA_EVENTFD) | UInt32(VFIO_IRQ_SET_ACTION_TRIGGER)
        return eventFDs.withUnsafeBufferPointer {
            -husk_vfio_set_irqs(fd, index, flags, 0, UInt32($0.count), $0.baseAddress)
        }
    }

    /// Unmask vector 0 of INTx (vfio-pci masks INTx on every interrupt).
    static func unmaskINTx(fd: Int32) -> Int32 {
        let flags = UInt32(VFIO_IRQ_SET_DATA_NONE) | UInt32(VFIO_IRQ_SET_ACTION_UNMASK)
        return -husk_vfio_set_irqs(fd, intxIndex, flags, 0, 1, nil)
    }

    /// Tear down every vector of `index` (count 0, DATA_NONE).
    static func disable(fd: Int32, index: UInt32) {
        let flags = UInt32(VFIO_IRQ_SET_DATA_NONE) | UInt32(VFIO_IRQ_SET_ACTION_TRIGGER)
        _ = husk_vfio_set_irqs(fd, index, flags, 0, 0, nil)
    }

    static func kindName(_ kind: UInt32) -> String {
        switch kind {
        case UInt32(HUSK_IRQ_MSIX): return "MSI-X"
        case UInt32(HUSK_IRQ_MSI): return "MSI"
        default: return "INTx"
        }
    }
}
