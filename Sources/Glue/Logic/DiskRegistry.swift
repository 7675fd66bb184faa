import GlueAPI
import HypercallABI

/// A registered disk as the glue sees it.
final class DiskRecord: @unchecked Sendable {
    // @unchecked: `alive`, `activeCalls` and `inFlight` are guarded by
    // Disks' lock; the rest is immutable. `disk` points at the provider's
    // struct, which stays valid until unregister returns (the API contract).
    let disk: UnsafePointer<disk>
    let ctx: UInt
    let name: String
    let info: disk_info
    var alive = true
    var activeCalls = 0
    var inFlight = 0

    init(_ d: UnsafePointer<disk>, name: String, ctx: UInt) {
        disk = d
        self.name = name
        self.ctx = ctx
        info = d.pointee.info
    }

    var readOnly: Bool { info.flags & UInt32(DISK_F_READONLY) != 0 }
    var sizeBytes: UInt64 { info.block_count &* UInt64(info.block_size) }
}

/// A consumer's reference (struct disk_ref *): valid after the disk has gone.
final class DiskReference: @unchecked Sendable {
    // @unchecked: immutable.
    let record: DiskRecord
    let ctx: UInt
    init(_ r: DiskRecord, ctx: UInt) {
        record = r
        self.ctx = ctx
    }
}

/// The disk registry behind husk/glue/disk.h and `Glue.Disk`.
final class Disks: Sendable {
    struct State {
        var disks: [String: DiskRecord] = [:]
        var refs: [ObjectIdentifier: DiskReference] = [:]
    }
    static let shared = Disks()
    private let state = GlueLock("glue.disks", State())

    func withLock<T>(_ body: (inout State) -> T) -> T {
        state.withLock { s in
            // Only @unchecked Sendable records and plain values leave the lock.
            nonisolated(unsafe) let v = body(&s)
            return v
        }
    }

    func register(_ d: UnsafePointer<disk>, ctx: OpaquePointer?) -> Int32 {
        guard let cname = d.pointee.name, d.pointee.submit != nil else { return HUSK_EINVAL }
        guard disk_name_valid(cname, Int(DISK_NAME_MAX)) else { return HUSK_EINVAL }
        let name = String(cString: cname)
        let info = d.pointee.info
        let bs = info.block_size
        guard bs >= 512, bs <= 65536, bs & (bs - 1) == 0,
            info.max_transfer % bs == 0, info.block_count > 0,
            info.block_count <= UInt64.max / UInt64(bs)
        else { return HUSK_EINVAL }
        let rec = DiskRecord(d, name: name, ctx: ctx.map(ctxKey) ?? 0)
        return withLock { s in
            if s.disks[name] != nil { return HUSK_EEXIST }
            s.disks[name] = rec
            return HUSK_OK
        }
    }

    func unregister(_ d: UnsafePointer<disk>, ctx: OpaquePointer?) {
        let rec = withLock { s -> DiskRecord? in
            guard let (name, r) = s.disks.first(where: { $0.value.disk == d }) else { return nil }
            s.disks.removeValue(forKey: name)
            r.alive = false
            return r
        }
        guard let rec else { return }
        // Wait for calls inside the provider's submit and for every request
        // it accepted: after this returns the provider may free everything.
        while withLock({ _ in rec.activeCalls + rec.inFlight }) > 0 {
            _ = Hyp.table.pointee.sleep_ns!(ctx, 100_000)
        }
    }

    func open(_ name: String, ctx: OpaquePointer?) -> DiskReference? {
        withLock { s -> DiskReference? in
            guard let rec = s.disks[name] else { return nil }
            let ref = DiskReference(rec, ctx: ctx.map(ctxKey) ?? 0)
            s.refs[ObjectIdentifier(ref)] = ref
            return ref
        }
    }

    func close(_ ref: DiskReference) -> Bool {
        withLock { s in s.refs.removeValue(forKey: ObjectIdentifier(ref)) != nil }
    }

    func names() -> [String] { withLock { s in s.disks.keys.sorted() } }

    /// Check a request against the disk's geometry, then hand it to the
    /// provider with the glue's completion trampoline in front of the
    /// consumer's `done` (so unregister knows when the last one finished).
    /// The glue's checks of a request against the disk: op, alignment,
    /// range, max_transfer, read-only. nil when it may go to the provider.
    func refusal(_ rec: DiskRecord, op: UInt32, data: UnsafeMutableRawPointer?, offset: UInt64, len: UInt64) -> Int32? {
        switch op {
        case UInt32(DISK_OP_READ), UInt32(DISK_OP_WRITE):
            let bs = UInt64(rec.info.block_size)
            guard len > 0, data != nil, offset % bs == 0, len % bs == 0,
                offset <= rec.sizeBytes, len <= rec.sizeBytes - offset,
                rec.info.max_transfer == 0 || len <= UInt64(rec.info.max_transfer)
            else { return HUSK_EINVAL }
            if op == UInt32(DISK_OP_WRITE) && rec.readOnly { return HUSK_EROFS }
            return nil
        case UInt32(DISK_OP_FLUSH):
            return nil
        default:
            return HUSK_EINVAL
        }
    }

    /// Through the provider's synchronous `transfer` on this thread; nil
    /// when the provider has none (the caller then submits and waits).
    func transfer(_ ref: DiskReference, op: UInt32, data: UnsafeMutableRawPointer?, offset: UInt64, len: UInt64) -> Int32? {
        let rec = ref.record
        guard let fn = rec.disk.pointee.transfer else { return nil }
        if let bad = refusal(rec, op: op, data: data, offset: offset, len: len) { return bad }
        let ok = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.activeCalls += 1
            return true
        }
        guard ok else { return HUSK_ENODEV }
        let r = fn(rec.disk.pointee.priv, op, data, offset, len)
        withLock { _ in rec.activeCalls -= 1 }
        return r
    }

    func submit(_ ref: DiskReference, _ req: UnsafeMutablePointer<disk_req>) -> Int32 {
        let rec = ref.record
        let r = req.pointee
        guard r.done != nil else { return HUSK_EINVAL }
        if let bad = refusal(rec, op: r.op, data: r.data, offset: r.offset, len: r.len) { return bad }
        let ok = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.activeCalls += 1
            rec.inFlight += 1
            return true
        }
        guard ok else { return HUSK_ENODEV }
        let pending = PendingRequest(record: rec, done: r.done!, arg: r.arg)
        req.pointee.arg = UnsafeMutableRawPointer(Unmanaged.passRetained(pending).toOpaque())
        req.pointee.done = { req in
            let p = Unmanaged<PendingRequest>.fromOpaque(req!.pointee.arg!).takeRetainedValue()
            req!.pointee.arg = p.arg
            req!.pointee.done = p.done
            p.done(req)
            Disks.shared.withLock { _ in p.record.inFlight -= 1 }
        }
        req.pointee.status = 0
        let d = rec.disk.pointee
        let result = d.submit!(d.priv, req)
        if result != HUSK_OK {
            // Refused: done will never run; give the consumer its fields back.
            let p = Unmanaged<PendingRequest>.fromOpaque(req.pointee.arg!).takeRetainedValue()
            req.pointee.arg = p.arg
            req.pointee.done = p.done
        }
        withLock { _ in
            rec.activeCalls -= 1
            if result != HUSK_OK { rec.inFlight -= 1 }
        }
        return result
    }

    /// A finished component: withdraw its disks, close its references.
    func releaseAll(of ctx: OpaquePointer) {
        let (disks, refs) = withLock { s in
            (
                s.disks.values.filter { $0.ctx == ctxKey(ctx) }.map { ($0.disk, $0.name) },
                s.refs.values.filter { $0.ctx == ctxKey(ctx) }
            )
        }
        for (d, name) in disks {
            Hyp.log(ctx, HUSK_LOG_WARN, "glue: disk '\(name)' still registered; withdrawing it")
            unregister(d, ctx: ctx)
        }
        for ref in refs where close(ref) { Unmanaged.passUnretained(ref).release() }
    }
}

/// The consumer's completion, kept while the provider owns the request.
final class PendingRequest: @unchecked Sendable {
    // @unchecked: immutable; `arg` is the consumer's opaque pointer.
    let record: DiskRecord
    let done: disk_done_fn
    let arg: UnsafeMutableRawPointer?
    init(record: DiskRecord, done: disk_done_fn, arg: UnsafeMutableRawPointer?) {
        self.record = record
        self.done = done
        self.arg = arg
    }
}
