import CLibvirt
import Glibc

/// Files that travel to and from a libvirt host as storage volumes, for
/// URIs whose host does not share this machine's file system: the guest
/// kernel, initramfs and disk are uploaded into a pool on that host, the
/// domain references the volumes' paths there, and the disk comes back by
/// download for the host-side check.
public final class VolumeStore: @unchecked Sendable {
    // @unchecked: libvirt pool handles are thread-safe; fields immutable.
    public static let poolName = "husk"
    public static let poolPath = "/var/lib/libvirt/husk"
    let pool: virStoragePoolPtr
    let connection: VirConnection

    /// The `husk` directory pool on the connection's host: an existing
    /// one, or a transient one created (and its directory built) now.
    public init(_ conn: VirConnection) throws(LibvirtError) {
        connection = conn
        if let p = virStoragePoolLookupByName(conn.raw, VolumeStore.poolName) {
            if virStoragePoolIsActive(p) != 1 && virStoragePoolCreate(p, 0) != 0 {
                virStoragePoolFree(p)
                throw LibvirtError("cannot start storage pool \(VolumeStore.poolName) on \(conn.uri)")
            }
            pool = p
            return
        }
        let xml = "<pool type='dir'><name>\(VolumeStore.poolName)</name><target><path>\(VolumeStore.poolPath)</path></target></pool>"
        guard let p = virStoragePoolCreateXML(conn.raw, xml, UInt32(VIR_STORAGE_POOL_CREATE_WITH_BUILD.rawValue)) else {
            throw LibvirtError("cannot create storage pool \(VolumeStore.poolName) (\(VolumeStore.poolPath)) on \(conn.uri)")
        }
        pool = p
    }

    deinit { virStoragePoolFree(pool) }

    /// Upload `localPath` as volume `name` (replacing one of that name);
    /// returns the volume's path on the remote host.
    public func upload(_ localPath: String, as name: String) throws(LibvirtError) -> String {
        let fd = open(localPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LibvirtError(message: "cannot read \(localPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        let size = UInt64(st.st_size)
        delete(name)
        let xml = "<volume><name>\(name)</name><capacity unit='bytes'>\(size)</capacity><target><format type='raw'/></target></volume>"
        guard let vol = virStorageVolCreateXML(pool, xml, 0) else { throw LibvirtError("cannot create volume \(name)") }
        defer { virStorageVolFree(vol) }
        guard let stream = virStreamNew(connection.raw, 0) else { throw LibvirtError("cannot create a stream") }
        defer { virStreamFree(stream) }
        guard virStorageVolUpload(vol, stream, 0, size, 0) == 0 else { throw LibvirtError("cannot upload to volume \(name)") }
        var buf = [CChar](repeating: 0, count: 1 << 20)
        var sent: UInt64 = 0
        while sent < size {
            let n = read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                _ = virStreamAbort(stream)
                throw LibvirtError(message: "reading \(localPath) failed at byte \(sent)")
            }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBufferPointer { virStreamSend(stream, $0.baseAddress! + off, n - off) }
                guard w > 0 else {
                    _ = virStreamAbort(stream)
                    throw LibvirtError("uploading \(localPath)")
                }
                off += Int(w)
            }
            sent += UInt64(n)
        }
        guard virStreamFinish(stream) == 0 else { throw LibvirtError("finishing the upload of \(localPath)") }
        guard let p = virStorageVolGetPath(vol) else { throw LibvirtError("no path for volume \(name)") }
        defer { free(p) }
        return String(cString: p)
    }

    /// Download volume `name` into `localPath`.
    public func download(_ name: String, to localPath: String) throws(LibvirtError) {
        guard let vol = virStorageVolLookupByName(pool, name) else { throw LibvirtError("no volume \(name)") }
        defer { virStorageVolFree(vol) }
        guard let stream = virStreamNew(connection.raw, 0) else { throw LibvirtError("cannot create a stream") }
        defer { virStreamFree(stream) }
        let fd = open(localPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LibvirtError(message: "cannot write \(localPath): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard virStorageVolDownload(vol, stream, 0, 0, 0) == 0 else { throw LibvirtError("cannot download volume \(name)") }
        var buf = [CChar](repeating: 0, count: 1 << 20)
        while true {
            let n = virStreamRecv(stream, &buf, buf.count)
            if n == 0 { break }
            guard n > 0 else {
                _ = virStreamAbort(stream)
                throw LibvirtError("downloading volume \(name)")
            }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBufferPointer { write(fd, $0.baseAddress! + off, Int(n) - off) }
                guard w > 0 else {
                    _ = virStreamAbort(stream)
                    throw LibvirtError(message: "writing \(localPath): \(String(cString: strerror(errno)))")
                }
                off += w
            }
        }
        guard virStreamFinish(stream) == 0 else { throw LibvirtError("finishing the download of \(name)") }
    }

    /// Remove volume `name` if it exists.
    public func delete(_ name: String) {
        guard let vol = virStorageVolLookupByName(pool, name) else { return }
        _ = virStorageVolDelete(vol, 0)
        virStorageVolFree(vol)
    }
}
