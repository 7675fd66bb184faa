import Glibc

/// A temporary image file for a disk under test, removed at deinit.
public final class TempImage {
    public let path: String

    /// `bytes` long, every byte `fill` (0: a sparse file).
    public init(bytes: Int, fill: UInt8 = 0) {
        var template = Array("/tmp/husk-image-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "mkstemp: \(errno)")
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if fill == 0 {
            precondition(ftruncate(fd, off_t(bytes)) == 0)
        } else {
            let data = [UInt8](repeating: fill, count: bytes)
            precondition(data.withUnsafeBytes { write(fd, $0.baseAddress, bytes) } == bytes)
        }
        close(fd)
    }

    /// What the file holds at [offset, offset + count) (short at its end).
    public func contents(offset: Int, count: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return Array(out.prefix(max(0, n)))
    }

    deinit { unlink(path) }
}
