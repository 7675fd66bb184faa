import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// Shared memory registration and the other control calls.
extension RPCClient {
    // MARK: shared memory

    /// Create a memfd of `size` bytes sealed against shrinking and growing,
    /// map it read-write and register it with the server.
    public func registerSharedMemory(size: Int) throws(RPCError) -> SharedMemory {
        let shm = try SharedMemory.create(size: size)
        let r = invoke(interface: RPCControl.interface, operation: RPCControl.Operation.registerShm.rawValue, descriptors: [shm.fd])
        guard r.status == 0 else { throw RPCError(r.status, "REGISTER_SHM") }
        let id: UInt32? = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            guard let id = rd.u32(), let _ = rd.u32(), let _ = rd.u64(), rd.isAtEnd else { return nil }
            return id
        }
        guard let id else { throw RPCError(RPCStatus.proto, "malformed REGISTER_SHM reply") }
        shm.id = id
        return shm
    }

    public func unregisterSharedMemory(_ shm: SharedMemory) throws(RPCError) {
        var w = PayloadWriter()
        w.u32(shm.id)
        _ = try call(
            interface: RPCControl.interface, operation: RPCControl.Operation.unregisterShm.rawValue, payload: w.bytes, descriptors: [],
            idempotent: false)
    }

    /// PING on the control interface.
    public func ping() throws(RPCError) {
        _ = try call(
            interface: RPCControl.interface, operation: RPCControl.Operation.ping.rawValue, payload: [], descriptors: [], idempotent: true)
    }

    /// STATS: uptime and per-operation (interface, operation, calls, errors).
    public func stats() throws(RPCError) -> (
        uptimeNanos: UInt64, operations: [(interface: UInt32, operation: UInt32, calls: UInt64, errors: UInt64)]
    ) {
        let r = try call(
            interface: RPCControl.interface, operation: RPCControl.Operation.stats.rawValue, payload: [], descriptors: [], idempotent: true)
        let parsed: (UInt64, [(UInt32, UInt32, UInt64, UInt64)])? = r.payload.withUnsafeBytes { b in
            var rd = PayloadReader(b)
            guard let up = rd.u64(), let n = rd.count(minElementSize: 24) else { return nil }
            var ops: [(UInt32, UInt32, UInt64, UInt64)] = []
            for _ in 0..<n {
                guard let i = rd.u32(), let o = rd.u32(), let c = rd.u64(), let e = rd.u64() else { return nil }
                ops.append((i, o, c, e))
            }
            return rd.isAtEnd ? (up, ops) : nil
        }
        guard let parsed else { throw RPCError(RPCStatus.proto, "malformed STATS reply") }
        return (parsed.0, parsed.1.map { (interface: $0.0, operation: $0.1, calls: $0.2, errors: $0.3) })
    }
}
