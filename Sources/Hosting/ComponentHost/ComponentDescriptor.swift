import HypercallABI

/// A component as the host sees it: the C descriptor it exports plus where
/// it came from (the static registry or a shared object).
public struct ComponentDescriptor: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: the descriptor is immutable static data of the component.
    public let raw: UnsafePointer<husk_component>
    public let origin: String

    public init(raw: UnsafePointer<husk_component>, origin: String) {
        self.raw = raw
        self.origin = origin
    }

    public var name: String { raw.pointee.name.map { String(cString: $0) } ?? "" }
    public var summary: String { raw.pointee.description.map { String(cString: $0) } ?? "" }
    public var abiMajor: UInt32 { raw.pointee.abi_major }
    public var abiMinor: UInt32 { raw.pointee.abi_minor }
    public var kind: UInt32 { raw.pointee.kind }

    public var kindName: String {
        switch kind {
        case UInt32(HUSK_KIND_DRIVER): return "driver"
        case UInt32(HUSK_KIND_FILESYSTEM): return "filesystem"
        case UInt32(HUSK_KIND_NETWORK): return "network"
        case UInt32(HUSK_KIND_OTHER): return "other"
        default: return "kind\(kind)"
        }
    }

    public var dependencies: [String] {
        guard var p = raw.pointee.depends else { return [] }
        var names: [String] = []
        while let s = p.pointee, names.count < 64 {
            names.append(String(cString: s))
            p += 1
        }
        return names
    }

    public var description: String { "\(name) \(abiMajor).\(abiMinor) (\(kindName), \(origin))" }

    /// Why a host with ABI `major.minor` cannot run this component, or nil.
    public func abiMismatch(hostMajor: UInt32, hostMinor: UInt32) -> String? {
        if abiMajor != hostMajor || abiMinor > hostMinor {
            return "component '\(name)' needs hypercall ABI \(abiMajor).\(abiMinor), but this host provides \(hostMajor).\(hostMinor)"
                + (abiMajor != hostMajor
                    ? " (major versions differ)" : " (rebuild it against ABI \(hostMajor).\(hostMinor) or update the host)")
        }
        return nil
    }

    /// A name the host accepts: non-empty [a-z0-9_-].
    public var hasValidName: Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 }
    }
}
