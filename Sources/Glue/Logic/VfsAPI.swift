import GlueAPI
import HypercallABI

// The file-system registry (husk/glue/vfs.h): a file-system component
// registers the operations of each file system it mounts; a server finds
// one by name (Glue.FileSystem) and calls them on its own threads, acting
// for the provider's component, counted so that unregister can wait until
// no call is inside them.

@_cdecl("glue_vfs_register")
public func glue_vfs_register(_ p: UnsafePointer<vfs_ops>?) -> Int32 {
    guard let p else { return HUSK_EINVAL }
    return FileSystems.shared.register(p, ctx: Hyp.currentOrNil)
}

@_cdecl("glue_vfs_unregister")
public func glue_vfs_unregister(_ p: UnsafePointer<vfs_ops>?) {
    guard let p else { return }
    FileSystems.shared.unregister(p, ctx: Hyp.currentOrNil)
}

/// A registered file system as the glue sees it.
final class FileSystemRecord: @unchecked Sendable {
    // @unchecked: `alive` and `activeCalls` are guarded by FileSystems' lock;
    // the rest is immutable. `ops` points at the provider's struct, valid
    // until unregister returns (the API contract).
    let ops: UnsafePointer<vfs_ops>
    let name: String
    let ctx: OpaquePointer?
    var alive = true
    var activeCalls = 0

    init(_ ops: UnsafePointer<vfs_ops>, name: String, ctx: OpaquePointer?) {
        self.ops = ops
        self.name = name
        self.ctx = ctx
    }
}

final class FileSystems: Sendable {
    static let shared = FileSystems()
    private let state = GlueLock("glue.vfs", [String: FileSystemRecord]())

    func withLock<T>(_ body: (inout [String: FileSystemRecord]) -> T) -> T {
        state.withLock { s in
            nonisolated(unsafe) let v = body(&s)
            return v
        }
    }

    func register(_ p: UnsafePointer<vfs_ops>, ctx: OpaquePointer?) -> Int32 {
        let o = p.pointee
        guard let cname = o.name, disk_name_valid(cname, Int(VFS_FS_NAME_MAX)), o.lookup != nil, o.getattr != nil,
            o.setattr != nil, o.open != nil, o.read != nil, o.write != nil, o.create != nil, o.mkdir != nil,
            o.symlink != nil, o.link != nil, o.unlink != nil, o.rmdir != nil, o.rename != nil, o.readlink != nil,
            o.readdir != nil, o.fsync != nil, o.statfs != nil
        else { return HUSK_EINVAL }
        let rec = FileSystemRecord(p, name: String(cString: cname), ctx: ctx)
        return withLock { s in
            if s[rec.name] != nil { return HUSK_EEXIST }
            s[rec.name] = rec
            return HUSK_OK
        }
    }

    func unregister(_ p: UnsafePointer<vfs_ops>, ctx: OpaquePointer?) {
        let rec = withLock { s -> FileSystemRecord? in
            guard let (name, r) = s.first(where: { $0.value.ops == p }) else { return nil }
            s.removeValue(forKey: name)
            r.alive = false
            return r
        }
        guard let rec else { return }
        while withLock({ _ in rec.activeCalls }) > 0 { _ = Hyp.table.pointee.sleep_ns!(ctx ?? Hyp.currentOrNil, 100_000) }
    }

    func find(_ name: String) -> FileSystemRecord? { withLock { s in s[name] } }
    func names() -> [String] { withLock { s in s.keys.sorted() } }

    /// One op of the provider on this thread, acting for its component;
    /// HUSK_ENODEV when the file system is gone.
    func call(_ rec: FileSystemRecord, _ body: (vfs_ops) -> Int32) -> Int32 {
        let ok = withLock { _ -> Bool in
            guard rec.alive else { return false }
            rec.activeCalls += 1
            return true
        }
        guard ok else { return HUSK_ENODEV }
        defer { withLock { _ in rec.activeCalls -= 1 } }
        return Hyp.acting(as: rec.ctx) { body(rec.ops.pointee) }
    }
}

extension Glue {
    /// Names of the file systems registered now, sorted.
    public static func fileSystemNames() -> [String] { FileSystems.shared.names() }

    /// A failed file-system call: a HUSK_E* code (errno values).
    public struct FileSystemError: Error, Equatable, Sendable {
        public let code: Int32
        public init(_ code: Int32) { self.code = code }
    }

    /// A directory entry from readdir.
    public struct DirectoryEntry: Equatable, Sendable {
        public var ino: UInt64
        public var cookie: UInt64  // where the next readdir continues after this entry
        public var type: UInt8  // DT_* (4 directory, 8 regular file, 10 symbolic link, ...)
        public var name: [UInt8]
    }

    /// A registered file system (husk/glue/vfs.h) for a consumer: its ops,
    /// each run on the calling thread acting for the provider. The caller's
    /// identity for permission checks is the thread's current caller
    /// (Glue.withCaller, set by the RPC server around each call).
    public struct FileSystem: Sendable {
        let rec: FileSystemRecord
        public init?(named name: String) {
            guard let r = FileSystems.shared.find(name) else { return nil }
            rec = r
        }
        public var name: String { rec.name }
        public var isReadOnly: Bool { rec.ops.pointee.read_only != 0 }
        public static let rootIno: UInt64 = UInt64(VFS_ROOT_INO)

        private func check(_ r: Int32) throws(FileSystemError) { if r != HUSK_OK { throw FileSystemError(r) } }
        private func call(_ body: (vfs_ops) -> Int32) throws(FileSystemError) { try check(FileSystems.shared.call(rec, body)) }

        public func lookup(_ dir: UInt64, _ name: String) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in name.withCString { o.lookup(o.priv, dir, $0, &a) } }
            return a
        }
        public func getattr(_ ino: UInt64) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in o.getattr(o.priv, ino, &a) }
            return a
        }
        public func setattr(_ ino: UInt64, valid: UInt32, _ attr: vfs_attr) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            var input = attr
            try call { o in o.setattr(o.priv, ino, valid, &input, &a) }
            return a
        }
        public func open(_ ino: UInt64, access: UInt32) throws(FileSystemError) {
            try call { o in o.open(o.priv, ino, access) }
        }
        public func read(_ ino: UInt64, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(FileSystemError) -> Int {
            var done: UInt64 = 0
            try call { o in o.read(o.priv, ino, offset, buffer.baseAddress, UInt64(buffer.count), &done) }
            return Int(done)
        }
        public func write(_ ino: UInt64, at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws(FileSystemError) -> Int {
            var done: UInt64 = 0
            try call { o in o.write(o.priv, ino, offset, buffer.baseAddress, UInt64(buffer.count), &done) }
            return Int(done)
        }
        public func create(_ dir: UInt64, _ name: String, mode: UInt32) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in name.withCString { o.create(o.priv, dir, $0, mode, &a) } }
            return a
        }
        public func mkdir(_ dir: UInt64, _ name: String, mode: UInt32) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in name.withCString { o.mkdir(o.priv, dir, $0, mode, &a) } }
            return a
        }
        public func symlink(_ dir: UInt64, _ name: String, target: String) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in name.withCString { n in target.withCString { o.symlink(o.priv, dir, n, $0, &a) } } }
            return a
        }
        public func link(_ ino: UInt64, into dir: UInt64, _ name: String) throws(FileSystemError) -> vfs_attr {
            var a = vfs_attr()
            try call { o in name.withCString { o.link(o.priv, ino, dir, $0, &a) } }
            return a
        }
        public func unlink(_ dir: UInt64, _ name: String) throws(FileSystemError) {
            try call { o in name.withCString { o.unlink(o.priv, dir, $0) } }
        }
        public func rmdir(_ dir: UInt64, _ name: String) throws(FileSystemError) {
            try call { o in name.withCString { o.rmdir(o.priv, dir, $0) } }
        }
        public func rename(_ fromDir: UInt64, _ from: String, _ toDir: UInt64, _ to: String) throws(FileSystemError) {
            try call { o in from.withCString { f in to.withCString { o.rename(o.priv, fromDir, f, toDir, $0) } } }
        }
        public func readlink(_ ino: UInt64) throws(FileSystemError) -> [UInt8] {
            var buf = [UInt8](repeating: 0, count: Int(VFS_SYMLINK_MAX))
            var len: UInt32 = 0
            try call { o in buf.withUnsafeMutableBytes { o.readlink(o.priv, ino, $0.baseAddress, UInt32($0.count), &len) } }
            return Array(buf.prefix(Int(len)))
        }
        /// Entries from `cookie` (0: the start) that fit in `capacity` bytes
        /// of records, and whether the directory ended.
        public func readdir(
            _ dir: UInt64, cookie: UInt64, capacity: Int = 16384
        ) throws(FileSystemError) -> (
            entries: [DirectoryEntry], eof: Bool
        ) {
            var buf = [UInt8](repeating: 0, count: capacity)
            var used: UInt32 = 0
            var eof = false
            try call { o in buf.withUnsafeMutableBytes { o.readdir(o.priv, dir, cookie, $0.baseAddress, UInt32($0.count), &used, &eof) } }
            var out: [DirectoryEntry] = []
            var i = 0
            let header = Int(VFS_DIRENT_HEADER)
            func le64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(buf[at + $1]) << (8 * UInt64($1)) } }
            while i + header <= Int(used) {
                let len = Int(buf[i + 17])
                guard i + header + len <= Int(used) else { break }
                out.append(
                    DirectoryEntry(
                        ino: le64(i), cookie: le64(i + 8), type: buf[i + 16], name: Array(buf[(i + header)..<(i + header + len)])))
                i += header + len
            }
            return (out, eof)
        }
        public func fsync(_ ino: UInt64) throws(FileSystemError) { try call { o in o.fsync(o.priv, ino) } }
        public func statfs() throws(FileSystemError) -> vfs_statfs {
            var s = vfs_statfs()
            try call { o in o.statfs(o.priv, &s) }
            return s
        }
    }
}
