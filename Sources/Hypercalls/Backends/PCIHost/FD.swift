// Shared with UIOBackend: keep Sources/{VFIO,UIO}Backend/Shared/ identical
// until the two backends get a common target (see docs/backends-vfio-uio.md).
import Glibc

/// A failed system call: the errno it left.
public struct SysError: Error, Equatable, Sendable {
    public let errno: Int32
    public var message: String { errnoString(errno) }
    public init(errno: Int32) { self.errno = errno }
}

/// strerror as a String.
public func errnoString(_ e: Int32) -> String {
    guard let p = strerror(e) else { return "errno \(e)" }
    return String(cString: p)
}

/// Sole owner of a file descriptor: closes it exactly once, when dropped.
/// Being ~Copyable, a leak or a double close does not compile.
public struct FD: ~Copyable, Sendable {
    public let raw: Int32

    public init(adopting raw: Int32) { self.raw = raw }

    /// open(2) with O_CLOEXEC added.
    public init(path: String, flags: Int32) throws(SysError) {
        let fd = Glibc.open(path, flags | O_CLOEXEC)
        if fd < 0 { throw SysError(errno: errno) }
        raw = fd
    }

    deinit { _ = Glibc.close(raw) }
}

/// Read a whole small file (sysfs attributes): nil if it cannot be read.
public func readSmallFile(_ path: String, limit: Int = 8192) -> [UInt8]? {
    guard let fd = try? FD(path: path, flags: O_RDONLY) else { return nil }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while out.count < limit {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd.raw, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// The text of a small file without surrounding white space.
public func readTextFile(_ path: String) -> String? {
    guard let bytes = readSmallFile(path) else { return nil }
    let text = String(decoding: bytes, as: UTF8.self)
    var s = Substring(text)
    while let c = s.last, c == "\n" || c == " " || c == "\t" || c == "\0" { s.removeLast() }
    while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
    return String(s)
}

/// Write a string to a file (sysfs attributes); the errno on failure.
public func writeTextFile(_ path: String, _ text: String) throws(SysError) {
    let fd = try FD(path: path, flags: O_WRONLY)
    var bytes = Array(text.utf8)
    let n = bytes.withUnsafeMutableBytes { Glibc.write(fd.raw, $0.baseAddress, $0.count) }
    if n < 0 { throw SysError(errno: errno) }
}

/// Target of a symbolic link, or nil.
public func readLink(_ path: String) -> String? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBytes { raw in
        readlink(path, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count - 1)
    }
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
}

public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Names in a directory (without "." and ".."), sorted; empty if unreadable.
public func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

public var hostPageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }
