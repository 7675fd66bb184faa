import GlueAPI
import HypercallABI

// MARK: C entry points (husk/glue/disk.h)

@_cdecl("glue_disk_register")
public func glue_disk_register(_ d: UnsafePointer<disk>?) -> Int32 {
    guard let d else { return HUSK_EINVAL }
    return Disks.shared.register(d, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_disk_unregister")
public func glue_disk_unregister(_ d: UnsafePointer<disk>?) {
    guard let d else { return }
    Disks.shared.unregister(d, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_disk_open")
public func glue_disk_open(_ name: UnsafePointer<CChar>?) -> OpaquePointer? {
    guard let name, let ref = Disks.shared.open(String(cString: name), ctx: Hyp.currentOrNil) else { return nil }
    return OpaquePointer(Unmanaged.passRetained(ref).toOpaque())
}

@_cdecl("glue_disk_close")
public func glue_disk_close(_ p: OpaquePointer?) {
    guard let p else { return }
    let ref = DiskRef.get(p)
    guard Disks.shared.close(ref) else { Hyp.panic(Hyp.currentOrNil, "disk_close: reference closed twice") }
    Unmanaged.passUnretained(ref).release()
}

@_cdecl("glue_disk_info")
public func glue_disk_info(_ p: OpaquePointer?, _ out: UnsafeMutablePointer<disk_info>?) {
    out?.pointee = DiskRef.get(p).record.info
}

@_cdecl("glue_disk_submit")
public func glue_disk_submit(_ p: OpaquePointer?, _ req: UnsafeMutablePointer<disk_req>?) -> Int32 {
    guard let req else { return HUSK_EINVAL }
    return Disks.shared.submit(DiskRef.get(p), req)
}

@_cdecl("glue_disk_transfer")
public func glue_disk_transfer(
    _ p: OpaquePointer?, _ op: UInt32, _ data: UnsafeMutableRawPointer?, _ offset: UInt64,
    _ len: UInt64
) -> Int32 {
    let ref = DiskRef.get(p)
    if let r = Disks.shared.transfer(ref, op: op, data: data, offset: offset, len: len) { return r }
    return SyncWait.submitAndWait(ref, op: op, data: data, offset: offset, len: len)
}

/// Submit one request and wait for `done` on a glue mutex and condition
/// variable (for providers without a synchronous transfer).
enum SyncWait {
    struct State {
        var m = kmutex_t()
        var cv = kcondvar_t()
        var finished = false
        var status: Int32 = 0
    }

    static func submitAndWait(_ ref: DiskReference, op: UInt32, data: UnsafeMutableRawPointer?, offset: UInt64, len: UInt64) -> Int32 {
        let st = UnsafeMutablePointer<State>.allocate(capacity: 1)
        st.initialize(to: State())
        defer {
            st.deinitialize(count: 1)
            st.deallocate()
        }
        guard glue_mutex_init(&st.pointee.m, "disk-wait") == HUSK_OK else { return HUSK_ENOMEM }
        defer { glue_mutex_destroy(&st.pointee.m) }
        guard glue_cv_init(&st.pointee.cv, "disk-wait") == HUSK_OK else { return HUSK_ENOMEM }
        defer { glue_cv_destroy(&st.pointee.cv) }
        // On the heap: the provider holds the request after submit returns.
        let req = UnsafeMutablePointer<disk_req>.allocate(capacity: 1)
        req.initialize(to: disk_req())
        defer {
            req.deinitialize(count: 1)
            req.deallocate()
        }
        req.pointee.op = op
        req.pointee.data = data
        req.pointee.offset = offset
        req.pointee.len = len
        req.pointee.arg = UnsafeMutableRawPointer(st)
        req.pointee.done = { r in
            let st = r!.pointee.arg!.assumingMemoryBound(to: State.self)
            glue_mutex_enter(&st.pointee.m)
            st.pointee.status = r!.pointee.status
            st.pointee.finished = true
            glue_cv_broadcast(&st.pointee.cv)
            glue_mutex_exit(&st.pointee.m)
        }
        while true {
            let r = Disks.shared.submit(ref, req)
            if r == HUSK_EAGAIN {
                _ = Hyp.table.pointee.sleep_ns!(Hyp.currentOrNil, 50_000)
                continue
            }
            if r != HUSK_OK { return r }
            break
        }
        glue_mutex_enter(&st.pointee.m)
        while !st.pointee.finished { _ = glue_cv_wait(&st.pointee.cv, &st.pointee.m) }
        glue_mutex_exit(&st.pointee.m)
        return st.pointee.status
    }
}

enum DiskRef {
    static func get(_ p: OpaquePointer?) -> DiskReference {
        guard let p else { Hyp.panic(Hyp.currentOrNil, "disk reference is NULL") }
        return Unmanaged<DiskReference>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
    }
}

// MARK: Swift consumers (servers)

extension Glue {
    /// Names of the disks registered now, sorted.
    public static func diskNames() -> [String] { Disks.shared.names() }

    /// A server's reference to a registered disk (the Swift face of
    /// struct disk_ref). Requests are asynchronous: `submit` returns at once
    /// and the completion runs on the provider's completion thread.
    public final class Disk: @unchecked Sendable {
        // @unchecked: immutable; the registry guards the record's state.
        let reference: DiskReference

        /// The disk called `name`, or nil if none is registered.
        public init?(named name: String) {
            guard let ref = Disks.shared.open(name, ctx: nil) else { return nil }
            reference = ref
        }
        deinit { _ = Disks.shared.close(reference) }

        public var name: String { reference.record.name }
        public var blockSize: UInt32 { reference.record.info.block_size }
        public var blockCount: UInt64 { reference.record.info.block_count }
        public var sizeBytes: UInt64 { reference.record.sizeBytes }
        public var isReadOnly: Bool { reference.record.readOnly }
        public var hasFlush: Bool { reference.record.info.flags & UInt32(DISK_F_FLUSH) != 0 }
        public var hasDiscard: Bool { reference.record.info.flags & UInt32(DISK_F_DISCARD) != 0 }
        /// The provider can carry out requests on the calling thread.
        public var hasSynchronousTransfer: Bool { reference.record.disk.pointee.transfer != nil }

        /// One request on this thread through the provider's synchronous
        /// transfer; nil when the provider has none (use `submit`).
        public func transferSynchronously(_ op: Operation, data: UnsafeMutableRawPointer?, offset: UInt64, length: UInt64) -> Int32? {
            Disks.shared.transfer(reference, op: op.rawValue, data: data, offset: offset, len: length)
        }

        /// Largest single read or write in bytes (0: no limit).
        public var maxTransfer: UInt32 { reference.record.info.max_transfer }
        /// Requests the provider takes at once (0: no limit).
        public var queueDepth: UInt32 { reference.record.info.queue_depth }
        /// False once the provider has withdrawn the disk.
        public var isAlive: Bool { Disks.shared.withLock { _ in reference.record.alive } }

        public enum Operation: UInt32, Sendable {
            case read = 1, write = 2, flush = 3
        }

        /// Start one request over `length` bytes at `data` (which must stay
        /// valid until `completion` runs). Returns 0 and calls `completion`
        /// exactly once with the request's status, or returns an error
        /// (EINVAL, EROFS, ENODEV, EAGAIN) and never calls it.
        public func submit(
            _ op: Operation, data: UnsafeMutableRawPointer?, offset: UInt64, length: UInt64,
            completion: @escaping @Sendable (Int32) -> Void
        ) -> Int32 {
            let req = UnsafeMutablePointer<disk_req>.allocate(capacity: 1)
            req.initialize(to: disk_req())
            req.pointee.op = op.rawValue
            req.pointee.data = data
            req.pointee.offset = offset
            req.pointee.len = length
            req.pointee.arg = UnsafeMutableRawPointer(Unmanaged.passRetained(Completion(completion)).toOpaque())
            req.pointee.done = { req in
                let c = Unmanaged<Completion>.fromOpaque(req!.pointee.arg!).takeRetainedValue()
                let status = req!.pointee.status
                req!.deinitialize(count: 1)
                req!.deallocate()
                c.body(status)
            }
            let r = Disks.shared.submit(reference, req)
            if r != HUSK_OK {
                Unmanaged<Completion>.fromOpaque(req.pointee.arg!).release()
                req.deinitialize(count: 1)
                req.deallocate()
            }
            return r
        }
    }
}

final class Completion: @unchecked Sendable {
    // @unchecked: immutable.
    let body: @Sendable (Int32) -> Void
    init(_ b: @escaping @Sendable (Int32) -> Void) { body = b }
}
