import CFuse3
import FSClient
import Glibc
import RPCInterfaces
import RPCWire

/// The FUSE frontend of the file-system server (docs/fs.md): the Linux
/// kernel mounts the file system, and every request it sends through
/// /dev/fuse (libfuse3's low-level API, one thread) becomes a call of the
/// fs interface on the server's socket.
///
/// Identity: the calls carry the mount process's own credentials (the RPC
/// takes them from the kernel at connect time), never the request's.
/// By default the kernel lets only the user who mounted reach the mount,
/// so the identity the server checks is that of whoever made the request.
/// With `allowOther` (a root mount only: the policy is that only root may
/// speak for others) every user reaches it; the kernel then checks each
/// request's uid and groups against the attributes the server reports
/// (`default_permissions`), the server still checks the mount process's
/// (root's) identity, and what a user creates is given that user's uid
/// and gid by the mount process (a chown root may make).
///
/// FUSE node ids are inode numbers, except the root (FUSE's 1, ext2's 2).
public final class FuseMount: @unchecked Sendable {
    // @unchecked: used from the session's one thread (libfuse's loop) only.
    let client: FileSystemClient
    var files: [UInt64: OpenedFile] = [:]
    var nextHandle: UInt64 = 1
    /// Per inode, the server's attributes when this mount last knew its
    /// page cache to match the file (at open, and after its own writes at
    /// fsync and release): an open that finds them unchanged keeps the
    /// kernel's cached pages (keep_cache). Only with a cache time above 0.
    var known: [UInt64: Stamp] = [:]
    /// File handles written through since they were opened (release then
    /// records the attributes the cache now matches).
    var written: Set<UInt64> = []
    /// A read's buffer, reused (one thread).
    var readBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    struct Stamp: Equatable {
        var size: UInt64, mtime: Int64, ctime: Int64
        init(_ a: FileSystemClient.Attr) {
            size = a.size
            mtime = a.mtime
            ctime = a.ctime
        }
    }
    /// Seconds the kernel may cache attributes and entries.
    let timeout: Double

    let allowOther: Bool

    public init(client: FileSystemClient, cacheSeconds: Double = 1.0, allowOther: Bool = false) {
        self.client = client
        timeout = cacheSeconds
        self.allowOther = allowOther
    }

    /// With allowOther: a new entry belongs to the user whose request made it.
    func own(_ req: fuse_req_t?, _ a: FileSystemClient.Attr) throws(RPCError) -> FileSystemClient.Attr {
        guard allowOther, let ctx = fuse_req_ctx(req)?.pointee, ctx.uid != a.uid || ctx.gid != a.gid else { return a }
        let r = try client.fs.setattr(ino: a.ino, valid: 0x06, mode: 0, uid: ctx.uid, gid: ctx.gid, size: 0, atime: 0, mtime: 0)
        return try FileSystemClient.Attr(r.attr)
    }

    static func fsIno(_ node: fuse_ino_t) -> UInt64 { node == UInt64(FUSE_ROOT_ID) ? FileSystemClient.rootIno : UInt64(node) }
    static func node(_ ino: UInt64) -> fuse_ino_t { ino == FileSystemClient.rootIno ? fuse_ino_t(FUSE_ROOT_ID) : fuse_ino_t(ino) }

    static func stat(_ a: FileSystemClient.Attr) -> stat {
        var st = Glibc.stat()
        st.st_ino = UInt(node(a.ino))
        st.st_mode = a.mode
        st.st_nlink = UInt(a.nlink)
        st.st_uid = a.uid
        st.st_gid = a.gid
        st.st_size = Int(a.size)
        st.st_blocks = Int(a.blocks)
        st.st_blksize = Int(a.blksize)
        st.st_rdev = UInt(a.rdev)
        st.st_atim = timespec(tv_sec: Int(a.atime), tv_nsec: 0)
        st.st_mtim = timespec(tv_sec: Int(a.mtime), tv_nsec: 0)
        st.st_ctim = timespec(tv_sec: Int(a.ctime), tv_nsec: 0)
        return st
    }

    func entry(_ req: fuse_req_t?, _ a: FileSystemClient.Attr) {
        var e = fuse_entry_param()
        e.ino = Self.node(a.ino)
        e.generation = UInt64(a.generation)
        e.attr = Self.stat(a)
        e.attr_timeout = timeout
        e.entry_timeout = timeout
        fuse_reply_entry(req, &e)
    }

    func attr(_ req: fuse_req_t?, _ a: FileSystemClient.Attr) {
        var st = Self.stat(a)
        fuse_reply_attr(req, &st, timeout)
    }

    /// Run one request's body; an RPC error becomes the errno reply.
    func serve(_ req: fuse_req_t?, _ body: () throws(RPCError) -> Void) {
        do { try body() } catch { fuse_reply_err(req, error.status == 0 ? EIO : error.status) }
    }

    /// Whether the kernel may keep the pages it caches for `ino` on this
    /// open: the file's attributes are what they were when this mount last
    /// knew its cache to match (close-to-open consistency, docs/fs.md).
    func keepCache(_ ino: UInt64) throws(RPCError) -> Bool {
        guard timeout > 0 else { return false }
        let now = Stamp(try client.getattr(ino))
        defer { known[ino] = now }
        return known[ino] == now
    }

    /// After this mount wrote `ino` (fsync, release): its page cache holds
    /// what it wrote, so the attributes now are the ones it knows.
    func wrote(_ ino: UInt64) {
        guard timeout > 0 else { return }
        known[ino] = (try? client.getattr(ino)).map(Stamp.init)
    }

    func adopt(_ f: OpenedFile) -> UInt64 {
        let h = nextHandle
        nextHandle += 1
        files[h] = f
        return h
    }

    /// Mount at `mountpoint` and serve until SIGINT, SIGTERM or SIGHUP (or
    /// `fusermount3 -u`), then unmount. Returns a message on failure.
    public func run(mountpoint: String, fsname: String, readOnly: Bool, onMounted: () -> Void) -> String? {
        var ops = fuse_lowlevel_ops()
        Self.fill(&ops)
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("husk-fs"), strdup("-o"), strdup("fsname=\(fsname),subtype=husk")]
        if readOnly { argv += [strdup("-o"), strdup("ro")] }
        if allowOther { argv += [strdup("-o"), strdup("allow_other,default_permissions")] }
        defer { for a in argv { free(a) } }
        var failure: String?
        argv.withUnsafeMutableBufferPointer { av in
            var args = fuse_args(argc: Int32(av.count), argv: av.baseAddress, allocated: 0)
            let me = Unmanaged.passUnretained(self).toOpaque()
            guard let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, me) else {
                failure = "fuse_session_new failed"
                return
            }
            defer { fuse_session_destroy(se) }
            guard fuse_set_signal_handlers(se) == 0 else {
                failure = "cannot install the signal handlers"
                return
            }
            defer { fuse_remove_signal_handlers(se) }
            guard fuse_session_mount(se, mountpoint) == 0 else {
                failure = "cannot mount on \(mountpoint) (is it an empty directory? FUSE needs /dev/fuse and root or fusermount3)"
                return
            }
            onMounted()
            let r = fuse_session_loop(se)
            fuse_session_unmount(se)
            // libfuse ends the loop with 0, or the number of the signal its handlers caught.
            if r != 0 && ![SIGINT, SIGTERM, SIGHUP].contains(r) && r != -EINTR {
                failure = "the session ended with \(String(cString: strerror(abs(r))))"
            }
        }
        return failure
    }

    static func me(_ req: fuse_req_t?) -> FuseMount {
        Unmanaged<FuseMount>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    // swift-format-ignore
    static func fill(_ o: inout fuse_lowlevel_ops) {
        o.lookup = { req, parent, name in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in m.entry(req, try m.client.lookup(FuseMount.fsIno(parent), String(cString: name!))) }
        }
        o.`init` = { userdata, conn in
            let m = Unmanaged<FuseMount>.fromOpaque(userdata!).takeUnretainedValue()
            // With a cache time, cached pages are checked at open (keepCache)
            // instead of at every attribute refresh: the server keeps whole
            // seconds, so a refresh after this mount's own writes would
            // otherwise look like a change and drop the cache.
            if m.timeout > 0, let c = conn { c.pointee.want &= ~UInt32(FUSE_CAP_AUTO_INVAL_DATA) }
        }
        o.forget = { req, _, _ in fuse_reply_none(req) }
        o.getattr = { req, ino, _ in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in m.attr(req, try m.client.getattr(FuseMount.fsIno(ino))) }
        }
        o.setattr = { req, ino, st, toSet, _ in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let s = st!.pointee
                var valid = UInt32(toSet) & 0x3f  // mode, uid, gid, size, atime, mtime: the same bits in fs.idl
                let now = Int64(time(nil))
                var atime = Int64(s.st_atim.tv_sec), mtime = Int64(s.st_mtim.tv_sec)
                if toSet & FUSE_SET_ATTR_ATIME_NOW != 0 {
                    valid |= 0x10
                    atime = now
                }
                if toSet & FUSE_SET_ATTR_MTIME_NOW != 0 {
                    valid |= 0x20
                    mtime = now
                }
                let r = try m.client.fs.setattr(
                    ino: FuseMount.fsIno(ino), valid: valid, mode: s.st_mode, uid: s.st_uid, gid: s.st_gid, size: UInt64(max(s.st_size, 0)),
                    atime: atime, mtime: mtime)
                m.attr(req, try FileSystemClient.Attr(r.attr))
            }
        }
        o.readlink = { req, ino in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let t = try m.client.fs.readlink(ino: FuseMount.fsIno(ino)).target
                fuse_reply_readlink(req, t)
            }
        }
        o.mkdir = { req, parent, name, mode in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let r = try m.client.fs.mkdir(dir: FuseMount.fsIno(parent), name: String(cString: name!), mode: mode & 0o7777)
                m.entry(req, try m.own(req, try FileSystemClient.Attr(r.attr)))
            }
        }
        o.unlink = { req, parent, name in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                try m.client.unlink(FuseMount.fsIno(parent), String(cString: name!))
                fuse_reply_err(req, 0)
            }
        }
        o.rmdir = { req, parent, name in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                _ = try m.client.fs.rmdir(dir: FuseMount.fsIno(parent), name: String(cString: name!))
                fuse_reply_err(req, 0)
            }
        }
        o.symlink = { req, link, parent, name in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let r = try m.client.fs.symlink(dir: FuseMount.fsIno(parent), name: String(cString: name!), target: String(cString: link!))
                m.entry(req, try m.own(req, try FileSystemClient.Attr(r.attr)))
            }
        }
        o.rename = { req, parent, name, newparent, newname, flags in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                // RENAME_NOREPLACE and RENAME_EXCHANGE are not in the fs interface.
                if flags != 0 { throw RPCError(EINVAL) }
                _ = try m.client.fs.rename(
                    fromDir: FuseMount.fsIno(parent), from: String(cString: name!), toDir: FuseMount.fsIno(newparent), to: String(cString: newname!))
                fuse_reply_err(req, 0)
            }
        }
        o.link = { req, ino, newparent, newname in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let r = try m.client.fs.link(ino: FuseMount.fsIno(ino), dir: FuseMount.fsIno(newparent), name: String(cString: newname!))
                m.entry(req, try FileSystemClient.Attr(r.attr))
            }
        }
        o.open = { req, ino, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let acc = fi!.pointee.flags & O_ACCMODE
                let f = try m.client.open(FuseMount.fsIno(ino), write: acc != O_RDONLY, read: acc != O_WRONLY)
                if fi!.pointee.flags & O_TRUNC != 0 {
                    _ = try m.client.fs.setattr(ino: FuseMount.fsIno(ino), valid: 0x08, mode: 0, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0)
                }
                fi!.pointee.keep_cache = (try? m.keepCache(FuseMount.fsIno(ino))) == true ? 1 : 0
                fi!.pointee.fh = m.adopt(f)
                fuse_reply_open(req, fi)
            }
        }
        o.create = { req, parent, name, mode, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let exclusive = fi!.pointee.flags & O_EXCL != 0
                let (created, f) = try m.client.create(FuseMount.fsIno(parent), String(cString: name!), mode: mode & 0o7777, exclusive: exclusive)
                let a = try m.own(req, created)
                if m.timeout > 0 { m.known[a.ino] = FuseMount.Stamp(a) }
                fi!.pointee.fh = m.adopt(f)
                var e = fuse_entry_param()
                e.ino = FuseMount.node(a.ino)
                e.generation = UInt64(a.generation)
                e.attr = FuseMount.stat(a)
                e.attr_timeout = m.timeout
                e.entry_timeout = m.timeout
                fuse_reply_create(req, &e, fi)
            }
        }
        o.read = { req, _, size, off, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                guard let f = m.files[fi!.pointee.fh] else { throw RPCError(EBADF) }
                if m.readBuffer.count < size {
                    m.readBuffer.deallocate()
                    m.readBuffer = .allocate(byteCount: max(size, 1 << 20), alignment: 4096)
                }
                let n = try f.read(offset: UInt64(off), into: UnsafeMutableRawBufferPointer(rebasing: m.readBuffer[0..<size]))
                _ = fuse_reply_buf(req, m.readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self), n)
            }
        }
        o.write = { req, _, buf, size, off, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                guard let f = m.files[fi!.pointee.fh] else { throw RPCError(EBADF) }
                m.written.insert(fi!.pointee.fh)
                try f.write(offset: UInt64(off), from: UnsafeRawBufferPointer(start: buf, count: size))
                fuse_reply_write(req, size)
            }
        }
        o.flush = { req, _, _ in fuse_reply_err(req, 0) }
        o.release = { req, _, fi in
            let m = FuseMount.me(req)
            if let f = m.files.removeValue(forKey: fi!.pointee.fh) {
                try? f.close()
                if m.written.remove(fi!.pointee.fh) != nil { m.wrote(f.ino) }
            }
            fuse_reply_err(req, 0)
        }
        o.fsync = { req, _, _, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                guard let f = m.files[fi!.pointee.fh] else { throw RPCError(EBADF) }
                try f.fsync()
                m.wrote(f.ino)
                fuse_reply_err(req, 0)
            }
        }
        o.opendir = { req, ino, fi in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let a = try m.client.getattr(FuseMount.fsIno(ino))
                if !a.isDirectory { throw RPCError(ENOTDIR) }
                fi!.pointee.fh = 0
                fuse_reply_open(req, fi)
            }
        }
        o.readdir = { req, ino, size, off, _ in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let r = try m.client.fs.readdir(dir: FuseMount.fsIno(ino), cookie: UInt64(off), max: UInt32(min(size, 65536)))
                var out = [CChar](repeating: 0, count: size)
                var used = 0
                let b = r.entries
                var i = 0
                func le64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }
                while i + 18 <= b.count {
                    let len = Int(b[i + 17])
                    guard i + 18 + len <= b.count else { break }
                    let name = String(decoding: b[(i + 18)..<(i + 18 + len)], as: UTF8.self)
                    var st = Glibc.stat()
                    st.st_ino = UInt(FuseMount.node(le64(i)))
                    st.st_mode = UInt32(b[i + 16]) << 12
                    let need = out.withUnsafeMutableBufferPointer { p in
                        fuse_add_direntry(req, p.baseAddress! + used, size - used, name, &st, off_t(le64(i + 8)))
                    }
                    if used + need > size { break }
                    used += need
                    i += 18 + len
                }
                _ = out.withUnsafeBufferPointer { fuse_reply_buf(req, $0.baseAddress, used) }
            }
        }
        o.releasedir = { req, _, _ in fuse_reply_err(req, 0) }
        o.statfs = { req, _ in
            let m = FuseMount.me(req)
            m.serve(req) { () throws(RPCError) in
                let s = try m.client.fs.statfs()
                var v = statvfs()
                v.f_bsize = UInt(s.bsize)
                v.f_frsize = UInt(s.bsize)
                v.f_blocks = UInt(s.blocks)
                v.f_bfree = UInt(s.bfree)
                v.f_bavail = UInt(s.bavail)
                v.f_files = UInt(s.files)
                v.f_ffree = UInt(s.ffree)
                v.f_favail = UInt(s.ffree)
                v.f_namemax = UInt(s.namemax)
                fuse_reply_statfs(req, &v)
            }
        }
    }
}
