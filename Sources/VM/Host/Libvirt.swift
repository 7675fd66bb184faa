import CLibvirt
import Glibc

/// An error from libvirt, with libvirt's own message (what failed and why,
/// e.g. "Failed to connect socket to '/var/run/libvirt/libvirt-sock'").
public struct LibvirtError: Error, CustomStringConvertible {
    public let description: String
    init(_ what: String) {
        let why = virGetLastErrorMessage().map { String(cString: $0) } ?? "unknown libvirt error"
        description = "\(what): \(why)"
    }
    init(message: String) { description = message }
}

/// A connection to a libvirt daemon by URI (qemu:///system,
/// qemu+ssh://host/system, ...). Closed when released.
public final class VirConnection: @unchecked Sendable {
    // @unchecked: libvirt connections are thread-safe; `raw` is immutable.
    let raw: virConnectPtr
    public let uri: String

    /// Connect; the event loop runs first so that streams (the console)
    /// and keepalives work.
    public init(uri: String) throws(LibvirtError) {
        LibvirtEventLoop.startOnce()
        guard let c = virConnectOpen(uri) else {
            var hint = ""
            if uri.hasPrefix("qemu:///") { hint = " (is libvirtd running? scripts/setup-vm.sh starts it)" }
            throw LibvirtError("cannot connect to \(uri)\(hint)")
        }
        raw = c
        self.uri = uri
    }

    deinit { virConnectClose(raw) }

    /// Start a transient domain from `xml`. With `autodestroy` libvirt
    /// destroys it when this connection closes, so a killed client leaves
    /// no VM behind.
    public func createTransient(xml: String, autodestroy: Bool = true) throws(LibvirtError) -> VirDomain {
        let flags = autodestroy ? UInt32(VIR_DOMAIN_START_AUTODESTROY.rawValue) : 0
        guard let d = virDomainCreateXML(raw, xml, flags) else { throw LibvirtError("cannot start the domain") }
        return VirDomain(d, connection: self)
    }

    /// Every domain (running or defined) whose name starts with `prefix`.
    public func domains(prefix: String) throws(LibvirtError) -> [VirDomain] {
        var list: UnsafeMutablePointer<virDomainPtr?>?
        let n = virConnectListAllDomains(raw, &list, 0)
        guard n >= 0, let list else { throw LibvirtError("cannot list domains") }
        defer { free(list) }
        var out: [VirDomain] = []
        for i in 0..<Int(n) {
            guard let d = list[i] else { continue }
            let dom = VirDomain(d, connection: self)
            if dom.name.hasPrefix(prefix) { out.append(dom) }
        }
        return out
    }

    /// The hypervisor's capabilities (XML), e.g. to see whether KVM exists.
    public func capabilities() throws(LibvirtError) -> String {
        guard let p = virConnectGetCapabilities(raw) else { throw LibvirtError("cannot read capabilities") }
        defer { free(p) }
        return String(cString: p)
    }
}

/// A domain handle. Freed when released (the domain itself lives on).
public final class VirDomain: @unchecked Sendable {
    // @unchecked: libvirt domain handles are thread-safe; fields immutable.
    let raw: virDomainPtr
    let connection: VirConnection

    init(_ d: virDomainPtr, connection: VirConnection) {
        raw = d
        self.connection = connection
    }
    deinit { virDomainFree(raw) }

    public var name: String { virDomainGetName(raw).map { String(cString: $0) } ?? "?" }

    public enum State: Sendable, Equatable {
        case running, paused, shutdown, shutoff, crashed, other(Int32)
    }

    /// The domain's state; nil once it no longer exists (a transient
    /// domain that powered off).
    public var state: State? {
        var st: Int32 = 0, reason: Int32 = 0
        guard virDomainGetState(raw, &st, &reason, 0) == 0 else { return nil }
        switch UInt32(st) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue: return .running
        case VIR_DOMAIN_PAUSED.rawValue: return .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: return .shutdown
        case VIR_DOMAIN_SHUTOFF.rawValue: return .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: return .crashed
        default: return .other(st)
        }
    }

    public var isActive: Bool { virDomainIsActive(raw) == 1 }

    /// The metadata element in `namespace` (live definition), or nil.
    public func metadata(namespace: String) -> String? {
        guard let p = virDomainGetMetadata(raw, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespace, 0) else {
            return nil
        }
        defer { free(p) }
        return String(cString: p)
    }

    /// True once libvirt no longer knows the domain, or knows it as
    /// destroyed: someone outside this handle's owner removed it.
    public var wasDestroyed: Bool {
        var st: Int32 = 0, reason: Int32 = 0
        guard virDomainGetState(raw, &st, &reason, 0) == 0 else { return true }
        return UInt32(st) == VIR_DOMAIN_SHUTOFF.rawValue && UInt32(reason) == VIR_DOMAIN_SHUTOFF_DESTROYED.rawValue
    }

    /// Power off at once (no guest cooperation). Harmless if already off.
    public func destroy() {
        if virDomainIsActive(raw) == 1 { _ = virDomainDestroy(raw) }
        if virDomainIsPersistent(raw) == 1 { _ = virDomainUndefine(raw) }
    }

    /// Block statistics of disk `target` (e.g. "vda"): libvirt's typed
    /// parameters by name (rd_operations, wr_operations, flush_operations...).
    public func blockStats(_ target: String) throws(LibvirtError) -> [String: Int64] {
        var n: Int32 = 0
        guard virDomainBlockStatsFlags(raw, target, nil, &n, 0) == 0, n > 0 else {
            throw LibvirtError("cannot read block statistics of \(target)")
        }
        let params = UnsafeMutablePointer<virTypedParameter>.allocate(capacity: Int(n))
        defer { params.deallocate() }
        guard virDomainBlockStatsFlags(raw, target, params, &n, 0) == 0 else {
            throw LibvirtError("cannot read block statistics of \(target)")
        }
        var out: [String: Int64] = [:]
        for i in 0..<Int(n) {
            let p = params[i]
            let name = withUnsafeBytes(of: p.field) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            switch UInt32(p.type) {
            case VIR_TYPED_PARAM_LLONG.rawValue: out[name] = p.value.l
            case VIR_TYPED_PARAM_ULLONG.rawValue: out[name] = Int64(bitPattern: p.value.ul)
            case VIR_TYPED_PARAM_INT.rawValue: out[name] = Int64(p.value.i)
            case VIR_TYPED_PARAM_UINT.rawValue: out[name] = Int64(p.value.ui)
            default: break
            }
        }
        return out
    }

    /// The serial console as a stream read on the event loop thread.
    public func openConsole() throws(LibvirtError) -> ConsoleReader {
        try ConsoleReader(domain: self)
    }
}
