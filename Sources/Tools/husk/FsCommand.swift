import ArgumentParser
import BlockRemote
import FSClient
import FSServer
import FUSEFrontend
import Foundation
import Glibc
import Glue
import HuskHost
import RPCInterfaces
import RPCServer
import RPCWire
import Sandbox

/// `husk fs`: the file-system server and its clients (docs/fs.md).
struct FsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "The file-system server: an ext2/3/4 image served over the native RPC, and its clients.",
        discussion: """
            `husk fs serve` mounts an ext2, ext3 or ext4 file system with the ext2fs component (e2fsprogs' \
            libext2fs, ThirdPartyC/e2fsprogs) and exports it on an AF_UNIX socket (Interfaces/fs.idl). \
            The clients take paths inside the file system (absolute, from its root); permissions are checked \
            with the client's own uid, gid and groups, as the kernel reports them.
              mkfs.ext4 -q fs.img 64M
              husk fs serve --image fs.img --socket /tmp/fs.sock &
              husk fs mkdir --socket /tmp/fs.sock /docs
              husk fs put --socket /tmp/fs.sock README.md /docs/README.md
              husk fs ls --socket /tmp/fs.sock -l /docs
              husk fs cat --socket /tmp/fs.sock /docs/README.md
              husk fs get --socket /tmp/fs.sock /docs/README.md copy.md
              husk fs mv --socket /tmp/fs.sock /docs/README.md /README
              husk fs rm --socket /tmp/fs.sock /README
              husk fs mount --socket /tmp/fs.sock /mnt &    # the kernel mounts it through FUSE
              ls -l /mnt; kill %2                          # SIGTERM unmounts
              kill %1      # SIGTERM: calls finish, everything is written back, the image is clean
            Exit status of the clients: 0, or 1 with the error on standard error (ENOENT, EACCES, ...).
            """,
        subcommands: [
            FsServe.self, FsMount.self, FsLs.self, FsStat.self, FsCat.self, FsMkdir.self, FsRm.self, FsPut.self, FsGet.self, FsMv.self
        ])
}

struct FsServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve an ext2/3/4 file system until SIGINT/SIGTERM.",
        discussion: """
            --image serves an image file (or host block device) through the blkfile component; \
            --disk-socket serves a device of a block server in another process (`husk blk serve`, which \
            may itself drive a virtio disk), whose restart the file system survives: requests wait for the \
            new instance, up to 10 s, and are retried (reconnecting needs the block server's socket to \
            admit the user this server runs as after dropping privileges: `husk blk serve --mode 666`, or \
            the same --user). The ext2fs \
            component mounts the disk and registers it as a file system; the server exports \
            that over the fs interface. --read-only mounts it read-only (nothing is written, not even the \
            mount count; changes fail with EROFS). A file system whose journal needs recovery is refused \
            read-write: run e2fsck on it first.
            While mounted read-write the superblock says "not clean", as under the kernel; SIGINT or SIGTERM \
            lets calls in flight finish (up to --shutdown-deadline seconds), then unmounts: bitmaps, group \
            descriptors and the superblock (marked clean) are written and the disk is flushed. After a \
            SIGKILL e2fsck repairs the image; what fsync made durable survives.
            """)

    @Option(help: "Image file (or host block device) holding the file system.") var image: String?
    @Option(
        name: .customLong("disk-socket"),
        help: "Instead of --image: the socket of a block server (`husk blk serve`) whose device holds the file system.")
    var diskSocket: String?
    @Option(name: .customLong("disk-device"), help: "With --disk-socket: the device to open (default: the server's only one).")
    var diskDevice: String?
    @Option(help: "Path of the RPC socket.") var socket: String
    @Option(
        name: .customLong("listen-fd"),
        help:
            "Serve the already-listening socket inherited as this descriptor (from `husk up`, docs/supervision.md); --socket then only names it: it is not bound, and not removed at exit."
    ) var listenFD: Int32?
    @Flag(help: "Mount read-only: changes fail with EROFS and nothing is written to the image.") var readOnly = false
    @Option(
        help:
            "Permissions of the socket file, octal (e.g. 666 so that other users can connect; the file system's own permissions still apply)."
    )
    var mode: String?
    @Option(help: "A policy file granting fs.* operations to uids/gids (docs/rpc-runtime.md).") var policy: String?
    @Option(help: "Most worker threads running calls at once (libext2fs itself runs one call at a time).") var workers: Int = 16
    @Option(help: "Seconds calls in flight may take to finish at shutdown before they are cancelled.") var shutdownDeadline: Double = 5
    @OptionGroup(title: "Privilege separation (docs/sandbox.md)") var sandboxing: SandboxOptions

    func validate() throws {
        if let mode, mode_t(mode, radix: 8) == nil { throw ValidationError("--mode must be octal, e.g. 666") }
        guard workers >= 1 && workers <= 1024 else { throw ValidationError("--workers must be 1...1024") }
        if image != nil && diskSocket != nil { throw ValidationError("--image and --disk-socket are exclusive: serve one disk") }
        if diskDevice != nil && diskSocket == nil { throw ValidationError("--disk-device needs --disk-socket") }
        if let image, access(image, F_OK) != 0 { throw ValidationError("--image \(image): \(String(cString: strerror(errno)))") }
        if image == nil && diskSocket == nil {
            throw ValidationError(
                "nothing to serve: give --image FILE (an ext2/3/4 image, e.g. made by mkfs.ext4) or --disk-socket S (a block server's socket)"
            )
        }
    }

    func run() throws {
        let stop = StopSignal()
        let host = ComponentHost(backend: try BackendFactory.make(name: "posix", devices: []))
        guard let blkfile = ComponentRegistry.builtIn(named: "blkfile"), let ext2fs = ComponentRegistry.builtIn(named: "ext2fs") else {
            printError("husk fs serve: this husk lacks the blkfile or ext2fs component (see `husk components`)")
            throw ExitCode(1)
        }
        let ro = readOnly ? "1" : "0"
        var remote: RemoteDisk?
        if let diskSocket {
            do { remote = try RemoteDisk(socket: diskSocket, device: diskDevice, name: "disk0", readOnly: readOnly) } catch {
                printError("husk fs serve: \(error)")
                throw ExitCode(1)
            }
            host.load([ext2fs], parameters: ["ext2fs": ["disk": "disk0", "name": "fs0", "ro": ro]])
        } else {
            host.load(
                [blkfile, ext2fs],
                parameters: [
                    "blkfile": ["path": image ?? "", "name": "disk0", "ro": ro], "ext2fs": ["disk": "disk0", "name": "fs0", "ro": ro]
                ])
        }
        let source = image ?? "the block server at \(diskSocket ?? "")"
        func stopAll() {
            host.shutdown()
            remote?.stop()
        }
        guard host.refused.isEmpty, let fileSystem = Glue.FileSystem(named: "fs0") else {
            let why = host.refused.map { "\($0.name): \($0.reason)" }.joined(separator: "; ")
            printError("husk fs serve: cannot mount \(source): \(why.isEmpty ? "no file system was registered" : why)")
            stopAll()
            throw ExitCode(1)
        }

        var config = RPCServer.Configuration(name: "fs")
        config.policy = try policy.map(loadPolicyFile) ?? AccessPolicy.allowAll
        config.maxWorkers = workers
        let server = RPCServer(configuration: config, handlers: [FSHandler(FSService(fileSystem: fileSystem, readOnly: readOnly))])
        do {
            if let listenFD {
                try server.listen(inheritedDescriptor: listenFD, path: socket)
            } else {
                try server.listen(path: socket, mode: mode.flatMap { mode_t($0, radix: 8) })
            }
        } catch {
            printError("husk fs serve: cannot listen on \(socket): \(error)")
            stopAll()
            throw ExitCode(1)
        }
        let sandbox: Sandbox
        do {
            sandbox = try sandboxing.enter(
                command: "husk fs serve", sockets: listenFD == nil ? [socket] : [],
                extraGroups: [SyscallAllowList.blockIO] + (diskSocket != nil ? [SyscallAllowList.clientConnections] : []))
        } catch {
            server.shutdown(deadline: 0, grace: 0)
            stopAll()
            throw error
        }
        if let s = try? fileSystem.statfs() {
            print(
                "file system fs0 on \(source): \(s.blocks) blocks of \(s.bsize) bytes, \(s.bfree) free; \(s.files) inodes, \(s.ffree) free\(readOnly ? "; read-only" : "")"
            )
        }
        print("listening on \(socket)")
        let sig = stop.wait()
        printError("husk fs serve: signal \(sig), shutting down")
        server.shutdown(deadline: shutdownDeadline)
        sandbox.removeSocketFiles()
        stopAll()
        if let remote, remote.reconnects > 0 { printError("husk fs serve: reconnected to the block server \(remote.reconnects) time(s)") }
    }
}

struct FsMount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the served file system on MOUNTPOINT through FUSE until SIGINT/SIGTERM, then unmount.",
        discussion: """
            The kernel's requests on the mount (libfuse3, one thread) become fs calls on the server's \
            socket, made with this process's credentials, never the request's: by default only the user \
            who mounts reaches the mount, so the server checks that user's permissions. --allow-other (root \
            only: only root may speak for others) lets every user in: the kernel checks each request's \
            uid and groups against the attributes (default_permissions), and what a user creates is \
            chowned to that user by the mount process. Needs /dev/fuse, and root or \
            fusermount3 (Debian package fuse3). SIGINT, SIGTERM or SIGHUP unmount cleanly; so does \
            `fusermount3 -u MOUNTPOINT` (or `umount`). Prints "mounted on MOUNTPOINT" once mounted.
            """)
    @OptionGroup var options: FsClientOptions
    @Flag(help: "Mount read-only (the kernel refuses changes with EROFS).") var readOnly = false
    @Option(help: "Seconds the kernel may cache attributes and names (0: ask the server every time).") var cacheSeconds: Double = 1
    @Flag(help: "Let every user use the mount (root only); the kernel checks each user's permissions.") var allowOther = false
    @Argument(help: "An empty directory to mount on.") var mountpoint: String

    func validate() throws {
        if allowOther && geteuid() != 0 { throw ValidationError("--allow-other: only root may speak for other users") }
        guard cacheSeconds >= 0 && cacheSeconds <= 3600 else { throw ValidationError("--cache-seconds must be 0...3600") }
        var st = stat()
        guard stat(mountpoint, &st) == 0 else { throw ValidationError("\(mountpoint): \(String(cString: strerror(errno)))") }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ValidationError("\(mountpoint) is not a directory") }
    }

    func run() throws {
        let c = try options.connect("mount")
        let mount = FuseMount(client: c, cacheSeconds: cacheSeconds, allowOther: allowOther)
        if let failure = mount.run(
            mountpoint: mountpoint, fsname: "husk:\(options.socket)", readOnly: readOnly,
            onMounted: {
                print("mounted on \(mountpoint)")
                fflush(nil)
            })
        {
            printError("husk fs mount: \(failure)")
            throw ExitCode(1)
        }
        printError("husk fs mount: unmounted \(mountpoint)")
    }
}

/// --socket for the clients, and how they report errors.
struct FsClientOptions: ParsableArguments {
    @Option(help: "Path of the file-system server's socket.") var socket: String

    /// `window`: the shared-memory window, so also the most one transfer call moves.
    func connect(_ command: String, window: Int = 1 << 20) throws -> FileSystemClient {
        do { return try FileSystemClient(socket: socket, window: window) } catch {
            printError("husk fs \(command): cannot connect to \(socket): \(error)")
            throw ExitCode(1)
        }
    }
}

/// Run a client's body; an error becomes one line on stderr, `husk fs
/// CMD: PATH: No such file or directory (ENOENT)`, and exit status 1.
func fsClient(_ command: String, _ path: String, _ body: () throws(RPCError) -> Void) throws {
    do { try body() } catch {
        let detail = error.detail.isEmpty || error.detail == path ? "" : " (\(error.detail))"
        printError("husk fs \(command): \(path): \(String(cString: strerror(error.status))) (\(fsErrnoName(error.status)))\(detail)")
        throw ExitCode(1)
    }
}

/// The E* name of an errno value, for the file-system errors RPCStatus does not name.
func fsErrnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", ENOTEMPTY: "ENOTEMPTY", ENAMETOOLONG: "ENAMETOOLONG", EMLINK: "EMLINK",
        EFBIG: "EFBIG", EXDEV: "EXDEV", ELOOP: "ELOOP"
    ]
    return names[code] ?? RPCStatus.name(code)
}

func fsTypeLetter(_ mode: UInt32) -> Character {
    switch mode & UInt32(S_IFMT) {
    case UInt32(S_IFDIR): return "d"
    case UInt32(S_IFLNK): return "l"
    case UInt32(S_IFCHR): return "c"
    case UInt32(S_IFBLK): return "b"
    case UInt32(S_IFIFO): return "p"
    case UInt32(S_IFSOCK): return "s"
    default: return "-"
    }
}

func fsModeString(_ mode: UInt32) -> String {
    var s = String(fsTypeLetter(mode))
    let chars: [Character] = ["r", "w", "x"]
    for i in 0..<9 { s.append(mode & (1 << (8 - UInt32(i))) != 0 ? chars[i % 3] : "-") }
    return s
}

struct FsLs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a directory (or name a file), like ls -a; -l adds mode, links, owner, size and inode.")
    @OptionGroup var options: FsClientOptions
    @Flag(name: .short, help: "Long format: mode, links, uid, gid, size, inode, name (and a link's target).") var long = false
    @Argument(help: "A path inside the file system.") var path: String = "/"

    func run() throws {
        let c = try options.connect("ls")
        try fsClient("ls", path) { () throws(RPCError) in
            let attr = try c.resolve(path)
            var rows: [(String, FileSystemClient.Attr)] = []
            if attr.isDirectory {
                for e in try c.list(attr.ino).sorted(by: { $0.name < $1.name }) {
                    rows.append((e.name, long ? try c.getattr(e.ino) : attr))
                }
            } else {
                rows.append((FileSystemClient.components(path).last ?? "/", attr))
            }
            for (name, a) in rows {
                if !long {
                    print(name)
                    continue
                }
                let target = a.isSymlink ? " -> " + (try c.fs.readlink(ino: a.ino).target) : ""
                print("\(fsModeString(a.mode)) \(a.nlink) \(a.uid) \(a.gid) \(a.size) \(a.ino) \(name)\(target)")
            }
        }
    }
}

struct FsStat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat", abstract: "An entry's attributes (the last symbolic link is not followed), or the file system's with --fs.")
    @OptionGroup var options: FsClientOptions
    @Flag(help: "The file system's figures (blocks, inodes, free) instead.") var fs = false
    @Argument(help: "A path inside the file system.") var path: String = "/"

    func run() throws {
        let c = try options.connect("stat")
        try fsClient("stat", path) { () throws(RPCError) in
            if fs {
                let s = try c.fs.statfs()
                print("block size: \(s.bsize)\nblocks: \(s.blocks)\nfree blocks: \(s.bfree)\navailable blocks: \(s.bavail)")
                print("inodes: \(s.files)\nfree inodes: \(s.ffree)\nname max: \(s.namemax)\nread-only: \(s.readOnly)")
                return
            }
            let a = try c.resolve(path, followLast: false)
            print("path: \(path)\ninode: \(a.ino)\ntype: \(fsTypeLetter(a.mode))\nmode: \(String(a.mode & 0o7777, radix: 8))")
            print("links: \(a.nlink)\nuid: \(a.uid)\ngid: \(a.gid)\nsize: \(a.size)\nblocks: \(a.blocks)")
            print("atime: \(a.atime)\nmtime: \(a.mtime)\nctime: \(a.ctime)")
            if a.isSymlink { print("target: \(try c.fs.readlink(ino: a.ino).target)") }
        }
    }
}

struct FsCat: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "Write a file's contents to standard output.")
    @OptionGroup var options: FsClientOptions
    @Argument(help: "A file inside the file system.") var path: String

    func run() throws {
        let c = try options.connect("cat")
        try fsClient("cat", path) { () throws(RPCError) in
            let a = try c.resolve(path)
            if a.isDirectory { throw RPCError(EISDIR) }
            let f = try c.open(a.ino, write: false)
            var off: UInt64 = 0
            while true {
                let chunk = try f.read(offset: off, length: 1 << 20)
                if chunk.isEmpty { break }
                guard writeAll(1, chunk) else { throw RPCError(RPCStatus.io, "standard output: \(String(cString: strerror(errno)))") }
                off += UInt64(chunk.count)
            }
            try f.close()
        }
    }
}

struct FsMkdir: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mkdir", abstract: "Make a directory (with -p, its missing parents too).")
    @OptionGroup var options: FsClientOptions
    @Flag(name: .short, help: "Make missing parents; an existing directory is no error.") var parents = false
    @Option(help: "Permission bits, octal (the umask is not applied).") var mode: String = "755"
    @Argument(help: "A path inside the file system.") var path: String

    func validate() throws {
        guard let m = UInt32(mode, radix: 8), m <= 0o7777 else { throw ValidationError("--mode must be octal, at most 7777") }
    }

    func run() throws {
        let c = try options.connect("mkdir")
        let m = UInt32(mode, radix: 8)!
        try fsClient("mkdir", path) { () throws(RPCError) in
            if !parents {
                let (dir, name) = try c.parent(of: path)
                _ = try c.fs.mkdir(dir: dir.ino, name: name, mode: m)
                return
            }
            var cur = FileSystemClient.rootIno
            for part in FileSystemClient.components(path) {
                do throws(RPCError) { cur = try c.lookup(cur, part).ino } catch {
                    guard error.status == RPCStatus.noent else { throw error }
                    cur = try FileSystemClient.Attr(c.fs.mkdir(dir: cur, name: part, mode: m).attr).ino
                }
            }
        }
    }
}

struct FsRm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a file or symbolic link; -d an empty directory; -r a directory and everything in it.")
    @OptionGroup var options: FsClientOptions
    @Flag(name: .short, help: "Remove empty directories too.") var d = false
    @Flag(name: .short, help: "Remove directories and their contents.") var r = false
    @Argument(help: "A path inside the file system.") var path: String

    func run() throws {
        let c = try options.connect("rm")
        try fsClient("rm", path) { () throws(RPCError) in
            let (dir, name) = try c.parent(of: path)
            let a = try c.lookup(dir.ino, name)
            if !a.isDirectory {
                _ = try c.fs.unlink(dir: dir.ino, name: name)
            } else if r {
                try removeTree(c, dir: dir.ino, name: name, ino: a.ino)
            } else if d {
                _ = try c.fs.rmdir(dir: dir.ino, name: name)
            } else {
                throw RPCError(EISDIR, "-d removes an empty directory, -r a tree")
            }
        }
    }

    private func removeTree(_ c: FileSystemClient, dir: UInt64, name: String, ino: UInt64) throws(RPCError) {
        for e in try c.list(ino) where e.name != "." && e.name != ".." {
            if e.type == 4 { try removeTree(c, dir: ino, name: e.name, ino: e.ino) } else { _ = try c.fs.unlink(dir: ino, name: e.name) }
        }
        _ = try c.fs.rmdir(dir: dir, name: name)
    }
}

struct FsPut: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Copy a local file (or standard input: -) into the file system; an existing file is replaced.",
        discussion: """
            The data moves in 8 MiB calls (progress on a terminal) and is fsync'd before the command \
            returns, so it survives a SIGKILL of the server. Ctrl-C or SIGTERM interrupts the call in \
            flight (the server stops between 1 MiB pieces): what was written so far is fsync'd, the \
            command says how many bytes PATH holds, and exits with 128 + the signal.
            """)
    @OptionGroup var options: FsClientOptions
    @Option(help: "Permission bits of a new file, octal (the umask is not applied).") var mode: String = "644"
    @Argument(help: "The local file, or - for standard input.") var local: String
    @Argument(help: "The path inside the file system.") var path: String

    func validate() throws {
        guard let m = UInt32(mode, radix: 8), m <= 0o7777 else { throw ValidationError("--mode must be octal, at most 7777") }
    }

    func run() throws {
        let input = local == "-" ? 0 : Glibc.open(local, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            printError("husk fs put: cannot read \(local): \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        defer { if input != 0 { Glibc.close(input) } }
        var st = stat()
        let total = fstat(input, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? UInt64(st.st_size) : nil
        TransferInterruption.install()
        let c = try options.connect("put", window: FsTransfer.chunk)
        var written: UInt64 = 0
        try fsClient("put", path) { () throws(RPCError) in
            let (dir, name) = try c.parent(of: path)
            let (attr, f) = try c.create(dir.ino, name, mode: UInt32(mode, radix: 8)!)
            if attr.size > 0 { _ = try c.fs.setattr(ino: attr.ino, valid: 0x08, mode: 0, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0) }
            var transfer = FsTransfer(command: "put", total: total)
            written = try transfer.upload(from: input, localName: local, to: f)
            try f.fsync()
            try f.close()
        }
        if TransferInterruption.signal != 0 {
            printError("husk fs put: interrupted by \(TransferInterruption.name): \(path) holds the first \(written) bytes (fsync'd)")
            throw ExitCode(128 + TransferInterruption.signal)
        }
    }
}

struct FsGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Copy a file out of the file system to a local file (or - for standard output).",
        discussion: """
            The data moves in 8 MiB calls (progress on a terminal). Ctrl-C or SIGTERM interrupts the \
            call in flight: the command says how many bytes LOCAL holds and exits with 128 + the signal.
            """)
    @OptionGroup var options: FsClientOptions
    @Argument(help: "The path inside the file system.") var path: String
    @Argument(help: "The local file, or - for standard output.") var local: String

    func run() throws {
        TransferInterruption.install()
        let c = try options.connect("get", window: FsTransfer.chunk)
        var copied: UInt64 = 0
        var output: Int32 = -1
        defer { if output > 1 { Glibc.close(output) } }
        try fsClient("get", path) { () throws(RPCError) in
            let a = try c.resolve(path)
            if a.isDirectory { throw RPCError(EISDIR) }
            let f = try c.open(a.ino, write: false)
            // Created only once the source opened: a failed get leaves no empty file behind.
            output = local == "-" ? 1 : Glibc.open(local, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard output >= 0 else { throw RPCError(errno, "cannot write \(local)") }
            var transfer = FsTransfer(command: "get", total: a.size)
            copied = try transfer.download(from: f, to: output, localName: local)
            try f.close()
        }
        if TransferInterruption.signal != 0 {
            printError("husk fs get: interrupted by \(TransferInterruption.name): \(local) holds the first \(copied) bytes")
            throw ExitCode(128 + TransferInterruption.signal)
        }
    }
}

struct FsMv: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mv", abstract: "Rename FROM to TO inside the file system (replacing a file, or an empty directory, at TO).")
    @OptionGroup var options: FsClientOptions
    @Argument(help: "The path to rename.") var from: String
    @Argument(help: "Its new path.") var to: String

    func run() throws {
        let c = try options.connect("mv")
        try fsClient("mv", "\(from) -> \(to)") { () throws(RPCError) in
            let (sdir, sname) = try c.parent(of: from)
            let (ddir, dname) = try c.parent(of: to)
            _ = try c.fs.rename(fromDir: sdir.ino, from: sname, toDir: ddir.ino, to: dname)
        }
    }
}
