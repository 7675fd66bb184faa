import FSClientC
import Glibc
import Platform
import RPCClient
import RPCClientC
import RPCInterfaces
import RPCWire

/// A client of `husk fs serve` (Interfaces/fs.idl, docs/fs.md): paths
/// resolved component by component from the root, files as handles of
/// the client's connection, large transfers through one shared-memory
/// window.
///
/// Two connections to the server, one identity: `fs` (the Swift client)
/// for every operation, and a fast path for the frequent ones (lookup,
/// getattr, unlink, the handles and their I/O) through the generated C
/// stubs, whose calling thread consumes the reply ring itself rather than
/// being woken by a reader thread. Both use the shared-memory call rings
/// (protocol.md section 11) unless `ring` is false or the environment has
/// HUSK_RPC_RING=0. Calls from one thread reach the server in order (each
/// returns before the next starts), whichever connection carries them.
public final class FileSystemClient: @unchecked Sendable {
    // @unchecked: `window` is guarded by `windowLock`; `fast` serialises
    // its calls itself (the C client's mutex); the rest is immutable.
    public let rpc: RPCClient
    public let fs: FsClient
    let fast: OpaquePointer
    public static let rootIno: UInt64 = 2
    /// Size of the shared window for transfers above `OpenedFile.inlineMax`.
    let windowSize: Int
    let windowLock = Monitor()
    var window: husk_rpc_shm?
    /// Handles closed but not yet released on the server (under
    /// `windowLock`): released together, `closeBatch` at a time, by one
    /// close_handles call. A handle holds nothing a later call could see
    /// (no lock, no unlinked file kept alive), so a late release changes
    /// nothing but the server's table; the connection's end releases the rest.
    var closing: [UInt64] = []
    static let closeBatch = 64

    /// The data path unless told otherwise: the rings, or the socket when
    /// the environment has HUSK_RPC_RING=0.
    public static let ringByDefault: Bool = {
        guard let v = getenv("HUSK_RPC_RING") else { return true }
        return String(cString: v) != "0"
    }()

    public init(
        socket: String, timeoutSeconds: Double = 10, ring: Bool = FileSystemClient.ringByDefault, window: Int = 1 << 20
    )
        throws(RPCError)
    {
        rpc = try RPCClient.connect(
            path: socket, require: [(Fs.interfaceID, Fs.interfaceVersion)], timeoutSeconds: timeoutSeconds, ring: ring)
        fs = FsClient(rpc)
        windowSize = window
        var conn: OpaquePointer?
        var message = [CChar](repeating: 0, count: 256)
        let r = husk_fs_fast_connect(socket, ring, &conn, &message, message.count)
        guard r == 0, let conn else {
            rpc.close()
            throw RPCError(
                r == 0 ? RPCStatus.io : r, String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        fast = conn
    }

    /// Release `handle` on the server, now or with the next batch.
    func release(_ handle: UInt64) throws(RPCError) {
        let batch: [UInt64]? = windowLock.withLock {
            closing.append(handle)
            guard closing.count >= Self.closeBatch else { return nil }
            defer { closing = [] }
            return closing
        }
        guard let batch else { return }
        try Self.check(husk_fs_close_handles(fast, batch, UInt32(batch.count)), "close handles")
    }

    deinit {
        husk_rpc_close(fast)
        if var w = window { _ = husk_rpc_shm_unregister(fast, &w) }
    }

    /// A status of the C client as an error.
    static func check(_ r: Int32, _ what: @autoclosure () -> String) throws(RPCError) {
        if r != 0 { throw RPCError(r, what()) }
    }

    /// Run `body` with the fast connection's shared window (registered on
    /// first use), one caller at a time.
    func withWindow<T>(_ body: (husk_rpc_shm) throws(RPCError) -> T) throws(RPCError) -> T {
        try windowLock.withLock { () throws(RPCError) -> T in
            if let window { return try body(window) }
            var w = husk_rpc_shm()
            try Self.check(husk_rpc_shm_register(fast, UInt64(windowSize), &w), "register the shared window")
            window = w
            return try body(w)
        }
    }

    /// An attr reply of the fast path.
    func attrCall(
        _ what: @autoclosure () -> String, _ call: (UnsafeMutablePointer<UInt64>, UInt32, UnsafeMutablePointer<UInt32>) -> Int32
    )
        throws(RPCError) -> Attr
    {
        var a = [UInt64](repeating: 0, count: 16)
        var n: UInt32 = 0
        let r = a.withUnsafeMutableBufferPointer { call($0.baseAddress!, UInt32($0.count), &n) }
        try Self.check(r, what())
        return try Attr(Array(a.prefix(Int(n))))
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

    public func getattr(_ ino: UInt64) throws(RPCError) -> Attr {
        try attrCall("getattr \(ino)") { husk_fs_getattr(fast, ino, $0, $1, $2) }
    }

    public func lookup(_ dir: UInt64, _ name: String) throws(RPCError) -> Attr {
        try attrCall("lookup '\(name)' in \(dir)") { husk_fs_lookup(fast, dir, name, $0, $1, $2) }
    }

    public func unlink(_ dir: UInt64, _ name: String) throws(RPCError) {
        try Self.check(husk_fs_unlink(fast, dir, name), "unlink '\(name)' in \(dir)")
    }

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
        var h: UInt64 = 0
        try Self.check(husk_fs_open_handle(fast, ino, (read ? 1 : 0) | (write ? 2 : 0), &h), "open \(ino)")
        return OpenedFile(ino: ino, handle: h, client: self)
    }

    /// Create (or, unless `exclusive`, open) a regular file for reading and writing.
    public func create(_ dir: UInt64, _ name: String, mode: UInt32, exclusive: Bool = false) throws(RPCError) -> (Attr, OpenedFile) {
        var h: UInt64 = 0
        let attr = try attrCall("create '\(name)' in \(dir)") { husk_fs_create_handle(fast, dir, name, mode, exclusive, $0, $1, $2, &h) }
        return (attr, OpenedFile(ino: attr.ino, handle: h, client: self))
    }
}

/// An opened file: a handle of the client's fast connection (fs.idl
/// version 2's open_handle or create_handle), bound on the server to the
/// file and its access mode; closing it (or the connection) releases it.
/// Transfers up to 64 KiB travel inline in the messages; larger ones go
/// through the client's shared-memory window. One thread at a time.
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

    deinit { if let handle { try? client.release(handle) } }

    private func live() throws(RPCError) -> UInt64 {
        guard let handle else { throw RPCError(RPCStatus.badf, "file closed") }
        return handle
    }

    /// Up to `length` bytes at `offset` (fewer at the end of the file).
    public func read(offset: UInt64, length: Int) throws(RPCError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        var failure: RPCError?
        let n = out.withUnsafeMutableBytes { b -> Int in
            do throws(RPCError) { return try read(offset: offset, into: b) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        out.removeLast(length - n)
        return out
    }

    /// Read into `buffer` at `offset`; the count read (fewer at the end of the file).
    public func read(offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(RPCError) -> Int {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let got = try readSome(offset: offset + UInt64(done), into: rest)
            done += got
            // Fewer than one call moves: the end of the file.
            if got < (rest.count <= Self.inlineMax ? rest.count : min(client.windowSize, rest.count)) { break }
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
        var done = 0
        while done < bytes.count {
            let wrote = try writeSome(offset: offset + UInt64(done), UnsafeRawBufferPointer(rebasing: bytes[done...]))
            if wrote == 0 { throw RPCError(RPCStatus.io, "write made no progress") }
            done += wrote
        }
    }

    /// One call: up to min(`into.count`, the client's window) bytes at
    /// `offset` into `into`. Returns the count, 0 at the end of the file,
    /// fewer than asked when the call was interrupted after some progress
    /// (a signal without SA_RESTART in this thread cancels it,
    /// docs/rpc-runtime.md); nothing moved throws EINTR.
    public func readSome(offset: UInt64, into: UnsafeMutableRawBufferPointer) throws(RPCError) -> Int {
        let h = try live()
        let fast = client.fast
        if into.count <= Self.inlineMax {
            var got: UInt32 = 0
            let p = into.baseAddress!.assumingMemoryBound(to: UInt8.self)
            try FileSystemClient.check(
                husk_fs_handle_read_inline(fast, h, offset, UInt32(into.count), p, UInt32(into.count), &got), "read \(ino)")
            return min(Int(got), into.count)
        }
        return try client.withWindow { (window) throws(RPCError) -> Int in
            let n = min(Int(window.size), into.count)
            var count: UInt64 = 0
            try FileSystemClient.check(
                husk_fs_handle_read(fast, h, offset, husk_rpc_shm_ref(id: window.id, offset: 0, length: UInt64(n)), &count), "read \(ino)")
            let got = min(Int(count), n)
            into.baseAddress!.copyMemory(from: window.base, byteCount: got)
            return got
        }
    }

    /// One call: up to min(`bytes.count`, the client's window) bytes at
    /// `offset`. Returns the count written, short when the call was
    /// interrupted after some progress; nothing written throws (EINTR
    /// when interrupted).
    public func writeSome(offset: UInt64, _ bytes: UnsafeRawBufferPointer) throws(RPCError) -> Int {
        let h = try live()
        let fast = client.fast
        if bytes.count <= Self.inlineMax {
            var count: UInt32 = 0
            let p = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            try FileSystemClient.check(husk_fs_handle_write_inline(fast, h, offset, p, UInt32(bytes.count), &count), "write \(ino)")
            return Int(count)
        }
        return try client.withWindow { (window) throws(RPCError) -> Int in
            let n = min(Int(window.size), bytes.count)
            window.base.copyMemory(from: bytes.baseAddress!, byteCount: n)
            var count: UInt64 = 0
            try FileSystemClient.check(
                husk_fs_handle_write(fast, h, offset, husk_rpc_shm_ref(id: window.id, offset: 0, length: UInt64(n)), &count),
                "write \(ino)")
            return Int(min(Int(count), n))
        }
    }

    public func fsync() throws(RPCError) { try FileSystemClient.check(husk_fs_handle_fsync(client.fast, try live()), "fsync \(ino)") }

    /// Release the file (on the server with the client's next batch of
    /// closes, FileSystemClient.release).
    public func close() throws(RPCError) {
        guard let h = handle else { return }
        handle = nil
        try client.release(h)
    }
}
