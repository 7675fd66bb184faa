import Glibc
import RPCSys
import RPCWire

/// A client's memfd mapped shared: read-write when the client allows it
/// (a memfd without F_SEAL_WRITE/F_SEAL_FUTURE_WRITE), else read-only. The
/// client may keep writing to it, so nothing is validated in place: handlers
/// copy out what they validate and pass the rest through untouched (block
/// payloads). The
/// memfd is sealed against shrinking, so the mapping never faults.
final class SharedRegion: @unchecked Sendable {
    // @unchecked: immutable after init; the mapping is released in deinit,
    // after the last holder (a registry entry or a handler using it) lets go.
    let base: UnsafeRawPointer
    let size: Int
    let writable: Bool

    /// Validate and map `fd` (which stays owned by the caller).
    static func map(fd: Int32) -> Result<SharedRegion, RPCError> {
        let seals = husk_rpc_get_seals(fd)
        guard seals >= 0 else {
            return .failure(RPCError(RPCStatus.inval, "not a memfd (F_GET_SEALS: \(String(cString: strerror(errno))))"))
        }
        guard seals & husk_rpc_seal_shrink() != 0 else { return .failure(RPCError(RPCStatus.inval, "memfd not sealed with F_SEAL_SHRINK")) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return .failure(RPCError(RPCStatus.inval, "empty memfd")) }
        let size = Int(st.st_size)
        // Read-write first: a client that sealed writes (EPERM) or sent a
        // read-only descriptor (EACCES) gets a read-only mapping.
        if let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED {
            return .success(SharedRegion(base: UnsafeRawPointer(p), size: size, writable: true))
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            return .failure(RPCError(RPCStatus.nomem, "mmap: \(String(cString: strerror(errno)))"))
        }
        return .success(SharedRegion(base: UnsafeRawPointer(p), size: size, writable: false))
    }

    private init(base: UnsafeRawPointer, size: Int, writable: Bool) {
        self.base = base
        self.size = size
        self.writable = writable
    }
    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// The bytes `[offset, offset+length)` in place, or EFAULT when outside
    /// the region. Valid while this region is alive.
    func range(offset: UInt64, length: UInt64) -> Result<UnsafeMutableRawBufferPointer, RPCError> {
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= UInt64(size) else {
            return .failure(RPCError(RPCStatus.fault, "shm_ref [\(offset), +\(length)) outside a region of \(size) bytes"))
        }
        return .success(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base) + Int(offset), count: Int(length)))
    }
}
