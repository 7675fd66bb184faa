import Glibc
import Platform
import RPCClient
import RPCInterfaces
import RPCWire

/// A client of `husk fs serve` (Interfaces/fs.idl, docs/fs.md): paths
/// resolved component by component from the root, files as handles of
/// this connection, large transfers through one shared-memory window.
///
/// The connection uses the shared-memory call rings (protocol.md section
/// 11) unless `ring` is false: a call is then a few microseconds instead
/// of a socket round trip between two processes.
public final class FileSystemClient: @unchecked Sendable {
    // @unchecked: `window` is guarded by `windowLock`; the rest is immutable.
    public let rpc: RPCClient
    public let fs: FsClient
    public static let rootIno: UInt64 = 2
    /// Size of the shared window for transfers above `OpenedFile.inlineMax`.
    let windowSize: Int
    let windowLock = Monitor()
    var window: SharedMemory?

    public init(socket: String, timeoutSeconds: Double = 10, ring: Bool = true, window: Int = 1 << 20) throws(RPCError) {
        rpc = try RPCClient.connect(
            path: socket, require: [(Fs.interfaceID, Fs.interfaceVersion)], timeoutSeconds: timeoutSeconds, ring: ring)
        fs = FsClient(rpc)
        windowSize = window
    }

    /// Run `body` with the connection's shared window (registered on first
    /// use), one caller at a time.
    func withWindow<T>(_ body: (SharedMemory) throws(RPCError) -> T) throws(RPCError) -> T {
        try windowLock.withLock { () throws(RPCError) -> T in
            if let window { return try body(window) }
            let w = try rpc.registerSharedMemory(size: windowSize)
            window = w
            return try body(w)
        }
    }

    /// An inode's attributes (fs.idl's `attr`).
    public struct Attr: Equatable, Sendable {
        public var ino: UInt64, mode: UInt32, nlink: UInt32, uid: UInt32, gid: UInt32
        public var size: UInt64, blocks: UInt64, atime: Int64, mtime: Int64, ctime: Int64
        public var blksize: UInt32, rdev: UInt32, generation: UInt32
        public init(_ a: [UInt64]) throws(RPCError) {
            guard a.count >= 13 else { throw RPCError(RPCStatus.proto, "attr has \(a.count) fields, not 13") }
            ino = a[0]
            mode = UInt32(truncatingIfNeeded: a[1])
            nlink = UInt32(truncatingIfNeeded: a[2])
            uid = UInt32(truncatingIfNeeded: a[3])
            gid = UInt32(truncatingIfNeeded: a[4])
            size = a[5]
            blocks = a[6]
            atime = Int64(bitPattern: a[7])
            mtime = Int64(bitPattern: a[8])
            ctime = Int64(bitPattern: a[9])
            blksize = UInt32(truncatingIfNeeded: a[10])
            rdev = UInt32(truncatingIfNeeded: a[11])
            generation = UInt32(truncatingIfNeeded: a[12])
        }
        public var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
        public var isSymlink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
        public var isRegular: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
    }

    public struct Entry: Equatable, Sendable {
        public var ino: UInt64
        public var type: UInt8
        public var name: String
    }

    /// Path components of an absolute or root-relative path ("." dropped).
    public static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    public func getattr(_ ino: UInt64) throws(RPCError) -> Attr { try Attr(fs.getattr(ino: ino).attr) }
    public func lookup(_ dir: UInt64, _ name: String) throws(RPCError) -> Attr { try Attr(fs.lookup(dir: dir, name: name).attr) }

    /// The inode a path names, following symbolic links (the last one only
    /// if `followLast`), at most 40 of them (ELOOP).
    public func resolve(_ path: String, followLast: Bool = true) throws(RPCError) -> Attr {
        var links = 0
        return try walk(Self.components(path), from: Self.rootIno, followLast: followLast, links: &links)
    }

    private func walk(_ parts: [String], from start: UInt64, followLast: Bool, links: inout Int) throws(RPCError) -> Attr {
        var cur = try getattr(start)
        for (i, part) in parts.enumerated() {
            guard cur.isDirectory else { throw RPCError(ENOTDIR, "'\(part)': not in a directory") }
            let next = try lookup(cur.ino, part)
            let last = i == parts.count - 1
            if next.isSymlink && (!last || followLast) {
                links += 1
                if links > 40 { throw RPCError(ELOOP, "too many symbolic links") }
                let target = try fs.readlink(ino: next.ino).target
                let base = target.hasPrefix("/") ? Self.rootIno : cur.ino
                cur = try walk(Self.components(target), from: base, followLast: true, links: &links)
            } else {
                cur = next
            }
        }
        return cur
    }

    /// The directory that holds a path's last component, and that name.
    public func parent(of path: String) throws(RPCError) -> (dir: Attr, name: String) {
        let parts = Self.components(path)
        guard let name = parts.last else { throw RPCError(RPCStatus.inval, "'\(path)' names the root, not an entry in a directory") }
        let dir = try resolve("/" + parts.dropLast().joined(separator: "/"))
        guard dir.isDirectory else { throw RPCError(ENOTDIR, "'\(path)': not in a directory") }
        return (dir, name)
    }

    /// Every entry of a directory, "." and ".." included.
    public func list(_ dir: UInt64) throws(RPCError) -> [Entry] {
        var out: [Entry] = []
        var cookie: UInt64 = 0
        while true {
            let r = try fs.readdir(dir: dir, cookie: cookie, max: 65536)
            let b = r.entries
            var i = 0
            func le64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
            while i + 18 <= b.count {
                let len = Int(b[i + 17])
                guard i + 18 + len <= b.count else { throw RPCError(RPCStatus.proto, "readdir: a record runs past the end") }
                out.append(Entry(ino: le64(i), type: b[i + 16], name: String(decoding: b[(i + 18)..<(i + 18 + len)], as: UTF8.self)))
                cookie = le64(i + 8)
                i += 18 + len
            }
            if r.eof || b.isEmpty { return out }
        }
    }

    public func open(_ ino: UInt64, write: Bool, read: Bool = true) throws(RPCError) -> OpenedFile {
        let h = try fs.openHandle(ino: ino, access: (read ? 1 : 0) | (write ? 2 : 0)).handle
        return OpenedFile(ino: ino, handle: h, client: self)
    }

    /// Create (or, unless `exclusive`, open) a regular file for reading and writing.
    public func create(_ dir: UInt64, _ name: String, mode: UInt32, exclusive: Bool = false) throws(RPCError) -> (Attr, OpenedFile) {
        let r = try fs.createHandle(dir: dir, name: name, mode: mode, exclusive: exclusive)
        let attr = try Attr(r.attr)
        return (attr, OpenedFile(ino: attr.ino, handle: r.handle, client: self))
    }
}

/// An opened file: a handle of the client's connection (fs.idl version
/// 2's open_handle or create_handle), bound on the server to the file and
/// its access mode; closing it (or the connection) releases it. Transfers
/// up to 64 KiB travel inline in the messages; larger ones go through the
/// client's shared-memory window. One thread at a time.
public final class OpenedFile: @unchecked Sendable {
    // @unchecked: used by one caller at a time (by contract).
    public let ino: UInt64
    let client: FileSystemClient
    var handle: UInt64?
    public static let inlineMax = 65536

    init(ino: UInt64, handle: UInt64, client: FileSystemClient) {
        self.ino = ino
        self.handle = handle
        self.client = client
    }

    deinit { if let handle { _ = try? client.fs.closeHandle(handle: handle) } }

    private func live() throws(RPCError) -> UInt64 {
        guard let handle else { throw RPCError(RPCStatus.badf, "file closed") }
        return handle
    }

    /// Up to `length` bytes at `offset` (fewer at the end of the file).
    public func read(offset: UInt64, length: Int) throws(RPCError) -> [UInt8] {
        let h = try live()
        let fs = client.fs
        if length <= Self.inlineMax { return try fs.handleReadInline(handle: h, offset: offset, max: UInt32(length)).data }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        while out.count < length {
            let done = out.count
            let (got, n) = try client.withWindow { (window) throws(RPCError) -> (Int, Int) in
                let n = min(window.size, length - done)
                let got = Int(
                    try fs.handleRead(handle: h, offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(n))).count)
                out += UnsafeRawBufferPointer(start: window.base, count: min(got, n))
                return (got, n)
            }
            if got < n { break }
        }
        return out
    }

    /// Read into `into` at `offset`; the count read (fewer at the end of the file).
    public func read(offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(RPCError) -> Int {
        let h = try live()
        let fs = client.fs
        var done = 0
        while done < buffer.count {
            let n = min(buffer.count - done, Self.inlineMax)
            let got: Int
            if buffer.count - done <= Self.inlineMax {
                let data = try fs.handleReadInline(handle: h, offset: offset + UInt64(done), max: UInt32(n)).data
                got = min(data.count, n)
                data.withUnsafeBytes { buffer.baseAddress!.advanced(by: done).copyMemory(from: $0.baseAddress!, byteCount: got) }
                done += got
                if got < n { break }
                continue
            }
            let (g, m) = try client.withWindow { (window) throws(RPCError) -> (Int, Int) in
                let m = min(window.size, buffer.count - done)
                let g = min(
                    Int(
                        try fs.handleRead(handle: h, offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(m))).count),
                    m)
                buffer.baseAddress!.advanced(by: done).copyMemory(from: window.base, byteCount: g)
                return (g, m)
            }
            got = g
            done += got
            if got < m { break }
        }
        return done
    }

    public func write(offset: UInt64, _ bytes: [UInt8]) throws(RPCError) {
        var failure: RPCError?
        bytes.withUnsafeBytes { b in
            do throws(RPCError) { try write(offset: offset, from: b) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Write all of `bytes` at `offset`.
    public func write(offset: UInt64, from bytes: UnsafeRawBufferPointer) throws(RPCError) {
        let h = try live()
        let fs = client.fs
        var done = 0
        while done < bytes.count {
            let wrote: Int
            if bytes.count - done <= Self.inlineMax {
                wrote = Int(try fs.handleWriteInline(handle: h, offset: offset + UInt64(done), data: Array(bytes[done...])).count)
            } else {
                wrote = try client.withWindow { (window) throws(RPCError) -> Int in
                    let n = min(window.size, bytes.count - done)
                    window.base.copyMemory(from: bytes.baseAddress! + done, byteCount: n)
                    return Int(
                        try fs.handleWrite(handle: h, offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(n))).count
                    )
                }
            }
            if wrote == 0 { throw RPCError(RPCStatus.io, "write made no progress") }
            done += wrote
        }
    }

    public func fsync() throws(RPCError) { _ = try client.fs.handleFsync(handle: try live()) }

    /// Release the file on the server.
    public func close() throws(RPCError) {
        guard let h = handle else { return }
        handle = nil
        _ = try client.fs.closeHandle(handle: h)
    }
}
