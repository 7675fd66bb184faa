import HypercallABI
import Hypercalls
import PCIHostSupport

/// BAR sizes and kinds from the sysfs `resource` file: one line per resource,
/// "start end flags" in hex; lines 0-5 are the BARs.
enum UIOResources {
    // IORESOURCE_* bits of include/linux/ioport.h.
    static let io: UInt64 = 0x100
    static let mem: UInt64 = 0x200
    static let prefetch: UInt64 = 0x2000
    static let mem64: UInt64 = 0x10_0000

    static func bars(_ bdf: String) -> [BARInfo] {
        let text = readTextFile(PCISysfs.path(bdf, "resource")) ?? ""
        let mappable = (0..<6).map { fileExists(PCISysfs.path(bdf, "resource\($0)")) }
        return parse(text, mappable: mappable)
    }

    /// `mappable[i]`: sysfs offers resource<i> (needed to map or access it).
    static func parse(_ text: String, mappable: [Bool]) -> [BARInfo] {
        let lines = text.split(separator: "\n")
        return (0..<6).map { i -> BARInfo in
            guard i < lines.count else { return .absent }
            let f = lines[i].split(separator: " ").compactMap { UInt64($0.dropFirst(2), radix: 16) }
            guard f.count == 3, f[1] > f[0] || (f[1] == f[0] && f[0] != 0) else { return .absent }
            let size = f[1] - f[0] + 1
            let flags = f[2]
            var out: UInt32
            if flags & io != 0 {
                out = UInt32(HUSK_BAR_PIO)
            } else if flags & mem != 0 {
                out = UInt32(HUSK_BAR_MMIO)
                if flags & mem64 != 0 { out |= UInt32(HUSK_BAR_64BIT) }
                if flags & prefetch != 0 { out |= UInt32(HUSK_BAR_PREFETCH) }
                if i < mappable.count && mappable[i] { out |= UInt32(HUSK_BAR_MAPPABLE) }
            } else {
                return .absent
            }
            return BARInfo(size: size, flags: out)
        }
    }
}
