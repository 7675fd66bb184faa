import Glibc
import HypercallABI
import Platform
import PlatformC

/// A host file or block device opened through blk_open: a fixed-size array
/// of bytes. Transfers outside it are refused, never grow the file.
final class BlockFile: @unchecked Sendable {
    // @unchecked: fd/size/flags are immutable; `inflight` is behind `lock`.
    let fd: Int32
    let size: UInt64
    let sectorSize: UInt32
    let readOnly: Bool
    let direct: Bool
    let ctx: OpaquePointer?
    let path: String
    private let lock = Monitor()
    private var inflight = 0

    static let BLKGETSIZE64: UInt = 0x8008_1272
    static let BLKSSZGET: UInt = 0x1268

    static func open(path: String, flags: UInt32, ctx: OpaquePointer?) -> Result<BlockFile, HypError> {
        guard flags & ~UInt32(HUSK_BLK_RDWR | HUSK_BLK_DIRECT) == 0 else { return .failure(.inval("unknown blk_open flags")) }
        let rw = flags & UInt32(HUSK_BLK_RDWR) != 0
        let direct = flags & UInt32(HUSK_BLK_DIRECT) != 0
        var oflags = (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC
        if direct { oflags |= husk_o_direct() }
        let fd = Glibc.open(path, oflags)
        if fd < 0 {
            // A directory opened for writing fails with EISDIR, which has no
            // ABI code of its own: it is the "neither a file nor a device" case.
            if errno == EISDIR { return .failure(.inval("\(path) is neither a regular file nor a block device")) }
            return .failure(.fromErrno(errno, "open \(path)"))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            Glibc.close(fd)
            return .failure(.fromErrno(errno, "fstat \(path)"))
        }
        var size: UInt64 = 0
        var sector: UInt32 = 512
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            size = UInt64(st.st_size)
        case S_IFBLK:
            var bytes: UInt64 = 0
            var ssz: Int32 = 0
            guard ioctl(fd, BLKGETSIZE64, &bytes) == 0 else {
                Glibc.close(fd)
                return .failure(.fromErrno(errno, "BLKGETSIZE64"))
            }
            if ioctl(fd, BLKSSZGET, &ssz) == 0, ssz > 0 { sector = UInt32(ssz) }
            size = bytes
        default:
            Glibc.close(fd)
            return .failure(.inval("\(path) is neither a regular file nor a block device"))
        }
        return .success(BlockFile(fd: fd, size: size, sectorSize: sector, readOnly: !rw, direct: direct, ctx: ctx, path: path))
    }

    private init(fd: Int32, size: UInt64, sectorSize: UInt32, readOnly: Bool, direct: Bool, ctx: OpaquePointer?, path: String) {
        self.fd = fd
        self.size = size
        self.sectorSize = sectorSize
        self.readOnly = readOnly
        self.direct = direct
        self.ctx = ctx
        self.path = path
    }

    deinit {
        Glibc.close(fd)
    }

    /// The checks every transfer passes before it is issued.
    func check(write: Bool, buf: UnsafeRawPointer?, len: UInt64, offset: UInt64) -> Int32 {
        if write && readOnly { return HUSK_EROFS }
        guard buf != nil else { return HUSK_EFAULT }
        guard len > 0, offset <= size, len <= size - offset else { return HUSK_EINVAL }
        if direct {
            let s = UInt64(sectorSize)
            guard len % s == 0, offset % s == 0, UInt(bitPattern: buf) % UInt(s) == 0 else { return HUSK_EINVAL }
        }
        return HUSK_OK
    }

    func read(into buf: UnsafeMutableRawPointer, len: UInt64, offset: UInt64) -> Int32 {
        var done: UInt64 = 0
        while done < len {
            let n = pread(fd, buf + Int(done), Int(len - done), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return HypError.fromErrno(errno).code
            }
            if n == 0 { return HUSK_EIO }  // the file shrank underneath us
            done += UInt64(n)
        }
        return HUSK_OK
    }

    func write(from buf: UnsafeRawPointer, len: UInt64, offset: UInt64) -> Int32 {
        var done: UInt64 = 0
        while done < len {
            let n = pwrite(fd, buf + Int(done), Int(len - done), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return HypError.fromErrno(errno).code
            }
            if n == 0 { return HUSK_EIO }
            done += UInt64(n)
        }
        return HUSK_OK
    }

    func flush() -> Int32 {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            return errno == EINVAL ? HUSK_OK : HypError.fromErrno(errno).code  // EINVAL: no sync for this file type
        }
        return HUSK_OK
    }

    func begin() { lock.withLock { inflight += 1 } }
    func end() {
        lock.withLock {
            inflight -= 1
            if inflight == 0 { lock.broadcast() }
        }
    }

    /// Wait until every submitted request has completed.
    func drain() {
        lock.withLock { while inflight > 0 { lock.wait() } }
    }
}
