// Shared with UIOBackend: keep Sources/{VFIO,UIO}Backend/Shared/ identical.
import HypercallABI
import Hypercalls

/// What sysfs tells about PCI functions, and the messages that tell an
/// operator how to fix a device that is not ready for a backend.
public enum PCISysfs {
    public static let devicesRoot = "/sys/bus/pci/devices"

    /// Canonical "dddd:bb:dd.f" (lower-case hex) for "dddd:bb:dd.f" or
    /// "bb:dd.f" (domain 0000). EINVAL for anything else.
    public static func normalize(_ address: String) throws(HypError) -> String {
        let bad = HypError(
            HUSK_EINVAL,
            "malformed PCI address '\(address)': expected domain:bus:device.function in hex, like 0000:00:03.0 (lspci -D lists them)")
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { throw bad }
        let domain = parts.count == 3 ? parts[0] : "0000"
        let bus = parts[parts.count - 2]
        let devFn = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard devFn.count == 2 else { throw bad }
        func hex(_ s: Substring, digits: ClosedRange<Int>, max: UInt32) -> UInt32? {
            guard digits.contains(s.count), s.allSatisfy(\.isHexDigit), let v = UInt32(s, radix: 16), v <= max else { return nil }
            return v
        }
        guard let d = hex(domain, digits: 4...8, max: .max), let b = hex(bus, digits: 2...2, max: 0xff),
            let dev = hex(devFn[0], digits: 2...2, max: 0x1f), let fn = hex(devFn[1], digits: 1...1, max: 7)
        else { throw bad }
        return "\(pad(d, 4)):\(pad(b, 2)):\(pad(dev, 2)).\(fn)"
    }

    public static func path(_ bdf: String, _ file: String = "") -> String {
        file.isEmpty ? "\(devicesRoot)/\(bdf)" : "\(devicesRoot)/\(bdf)/\(file)"
    }

    /// ENODEV naming the address when sysfs has no such function.
    public static func requireDevice(_ bdf: String) throws(HypError) {
        guard fileExists(path(bdf)) else {
            throw HypError(HUSK_ENODEV, "no PCI device \(bdf) in \(devicesRoot) (lspci -D lists the devices this machine has)")
        }
    }

    /// The kernel driver bound to the function, or nil.
    public static func driver(_ bdf: String) -> String? {
        readLink(path(bdf, "driver")).map(lastComponent)
    }

    /// The IOMMU group number, or nil when the function has none (IOMMU off).
    public static func iommuGroup(_ bdf: String) -> Int? {
        readLink(path(bdf, "iommu_group")).flatMap { Int(lastComponent($0)) }
    }

    public static func identity(_ bdf: String) -> PCIIdentity {
        func hex(_ f: String) -> UInt32 {
            guard let t = readTextFile(path(bdf, f)) else { return 0 }
            return UInt32(t.hasPrefix("0x") ? String(t.dropFirst(2)) : t, radix: 16) ?? 0
        }
        return PCIIdentity(
            vendor: UInt16(truncatingIfNeeded: hex("vendor")),
            device: UInt16(truncatingIfNeeded: hex("device")),
            subVendor: UInt16(truncatingIfNeeded: hex("subsystem_vendor")),
            subDevice: UInt16(truncatingIfNeeded: hex("subsystem_device")),
            classCode: hex("class") & 0xff_ffff,
            revision: UInt8(truncatingIfNeeded: hex("revision")),
            address: bdf)
    }

    /// Shell commands that bind `bdf` to `driver` (module `module`).
    public static func bindCommands(_ bdf: String, driver: String, module: String) -> String {
        var steps = ["modprobe \(module)", "echo \(driver) > \(path(bdf, "driver_override"))"]
        if self.driver(bdf) != nil { steps.append("echo \(bdf) > \(path(bdf, "driver"))/unbind") }
        steps.append("echo \(bdf) > /sys/bus/pci/drivers_probe")
        return steps.joined(separator: "; ")
    }

    /// ENODEV (no driver) or EBUSY (another driver holds it) unless `bdf` is
    /// bound to `driver`; the message gives the commands that fix it.
    public static func requireDriver(_ bdf: String, driver wanted: String, module: String) throws(HypError) {
        let current = driver(bdf)
        if current == wanted { return }
        let fix = "bind it with: " + bindCommands(bdf, driver: wanted, module: module)
        if let current {
            throw HypError(HUSK_EBUSY, "PCI device \(bdf) is bound to \(current), not \(wanted); \(fix)")
        }
        throw HypError(HUSK_ENODEV, "PCI device \(bdf) is not bound to any driver, it must be bound to \(wanted); \(fix)")
    }

    /// HUSK_BAR_* kind bits from the low dword of a BAR register in config
    /// space: I/O or memory, 64-bit, prefetchable.
    public static func barKindFlags(register: UInt32) -> UInt32 {
        if register & 1 != 0 { return UInt32(HUSK_BAR_PIO) }
        var flags = UInt32(HUSK_BAR_MMIO)
        if (register >> 1) & 3 == 2 { flags |= UInt32(HUSK_BAR_64BIT) }
        if register & 8 != 0 { flags |= UInt32(HUSK_BAR_PREFETCH) }
        return flags
    }

    private static func lastComponent(_ p: String) -> String {
        p.split(separator: "/").last.map(String.init) ?? p
    }

    private static func pad(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
