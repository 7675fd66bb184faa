import Glibc

/// A writer of the "newc" cpio format (what the kernel unpacks as an
/// initramfs): entries are a 110-byte ASCII header, the NUL-terminated name
/// padded to 4 bytes, the data padded to 4 bytes; "TRAILER!!!" ends it.
struct CpioWriter {
    private let fd: Int32
    private let path: String
    private var inode: UInt32 = 1000
    private var offset = 0

    init(path: String) throws(GuestImageError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot create \(path): \(errnoString())") }
        self.path = path
    }

    mutating func directory(_ name: String) throws(GuestImageError) {
        try entry(name, mode: 0o040755, size: 0, nlink: 2)
    }

    mutating func file(_ name: String, contents: [UInt8], mode: UInt32 = 0o644) throws(GuestImageError) {
        try entry(name, mode: 0o100000 | mode, size: contents.count)
        try put(contents)
        try pad()
    }

    /// A regular file copied from the host, streamed.
    mutating func file(_ name: String, from source: String, mode: UInt32) throws(GuestImageError) {
        guard let size = Files.size(source) else { throw .system("cannot stat \(source): \(errnoString())") }
        try entry(name, mode: 0o100000 | mode, size: size)
        let src = open(source, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw .system("cannot open \(source): \(errnoString())") }
        defer { close(src) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var left = size
        while left > 0 {
            let n = read(src, &buf, min(buf.count, left))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw .system("short read of \(source)") }
            try put(Array(buf[0..<n]))
            left -= n
        }
        try pad()
    }

    mutating func characterDevice(_ name: String, major: UInt32, minor: UInt32, mode: UInt32 = 0o600) throws(GuestImageError) {
        try entry(name, mode: 0o020000 | mode, size: 0, rdevMajor: major, rdevMinor: minor)
    }

    mutating func symlink(_ name: String, target: String) throws(GuestImageError) {
        let bytes = Array(target.utf8)
        try entry(name, mode: 0o120777, size: bytes.count)
        try put(bytes)
        try pad()
    }

    mutating func finish() throws(GuestImageError) {
        try entry("TRAILER!!!", mode: 0, size: 0, nlink: 1, countInode: false)
        close(fd)
    }

    private mutating func entry(
        _ name: String, mode: UInt32, size: Int, nlink: UInt32 = 1,
        rdevMajor: UInt32 = 0, rdevMinor: UInt32 = 0, countInode: Bool = true
    ) throws(GuestImageError) {
        let nameBytes = Array(name.utf8) + [0]
        let fields: [UInt32] = [
            countInode ? inode : 0, mode, 0, 0, nlink, 0, UInt32(size), 0, 0,
            rdevMajor, rdevMinor, UInt32(nameBytes.count), 0
        ]
        if countInode { inode += 1 }
        var header = Array("070701".utf8)
        for f in fields { header += hex8(f) }
        try put(header + nameBytes)
        try pad()
    }

    private func hex8(_ v: UInt32) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        return (0..<8).reversed().map { digits[Int((v >> (UInt32($0) * 4)) & 0xf)] }
    }

    private mutating func pad() throws(GuestImageError) {
        let n = (4 - offset % 4) % 4
        if n > 0 { try put([UInt8](repeating: 0, count: n)) }
    }

    private mutating func put(_ bytes: [UInt8]) throws(GuestImageError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw .system("cannot write \(path): \(errnoString())") }
            done += n
        }
        offset += bytes.count
    }
}
