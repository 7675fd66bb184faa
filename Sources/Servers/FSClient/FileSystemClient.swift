import Glibc
import RPCClient
import RPCInterfaces
import RPCWire

/// A client of `husk fs serve` (Interfaces/fs.idl, docs/fs.md): paths
/// resolved component by component from the root, files through opened
/// descriptors and a shared-memory window.
public final class FileSystemClient: Sendable {
    public let rpc: RPCClient
    public let fs: FsClient
    public static let rootIno: UInt64 = 2

    public init(socket: String, timeoutSeconds: Double = 10) throws(RPCError) {
        rpc = try RPCClient.connect(path: socket, require: [(Fs.interfaceID, Fs.interfaceVersion)], timeoutSeconds: timeoutSeconds)
        fs = FsClient(rpc)
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

    /// `window`: bytes of the shared-memory window transfers larger than
    /// 64 KiB go through, so also the most one call moves.
    public func open(_ ino: UInt64, write: Bool, read: Bool = true, window: Int = 1 << 20) throws(RPCError) -> OpenedFile {
        let fd = try fs.open(ino: ino, access: (read ? 1 : 0) | (write ? 2 : 0)).file
        return try OpenedFile(ino: ino, fd: fd, parent: rpc, window: window)
    }

    /// Create (or, unless `exclusive`, open) a regular file for reading and writing.
    public func create(
        _ dir: UInt64, _ name: String, mode: UInt32, exclusive: Bool = false, window: Int = 1 << 20
    ) throws(RPCError) -> (Attr, OpenedFile) {
        let r = try fs.create(dir: dir, name: name, mode: mode, exclusive: exclusive)
        let attr = try Attr(r.attr)
        return (attr, try OpenedFile(ino: attr.ino, fd: r.file, parent: rpc, window: window))
    }
}

/// An opened file: the descriptor open or create returned, bound on the
/// server to the file and its access mode. The connection over it (a
/// HELLO round trip and a reader thread) is made on first use, so a file
/// created and closed without I/O costs one call; closing drops the
/// descriptor or the connection, which releases the server's object.
/// Transfers up to 64 KiB travel inline in the messages; larger ones go
/// through a shared-memory window registered on first use. One thread at a
/// time.
public final class OpenedFile: @unchecked Sendable {
    // @unchecked: used by one caller at a time (by contract).
    public let ino: UInt64
    let parent: RPCClient
    var fd: Int32
    var client: (rpc: RPCClient, fs: FsClient)?
    let windowSize: Int
    var window: SharedMemory?
    public static let inlineMax = 65536

    init(ino: UInt64, fd: Int32, parent: RPCClient, window size: Int = 1 << 20) throws(RPCError) {
        self.ino = ino
        self.fd = fd
        self.parent = parent
        windowSize = size
    }

    deinit { if client == nil && fd >= 0 { Glibc.close(fd) } }

    /// The fs client on this file's connection, made on first use.
    public func connection() throws(RPCError) -> FsClient {
        if let client { return client.fs }
        guard fd >= 0 else { throw RPCError(RPCStatus.badf, "file closed") }
        let rpc = try RPCClient.adopt(fd: fd, require: [(Fs.interfaceID, Fs.interfaceVersion)], parent: parent)
        fd = -1  // the connection owns it now
        client = (rpc, FsClient(rpc))
        return client!.fs
    }

    private func sharedWindow() throws(RPCError) -> SharedMemory {
        if let window { return window }
        _ = try connection()
        let w = try client!.rpc.registerSharedMemory(size: windowSize)
        window = w
        return w
    }

    /// Up to `length` bytes at `offset` (fewer at the end of the file).
    public func read(offset: UInt64, length: Int) throws(RPCError) -> [UInt8] {
        let fs = try connection()
        if length <= Self.inlineMax { return try fs.readInline(offset: offset, max: UInt32(length)).data }
        let window = try sharedWindow()
        var out: [UInt8] = []
        while out.count < length {
            let n = min(window.size, length - out.count)
            let got = Int(try fs.read(offset: offset + UInt64(out.count), buffer: window.ref(offset: 0, length: UInt64(n))).count)
            out += UnsafeRawBufferPointer(start: window.base, count: got)
            if got < n { break }
        }
        return out
    }

    public func write(offset: UInt64, _ bytes: [UInt8]) throws(RPCError) {
        let fs = try connection()
        if bytes.count <= Self.inlineMax {
            var done = 0
            while done < bytes.count {
                let wrote = Int(try fs.writeInline(offset: offset + UInt64(done), data: Array(bytes[done...])).count)
                if wrote == 0 { throw RPCError(RPCStatus.io, "write made no progress") }
                done += wrote
            }
            return
        }
        let window = try sharedWindow()
        var done = 0
        while done < bytes.count {
            let n = min(window.size, bytes.count - done)
            bytes.withUnsafeBytes { window.base.copyMemory(from: $0.baseAddress! + done, byteCount: n) }
            let wrote = Int(try fs.write(offset: offset + UInt64(done), buffer: window.ref(offset: 0, length: UInt64(n))).count)
            if wrote == 0 { throw RPCError(RPCStatus.io, "write made no progress") }
            done += wrote
        }
    }

    /// One call: up to min(`into.count`, the window) bytes at `offset`
    /// into `into`. Returns the count, 0 at the end of the file, fewer than
    /// asked when the call was interrupted after some progress (a signal
    /// in this thread cancels it, docs/rpc-runtime.md); nothing moved
    /// throws EINTR.
    public func readSome(offset: UInt64, into: UnsafeMutableRawBufferPointer) throws(RPCError) -> Int {
        let fs = try connection()
        if into.count <= Self.inlineMax {
            let data = try fs.readInline(offset: offset, max: UInt32(into.count)).data
            guard data.count <= into.count else { throw RPCError(RPCStatus.proto, "read_inline returned more than asked") }
            data.withUnsafeBytes { into.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return data.count
        }
        let window = try sharedWindow()
        let n = min(window.size, into.count)
        let got = Int(try fs.read(offset: offset, buffer: window.ref(offset: 0, length: UInt64(n))).count)
        guard got <= n else { throw RPCError(RPCStatus.proto, "read returned more than asked") }
        into.baseAddress!.copyMemory(from: window.base, byteCount: got)
        return got
    }

    /// One call: up to min(`bytes.count`, the window) bytes at `offset`.
    /// Returns the count written, short when the call was interrupted
    /// after some progress; nothing written throws (EINTR when
    /// interrupted).
    public func writeSome(offset: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RPCError) -> Int {
        let fs = try connection()
        if bytes.count <= Self.inlineMax { return Int(try fs.writeInline(offset: offset, data: Array(bytes)).count) }
        let window = try sharedWindow()
        let n = min(window.size, bytes.count)
        window.base.copyMemory(from: bytes.baseAddress!, byteCount: n)
        return Int(try fs.write(offset: offset, buffer: window.ref(offset: 0, length: UInt64(n))).count)
    }

    public func fsync() throws(RPCError) { _ = try connection().fsync() }

    /// Release the file: the server drops its object when the descriptor
    /// (or the connection over it) closes.
    public func close() throws(RPCError) {
        if let client {
            client.rpc.close()
            self.client = nil
        } else if fd >= 0 {
            Glibc.close(fd)
        }
        fd = -1
    }
}
