import Glibc
import Platform
import PlatformC
import RPCSys
import RPCTransport
import RPCWire

/// A memfd mapped read-write, registered with a server (`id`).
public final class SharedMemory: @unchecked Sendable {
    // @unchecked: `id` is set once before the object is handed out; the
    // mapping's bytes are the caller's to synchronise.
    public internal(set) var id: UInt32 = 0
    public let size: Int
    public let fd: Int32
    public let base: UnsafeMutableRawPointer

    /// A sealed (F_SEAL_SHRINK | F_SEAL_GROW) memfd of `size` bytes, mapped.
    public static func create(size: Int, seal: Bool = true) throws(RPCError) -> SharedMemory {
        guard size > 0 else { throw RPCError(RPCStatus.inval, "size 0") }
        let fd = husk_rpc_memfd("husk-rpc-shm")
        guard fd >= 0 else { throw RPCError(errno, "memfd_create") }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw RPCError(e, "ftruncate")
        }
        if seal {
            guard husk_rpc_add_seals(fd, husk_rpc_seal_shrink() | husk_rpc_seal_grow()) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw RPCError(e, "F_ADD_SEALS")
            }
        }
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = errno
            Glibc.close(fd)
            throw RPCError(e, "mmap")
        }
        return SharedMemory(fd: fd, base: p, size: size)
    }

    private init(fd: Int32, base: UnsafeMutableRawPointer, size: Int) {
        self.fd = fd
        self.base = base
        self.size = size
    }
    deinit {
        munmap(base, size)
        Glibc.close(fd)
    }

    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: size) }
    public func ref(offset: UInt64 = 0, length: UInt64? = nil) -> SharedMemoryRef {
        SharedMemoryRef(id: id, offset: offset, length: length ?? UInt64(size) - offset)
    }
}
