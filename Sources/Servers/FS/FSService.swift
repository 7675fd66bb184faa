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

    /// The access check of open and open_handle; the access mode.
    private func checkOpen(_ ino: UInt64, _ requested: UInt32) throws(RPCError) -> UInt32 {
        let access = requested & UInt32(VFS_OPEN_READ | VFS_OPEN_WRITE)
        guard access != 0, access == requested else {
            throw RPCError(RPCStatus.inval, "access must be 1 (read), 2 (write) or 3 (both)")
        }
        if access & UInt32(VFS_OPEN_WRITE) != 0 { try writable() }
        do { try fs.open(ino, access: access) } catch { throw fail(error, "open \(ino)") }
        return access
    }

    /// What create and create_handle do before binding: the new (or,
    /// unless exclusive, the existing) file's attributes.
    private func createOrOpen(_ dir: UInt64, _ name: String, mode: UInt32, exclusive: Bool) throws(RPCError) -> vfs_attr {
        try writable()
        do {
            return try fs.create(dir, name, mode: mode)
        } catch {
            guard error.code == HUSK_EEXIST && !exclusive else { throw fail(error, "create '\(name)' in \(dir)") }
            return try openExisting(dir, name, access: UInt32(VFS_OPEN_READ | VFS_OPEN_WRITE))
        }
    }

    public func open(_ request: Fs.OpenRequest, call: any RPCCall) throws(RPCError) -> Fs.OpenReply {
        let access = try checkOpen(request.ino, request.access)
        return Fs.OpenReply(file: try bind(request.ino, access: access, call: call))
    }

    public func create(_ request: Fs.CreateRequest, call: any RPCCall) throws(RPCError) -> Fs.CreateReply {
        let attr = try createOrOpen(request.dir, request.name, mode: request.mode, exclusive: request.exclusive)
        let rw = UInt32(VFS_OPEN_READ | VFS_OPEN_WRITE)
        return Fs.CreateReply(attr: Self.encode(attr), file: try bind(attr.ino, access: rw, call: call))
    }

    // MARK: handles of the calling connection (fs.idl version 2)

    private func handles(_ call: any RPCCall) throws(RPCError) -> FileHandles {
        guard let ctx = call as? any RPCServerCallContext, let t = ctx.connectionState({ FileHandles() }) else {
            throw RPCError(RPCStatus.notsup, "no per-connection state for handles")
        }
        return t
    }

    private func handle(_ h: UInt64, call: any RPCCall) throws(RPCError) -> OpenFile {
        guard let f = try handles(call).file(h) else {
            throw RPCError(RPCStatus.badf, "no handle \(h) on this connection")
        }
        return f
    }

    public func openHandle(_ request: Fs.OpenHandleRequest, call: any RPCCall) throws(RPCError) -> Fs.OpenHandleReply {
        let access = try checkOpen(request.ino, request.access)
        let f = OpenFile(ino: request.ino, readable: access & UInt32(VFS_OPEN_READ) != 0, writable: access & UInt32(VFS_OPEN_WRITE) != 0)
        return Fs.OpenHandleReply(handle: try handles(call).add(f))
    }

    public func createHandle(_ request: Fs.CreateHandleRequest, call: any RPCCall) throws(RPCError) -> Fs.CreateHandleReply {
        let table = try handles(call)
        let attr = try createOrOpen(request.dir, request.name, mode: request.mode, exclusive: request.exclusive)
        let h = try table.add(OpenFile(ino: attr.ino, readable: true, writable: true))
        return Fs.CreateHandleReply(attr: Self.encode(attr), handle: h)
    }

    public func handleRead(_ request: Fs.HandleReadRequest, call: any RPCCall) throws(RPCError) -> Fs.HandleReadReply {
        Fs.HandleReadReply(count: try readShared(try handle(request.handle, call: call), request.offset, request.buffer, call: call))
    }

    public func handleWrite(_ request: Fs.HandleWriteRequest, call: any RPCCall) throws(RPCError) -> Fs.HandleWriteReply {
        Fs.HandleWriteReply(count: try writeShared(try handle(request.handle, call: call), request.offset, request.buffer, call: call))
    }

    public func handleReadInline(_ request: Fs.HandleReadInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.HandleReadInlineReply {
        Fs.HandleReadInlineReply(data: try readInline(try handle(request.handle, call: call), request.offset, request.max, call: call))
    }

    public func handleWriteInline(_ request: Fs.HandleWriteInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.HandleWriteInlineReply {
        Fs.HandleWriteInlineReply(count: try writeInline(try handle(request.handle, call: call), request.offset, request.data, call: call))
    }

    public func handleFsync(_ request: Fs.HandleFsyncRequest, call: any RPCCall) throws(RPCError) -> Fs.HandleFsyncReply {
        let f = try handle(request.handle, call: call)
        do { try fs.fsync(f.ino) } catch { throw fail(error, "fsync \(f.ino)") }
        return Fs.HandleFsyncReply()
    }

    public func closeHandle(_ request: Fs.CloseHandleRequest, call: any RPCCall) throws(RPCError) -> Fs.CloseHandleReply {
        guard let f = try handles(call).remove(request.handle) else {
            throw RPCError(RPCStatus.badf, "no handle \(request.handle) on this connection")
        }
        f.close()
        return Fs.CloseHandleReply()
    }

    public func closeHandles(_ request: Fs.CloseHandlesRequest, call: any RPCCall) throws(RPCError) -> Fs.CloseHandlesReply {
        let table = try handles(call)
        var unknown: UInt64?
        for h in request.handles {
            if let f = table.remove(h) { f.close() } else { unknown = unknown ?? h }
        }
        if let unknown { throw RPCError(RPCStatus.badf, "no handle \(unknown) on this connection") }
        return Fs.CloseHandlesReply()
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

    private func readShared(_ f: OpenFile, _ offset: UInt64, _ buffer: SharedMemoryRef, call: any RPCCall) throws(RPCError) -> UInt64 {
        guard f.readable else { throw RPCError(RPCStatus.badf, "file not opened for reading") }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let r = ctx.withSharedMemory(buffer, writable: true) { region -> Result<Int, RPCError> in
            do throws(RPCError) { return .success(try transfer(f, write: false, offset: offset, buffer: region, call: call)) } catch {
                return .failure(error)
            }
        }
        switch r.flatMap({ $0 }) {
        case .failure(let e): throw e
        case .success(let n): return UInt64(n)
        }
    }

    private func writeShared(_ f: OpenFile, _ offset: UInt64, _ buffer: SharedMemoryRef, call: any RPCCall) throws(RPCError) -> UInt64 {
        try writable()
        guard f.writable else { throw RPCError(RPCStatus.badf, "file not opened for writing") }
        guard let ctx = call as? any RPCServerCallContext else { throw RPCError(RPCStatus.notsup) }
        let r = ctx.withSharedMemory(buffer, writable: false) { region -> Result<Int, RPCError> in
            do throws(RPCError) { return .success(try transfer(f, write: true, offset: offset, buffer: region, call: call)) } catch {
                return .failure(error)
            }
        }
        switch r.flatMap({ $0 }) {
        case .failure(let e): throw e
        case .success(let n): return UInt64(n)
        }
    }

    private func readInline(_ f: OpenFile, _ offset: UInt64, _ max: UInt32, call: any RPCCall) throws(RPCError) -> [UInt8] {
        guard f.readable else { throw RPCError(RPCStatus.badf, "file not opened for reading") }
        guard max <= Self.maxInline else { throw RPCError(RPCStatus.inval, "read_inline: max is at most \(Self.maxInline)") }
        var buf = [UInt8](repeating: 0, count: Int(max))
        var failure: RPCError?
        let n = buf.withUnsafeMutableBytes { b -> Int in
            do throws(RPCError) { return try transfer(f, write: false, offset: offset, buffer: b, call: call) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        buf.removeLast(buf.count - n)
        return buf
    }

    private func writeInline(_ f: OpenFile, _ offset: UInt64, _ bytes: [UInt8], call: any RPCCall) throws(RPCError) -> UInt32 {
        try writable()
        guard f.writable else { throw RPCError(RPCStatus.badf, "file not opened for writing") }
        var data = bytes
        var failure: RPCError?
        let n = data.withUnsafeMutableBytes { b -> Int in
            do throws(RPCError) { return try transfer(f, write: true, offset: offset, buffer: b, call: call) } catch {
                failure = error
                return 0
            }
        }
        if let failure { throw failure }
        return UInt32(n)
    }

    public func read(_ request: Fs.ReadRequest, call: any RPCCall) throws(RPCError) -> Fs.ReadReply {
        Fs.ReadReply(count: try readShared(try file(of: call), request.offset, request.buffer, call: call))
    }

    public func write(_ request: Fs.WriteRequest, call: any RPCCall) throws(RPCError) -> Fs.WriteReply {
        try writable()
        return Fs.WriteReply(count: try writeShared(try file(of: call), request.offset, request.buffer, call: call))
    }

    public func readInline(_ request: Fs.ReadInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.ReadInlineReply {
        Fs.ReadInlineReply(data: try readInline(try file(of: call), request.offset, request.max, call: call))
    }

    public func writeInline(_ request: Fs.WriteInlineRequest, call: any RPCCall) throws(RPCError) -> Fs.WriteInlineReply {
        try writable()
        return Fs.WriteInlineReply(count: try writeInline(try file(of: call), request.offset, request.data, call: call))
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

/// The handles of one connection (fs.idl version 2): open_handle and
/// create_handle add to it, close_handle removes; the runtime drops the
/// whole table with the connection, so a dead client releases its files.
final class FileHandles: @unchecked Sendable {
    // @unchecked: everything is guarded by `lock`.
    private let lock = Monitor()
    private var files: [UInt64: OpenFile] = [:]
    private var next: UInt64 = 1
    /// Most handles one connection may hold (EMFILE beyond).
    static let limit = 65536

    func add(_ f: OpenFile) throws(RPCError) -> UInt64 {
        let h: UInt64? = lock.withLock {
            if files.count >= Self.limit { return nil }
            let h = next
            next += 1
            files[h] = f
            return h
        }
        guard let h else { throw RPCError(EMFILE, "more than \(Self.limit) handles on one connection") }
        return h
    }

    func file(_ h: UInt64) -> OpenFile? { lock.withLock { files[h] } }
    func remove(_ h: UInt64) -> OpenFile? { lock.withLock { files.removeValue(forKey: h) } }
}
