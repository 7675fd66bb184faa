import Hypercalls
import SimBackend
import UIOBackend
import VFIOBackend

/// Chooses a runtime backend by name, at run time, in one binary.
public enum BackendFactory {
    public static let names = ["posix", "sim", "vfio", "uio"]

    /// - devices: backend-specific device specs: sim "edu", "virtio-blk:image=PATH",
    ///   "virtio-net:link=NAME" (SimDeviceSpec);
    ///   vfio/uio PCI addresses "0000:00:03.0".
    public static func make(name: String, devices: [String], hugepages: Int = 8) throws -> any HostBackend {
        switch name {
        case "posix":
            if !devices.isEmpty { throw HostError("the posix backend has no devices; use --backend sim, vfio or uio with --device") }
            return PosixBackend()
        case "sim":
            return try SimBackend(specs: devices)
        case "vfio":
            if devices.isEmpty {
                throw HostError("the vfio backend needs --device BDF (a PCI address such as 0000:00:03.0 bound to vfio-pci)")
            }
            return try VFIOBackend(addresses: devices)
        case "uio":
            if devices.isEmpty { throw HostError("the uio backend needs --device BDF (a PCI address bound to uio_pci_generic)") }
            return try UIOBackend(addresses: devices, hugepages: hugepages)
        default:
            throw HostError("unknown backend '\(name)'; choose one of: \(names.joined(separator: ", "))")
        }
    }
}
