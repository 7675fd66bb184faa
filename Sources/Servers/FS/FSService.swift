import Glibc
import Glue
import GlueAPI
import Platform
import RPCInterfaces
import RPCServer
import RPCWire

/// The file-system server's behaviour behind the generated FsDispatcher
/// (Interfaces/fs.idl, docs/fs.md): one file system of the glue's registry
/// (husk/glue/vfs.h), whose provider checks permissions with the caller's
/// credentials (the RPC runtime sets them on the serving thread).
public final class FSService: FsService, @unchecked Sendable {
    // @unchecked: immutable after init.
    let fs: Glue.FileSystem
    let readOnly: Bool
    /// The most bytes one read or write hands the provider at once: a call
    /// checks for cancellation between pieces (EINTR when nothing was done).
    static let piece = 1 << 20
    /// Largest inline read.
    public static let maxInline: UInt32 = 65536

    public init(fileSystem: Glue.FileSystem, readOnly: Bool = false) {
        fs = fileSystem
        self.readOnly = readOnly || fileSystem.isReadOnly
    }

    /// The 13 u64 of an `attr` (fs.idl).
    public static func encode(_ a: vfs_attr) -> [UInt64] {
        [
            a.ino, UInt64(a.mode), UInt64(a.nlink), UInt64(a.uid), UInt64(a.gid), a.size, a.blocks,
            UInt64(bitPattern: a.atime_sec), UInt64(bitPattern: a.mtime_sec), UInt64(bitPattern: a.ctime_sec),
            UInt64(a.blksize), UInt64(a.rdev), UInt64(a.generation)
        ]
    }

    private func fail(_ e: Glue.FileSystemError, _ what: String) -> RPCError { RPCError(e.code, what) }

    private func writable() throws(RPCError) {
        if readOnly { throw RPCError(RPCStatus.rofs, "the file system is served read-only") }
    }

    public func statfs(_ request: Fs.StatfsRequest, call: any RPCCall) throws(RPCError) -> Fs.StatfsReply {
        do {
            let s = try fs.statfs()
            return Fs.StatfsReply(
                blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize,
                namemax: s.namemax, readOnly: readOnly || s.read_only != 0)
        } catch { throw fail(error, "statfs") }
    }

    public func lookup(_ request: Fs.LookupRequest, call: any RPCCall) throws(RPCError) -> Fs.LookupReply {
        do { return Fs.LookupReply(attr: Self.encode(try fs.lookup(request.dir, request.name))) } catch {
            throw fail(error, "lookup '\(request.name)' in \(request.dir)")
        }
    }

    public func getattr(_ request: Fs.GetattrRequest, call: any RPCCall) throws(RPCError) -> Fs.GetattrReply {
        do { return Fs.GetattrReply(attr: Self.encode(try fs.getattr(request.ino))) } catch {
            throw fail(error, "getattr \(request.ino)")
        }
    }

    public func setattr(_ request: Fs.SetattrRequest, call: any RPCCall) throws(RPCError) -> Fs.SetattrReply {
        if request.valid != 0 { try writable() }
        var a = vfs_attr()
        a.mode = request.mode
        a.uid = request.uid
        a.gid = request.gid
        a.size = request.size
        a.atime_sec = request.atime
        a.mtime_sec = request.mtime
        do { return Fs.SetattrReply(attr: Self.encode(try fs.setattr(request.ino, valid: request.valid, a))) } catch {
            throw fail(error, "setattr \(request.ino)")
        }
    }

    /// Bind a new descriptor to `ino` opened with `access`.
    private func bind(_ ino: UInt64, access: UInt32, call: any RPCCall) throws(RPCError) -> Int32 {
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let file = OpenFile(ino: ino, readable: access & UInt32(VFS_OPEN_READ) != 0, writable: access & UInt32(VFS_OPEN_WRITE) != 0)
        switch ctx.openObjectConnection(name: "ino \(ino)", binding: file) {
        case .failure(let e): throw e
        case .success(let fd): return fd
        }
    }

    public func open(_ request: Fs.OpenRequest, call: any RPCCall) throws(RPCError) -> Fs.OpenReply {
        let access = request.access & UInt32(VFS_OPEN_READ | VFS_OPEN_WRITE)
        guard access != 0, access == request.access else {
            throw RPCError(RPCStatus.inval, "access must be 1 (read), 2 (write) or 3 (both)")
        }
        if access & UInt32(VFS_OPEN_WRITE) != 0 { try writable() }
        do { try fs.open(request.ino, access: access) } catch { throw fail(error, "open \(request.ino)") }
        return Fs.OpenReply(file: try bind(request.ino, access: access, call: call))
    }

    public func create(_ request: Fs.CreateRequest, call: any RPCCall) throws(RPCError) -> Fs.CreateReply {
        try writable()
        let rw = UInt32(VFS_OPEN_READ | VFS_OPEN_WRITE)
        var attr: vfs_attr
        do {
            attr = try fs.create(request.dir, request.name, mode: request.mode)
        } catch {
            guard error.code == HUSK_EEXIST && !request.exclusive else { throw fail(error, "create '\(request.name)' in \(request.dir)") }
            attr = try openExisting(request.dir, request.name, access: rw)
        }
        return Fs.CreateReply(attr: Self.encode(attr), file: try bind(attr.ino, access: rw, call: call))
    }

    /// open(O_CREAT) of an existing file: open it, if it is not a
    /// directory and the caller may read and write it.
    private func openExisting(_ dir: UInt64, _ name: String, access: UInt32) throws(RPCError) -> vfs_attr {
        do throws(Glue.FileSystemError) {
            let attr = try fs.lookup(dir, name)
            if attr.mode & UInt32(S_IFMT) == UInt32(S_IFDIR) { throw Glue.FileSystemError(EISDIR) }
            try fs.open(attr.ino, access: access)
            return attr
        } catch { throw fail(error, "create '\(name)' in \(dir)") }
    }

    private func file(of call: any RPCCall) throws(RPCError) -> OpenFile {
        guard let ctx = call as? any RPCServerCallContext, let f = ctx.objectBinding as? OpenFile else {
            throw RPCError(RPCStatus.badf, "not a file descriptor: call this on the descriptor fs.open or fs.create returned")
        }
        if f.isClosed { throw RPCError(RPCStatus.badf, "file closed") }
        return f
    }

    private func cancelled(_ call: any RPCCall) -> Bool { call.isCancelled || RPCWorkerThread.cancelPending }

    /// Read or write `buffer` in pieces, stopping (EINTR if nothing moved)
    /// when the client cancels.
    private func transfer(
        _ f: OpenFile, write: Bool, offset: UInt64, buffer: UnsafeMutableRawBufferPointer, call: any RPCCall
    ) throws(RPCError) -> Int {
        var done = 0
        while done < buffer.count {
            if cancelled(call) {
                if done == 0 { throw RPCError(RPCStatus.intr, write ? "write interrupted" : "read interrupted") }
                break
            }
            let n = min(Self.piece, buffer.count - done)
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
            let got: Int
            do {
                got =
                    write
                    ? try fs.write(f.ino, at: offset + UInt64(done), from: UnsafeRawBufferPointer(slice))
                    : try fs.read(f.ino, at: offset + UInt64(done), into: slice)
            } catch {
                if done > 0 { break }
                throw fail(error, write ? "write \(f.ino)" : "read \(f.ino)")
            }
            done += got
            if got < n { break }
        }
        return done
    }

    public func read(_ request: Fs.ReadRequest, call: any RPCCall) throws(RPCError) -> Fs.ReadReply {
        let f = try file(of: call)
        guard f.readable else { throw RPCError(RPCStatus.badf, "file not opened for reading") }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let r = ctx.withSharedMemory(request.buffer, writable: true) { region -> Result<Int, RPCError> in
            do throws(RPCError) { return .success(try transfer(f, write: false, offset: request.offset, buffer: region, call: call)) } catch
            {
                return .failure(error)
            }
        }
        switch r.flatMap({ $0 }) {
        case .failure(let e): throw e
        case .success(let n): return Fs.ReadReply(count: UInt64(n))
        }
    }

    public func write(_ request: Fs.WriteRequest, call: any RPCCall) throws(RPCError) -> Fs.WriteReply {
        try writable()
        let f = try file(of: call)
        guard f.writable else { throw RPCError(RPCStatus.badf, "file not opened for writing") }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let r = ctx.withSharedMemory(request.buffer, writable: false) { region -> Result<Int, RPCError> in
            do throws(RPCError) { return .success(try transfer(f, write: true, offset: request.offset, buffer: region, call: call)) } catch
            {
                return .failure(error)
            }
        }
        switch r.flatMap({ $0 }) {
        case .failure(let e): throw e
        case .success(let n): return Fs.WriteReply(count: UInt64(n))
        }
    }

    public func readInline(_ request: Fs.ReadInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.ReadInlineReply {
        let f = try file(of: call)
        guard f.readable else { throw RPCError(RPCStatus.badf, "file not opened for reading") }
        guard request.max <= Self.maxInline else { throw RPCError(RPCStatus.inval, "read_inline: max is at most \(Self.maxInline)") }
        var buf = [UInt8](repeating: 0, count: Int(request.max))
        var failure: RPCError?
        let n = buf.withUnsafeMutableBytes { b -> Int in
            do throws(RPCError) { return try transfer(f, write: false, offset: request.offset, buffer: b, call: call) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        return Fs.ReadInlineReply(data: Array(buf.prefix(n)))
    }

    public func writeInline(_ request: Fs.WriteInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.WriteInlineReply {
        try writable()
        let f = try file(of: call)
        guard f.writable else { throw RPCError(RPCStatus.badf, "file not opened for writing") }
        var data = request.data
        var failure: RPCError?
        let n = data.withUnsafeMutableBytes { b -> Int in
            do throws(RPCError) { return try transfer(f, write: true, offset: request.offset, buffer: b, call: call) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        return Fs.WriteInlineReply(count: UInt32(n))
    }

    public func fsync(_ request: Fs.FsyncRequest, call: any RPCCall) throws(RPCError) -> Fs.FsyncReply {
        let f = try file(of: call)
        do { try fs.fsync(f.ino) } catch { throw fail(error, "fsync \(f.ino)") }
        return Fs.FsyncReply()
    }

    public func close(_ request: Fs.CloseRequest, call: any RPCCall) throws(RPCError) -> Fs.CloseReply {
        try file(of: call).close()
        return Fs.CloseReply()
    }

    public func readdir(_ request: Fs.ReaddirRequest, call: any RPCCall) throws(RPCError) -> Fs.ReaddirReply {
        let cap = min(max(Int(request.max), 512), Int(Self.maxInline))
        do {
            let (entries, eof) = try fs.readdir(request.dir, cookie: request.cookie, capacity: cap)
            var out: [UInt8] = []
            for e in entries {
                for v in [e.ino, e.cookie] { for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
                out.append(e.type)
                out.append(UInt8(e.name.count))
                out += e.name
            }
            return Fs.ReaddirReply(entries: out, eof: eof)
        } catch { throw fail(error, "readdir \(request.dir)") }
    }

    public func mkdir(_ request: Fs.MkdirRequest, call: any RPCCall) throws(RPCError) -> Fs.MkdirReply {
        try writable()
        do { return Fs.MkdirReply(attr: Self.encode(try fs.mkdir(request.dir, request.name, mode: request.mode))) } catch {
            throw fail(error, "mkdir '\(request.name)' in \(request.dir)")
        }
    }

    public func unlink(_ request: Fs.UnlinkRequest, call: any RPCCall) throws(RPCError) -> Fs.UnlinkReply {
        try writable()
        do { try fs.unlink(request.dir, request.name) } catch { throw fail(error, "unlink '\(request.name)' in \(request.dir)") }
        return Fs.UnlinkReply()
    }

    public func rmdir(_ request: Fs.RmdirRequest, call: any RPCCall) throws(RPCError) -> Fs.RmdirReply {
        try writable()
        do { try fs.rmdir(request.dir, request.name) } catch { throw fail(error, "rmdir '\(request.name)' in \(request.dir)") }
        return Fs.RmdirReply()
    }

    public func rename(_ request: Fs.RenameRequest, call: any RPCCall) throws(RPCError) -> Fs.RenameReply {
        try writable()
        do { try fs.rename(request.fromDir, request.from, request.toDir, request.to) } catch {
            throw fail(error, "rename '\(request.from)' to '\(request.to)'")
        }
        return Fs.RenameReply()
    }

    public func symlink(_ request: Fs.SymlinkRequest, call: any RPCCall) throws(RPCError) -> Fs.SymlinkReply {
        try writable()
        do { return Fs.SymlinkReply(attr: Self.encode(try fs.symlink(request.dir, request.name, target: request.target))) } catch {
            throw fail(error, "symlink '\(request.name)' in \(request.dir)")
        }
    }

    public func readlink(_ request: Fs.ReadlinkRequest, call: any RPCCall) throws(RPCError) -> Fs.ReadlinkReply {
        do {
            let bytes = try fs.readlink(request.ino)
            guard let s = String(validating: bytes, as: UTF8.self) else {
                throw RPCError(RPCStatus.inval, "the link's target is not UTF-8")
            }
            return Fs.ReadlinkReply(target: s)
        } catch let e as Glue.FileSystemError { throw fail(e, "readlink \(request.ino)") } catch let e as RPCError { throw e } catch {
            throw RPCError(RPCStatus.io)
        }
    }

    public func link(_ request: Fs.LinkRequest, call: any RPCCall) throws(RPCError) -> Fs.LinkReply {
        try writable()
        do { return Fs.LinkReply(attr: Self.encode(try fs.link(request.ino, into: request.dir, request.name))) } catch {
            throw fail(error, "link \(request.ino) as '\(request.name)'")
        }
    }

    public func sync(_ request: Fs.SyncRequest, call: any RPCCall) throws(RPCError) -> Fs.SyncReply {
        do { try fs.fsync(Glue.FileSystem.rootIno) } catch { throw fail(error, "sync") }
        return Fs.SyncReply()
    }
}

/// What open and create bind a descriptor to: one file in one access mode
/// for the client that opened it; released with the descriptor's
/// connection.
final class OpenFile: @unchecked Sendable {
    // @unchecked: `closed` is guarded by `lock`; the rest is immutable.
    let ino: UInt64
    let readable: Bool
    let writable: Bool
    private let lock = Monitor()
    private var closed = false

    init(ino: UInt64, readable: Bool, writable: Bool) {
        self.ino = ino
        self.readable = readable
        self.writable = writable
    }

    var isClosed: Bool { lock.withLock { closed } }
    func close() { lock.withLock { closed = true } }
}
