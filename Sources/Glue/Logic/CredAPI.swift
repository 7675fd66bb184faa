import GlueAPI
import HypercallABI

// glue_caller_cred: the identity of the RPC call the calling thread serves
// (husk/glue/cred.h). The RPC server runtime sets it around each dispatch
// with Glue.withCaller; it is per thread, so a component's C code on that
// thread reads it without any argument.

extension Glue {
    /// Kernel identity of a caller (uid, primary gid, supplementary groups).
    public struct Caller: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var groups: [UInt32]
        public init(uid: UInt32, gid: UInt32, groups: [UInt32]) {
            self.uid = uid
            self.gid = gid
            self.groups = groups
        }
    }

    /// Run `body` with `caller` as the calling thread's current caller
    /// (what glue_caller_cred returns); the previous one is restored after,
    /// so nested dispatches on one thread behave.
    public static func withCaller<R, E: Error>(_ caller: Caller, _ body: () throws(E) -> R) throws(E) -> R {
        try ThreadSlot.with(.caller, CallerBox(caller), body)
    }

    /// The calling thread's current caller, if it serves a call.
    public static var currentCaller: Caller? { ThreadSlot.current(.caller, as: CallerBox.self)?.caller }
}

/// A caller as the value of ThreadSlot.caller (a slot holds one pointer).
final class CallerBox {
    let caller: Glue.Caller
    init(_ caller: Glue.Caller) { self.caller = caller }
}

@_cdecl("glue_caller_cred")
public func glue_caller_cred(_ out: UnsafeMutablePointer<glue_cred>?) -> Int32 {
    guard let out else { return Int32(HUSK_EINVAL) }
    guard let c = Glue.currentCaller else { return Int32(HUSK_ENOENT) }
    out.pointee.uid = c.uid
    out.pointee.gid = c.gid
    let n = min(c.groups.count, Int(GLUE_CRED_MAX_GROUPS))
    out.pointee.ngroups = UInt32(n)
    out.pointee.ngroups_total = UInt32(truncatingIfNeeded: c.groups.count)
    withUnsafeMutableBytes(of: &out.pointee.groups) { raw in
        let g = raw.bindMemory(to: UInt32.self)
        for i in 0..<g.count { g[i] = i < n ? c.groups[i] : 0 }
    }
    return 0
}

@_cdecl("glue_caller_has_gid")
public func glue_caller_has_gid(_ gid: UInt32) -> Bool {
    guard let c = Glue.currentCaller else { return false }
    return c.gid == gid || c.groups.contains(gid)
}
