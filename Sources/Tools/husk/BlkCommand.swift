import ArgumentParser
import BlockClient
import BlockRemote
import BlockServer
import Glibc
import Glue
import HuskHost
import NBDFrontend
import RPCInterfaces
import RPCServer
import RPCWire
import Sandbox

struct Blk: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blk",
        abstract: "The block server: serve disks over the native RPC (and NBD), and its clients.",
        discussion: """
            A block component registers a disk; the server exports it on an AF_UNIX socket \
            (Interfaces/blk.idl, docs/block.md). The file component serves an image or a host block \
            device (--image); the virtio_blk driver serves a PCI virtio disk (--backend vfio|uio|sim \
            --device ...).
              husk blk serve --image disk.img --socket /tmp/blk.sock
              husk blk info --socket /tmp/blk.sock
              printf 'hello' | dd bs=512 conv=sync | husk blk write --socket /tmp/blk.sock --offset 0
              husk blk read --socket /tmp/blk.sock --offset 0 --length 512 | head -c 5
            """,
        subcommands: [BlkDemo.self, BlkServe.self, BlkInfo.self, BlkRead.self, BlkWrite.self]
    )
}

struct BlkServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a disk image (file component) or a PCI virtio disk (virtio_blk driver) until SIGINT/SIGTERM.",
        discussion: """
            With --image, the blkfile component serves the file or block device as disk --name. \
            Otherwise the virtio_blk driver attaches to every virtio block device of the backend: \
            --backend vfio --device 0000:00:04.0 (bound to vfio-pci), --backend uio ..., or --backend sim \
            --device virtio-blk:image=disk.img; its disks are vblk0, vblk1, ... \
            With --disk-socket, the disk is a device of another block server (stacking: a RemoteDisk \
            that forwards to it over its block queue, or its calls when it has none), served again \
            as --name over --socket and --nbd-socket.
            Flush is durable: once a client's flush returns, its completed writes survive a SIGKILL \
            of the server (the file component uses fdatasync). On SIGINT/SIGTERM calls in flight \
            finish (up to --shutdown-deadline seconds), then components are finalised.
            """
    )
    @Option(help: "Image file or host block device to serve with the file component.") var image: String?
    @Option(
        name: .customLong("disk-socket"),
        help: "Serve a device of the block server at this socket instead (stacked; see --disk-device).")
    var diskSocket: String?
    @Option(name: .customLong("disk-device"), help: "With --disk-socket: the device to open (default: the server's only one).")
    var diskDevice: String?
    @Option(help: "Disk name clients open (file component).") var name: String = "disk0"
    @Option(help: "Path of the RPC socket.") var socket: String
    @Option(
        name: .customLong("listen-fd"),
        help:
            "Serve the already-listening socket inherited as this descriptor (from `husk up`, docs/supervision.md); --socket then only names it: it is not bound, and not removed at exit."
    ) var listenFD: Int32?
    @Option(
        name: .customLong("nbd-socket"), help: "Also speak NBD (fixed newstyle) on this AF_UNIX socket, for qemu-img, qemu-io and QEMU.")
    var nbdSocket: String?
    @Flag(help: "Serve read-only: writes fail with EROFS.") var readOnly = false
    @Flag(help: "File component: bypass the host page cache (O_DIRECT).") var direct = false
    @Option(help: "File component: block size, 512, 1024, 2048 or 4096 (default: the host's sector size).") var blockSize: UInt32?
    @Option(help: "A policy file granting blk.* operations to uids/gids (docs/rpc-runtime.md).") var policy: String?
    @Option(
        help: "Permissions of the socket files (RPC and NBD), octal (e.g. 666 so that other users can connect; the policy still decides).")
    var mode: String?
    @Option(help: "Most worker threads running calls at once.") var workers: Int = 64
    @Option(help: "Seconds calls in flight may take to finish at shutdown before they are cancelled.") var shutdownDeadline: Double = 5
    @OptionGroup(title: "Backend (for a PCI disk)") var backendOptions: BackendOptions
    @OptionGroup(title: "Privilege separation (docs/sandbox.md)") var sandboxing: SandboxOptions

    func validate() throws {
        if let mode, mode_t(mode, radix: 8) == nil { throw ValidationError("--mode must be octal, e.g. 666") }
        guard workers >= 1 && workers <= 1024 else { throw ValidationError("--workers must be 1...1024") }
        if image == nil && backendOptions.device.isEmpty && diskSocket == nil {
            throw ValidationError(
                "nothing to serve: give --image FILE, --disk-socket S (another block server), or --backend vfio|uio|sim with --device")
        }
        if diskSocket != nil && (image != nil || !backendOptions.device.isEmpty) {
            throw ValidationError("--disk-socket serves another server's device: not with --image or --device")
        }
        if diskDevice != nil && diskSocket == nil { throw ValidationError("--disk-device needs --disk-socket") }
        if image != nil && !backendOptions.device.isEmpty {
            throw ValidationError("--image and --device are exclusive: one server serves either a file or PCI disks")
        }
        if let blockSize, ![512, 1024, 2048, 4096].contains(blockSize) {
            throw ValidationError("--block-size must be 512, 1024, 2048 or 4096")
        }
    }

    func run() throws {
        let stop = StopSignal()
        let host = ComponentHost(backend: try backendOptions.makeBackend())
        var params: [String: String] = [:]
        let component: String
        var remote: RemoteDisk?
        if let diskSocket {
            do { remote = try RemoteDisk(socket: diskSocket, device: diskDevice, name: name, readOnly: readOnly) } catch {
                printError("husk blk serve: \(error)")
                throw ExitCode(1)
            }
            component = ""
        } else if let image {
            component = "blkfile"
            params = ["path": image, "name": name, "ro": readOnly ? "1" : "0", "direct": direct ? "1" : "0"]
            if let blockSize { params["block_size"] = String(blockSize) }
        } else {
            component = "virtio_blk"
        }
        // Stacked: the RemoteDisk is withdrawn after the server and the components.
        let stacked = remote
        func shutdownDisks() {
            host.shutdown()
            stacked?.stop()
        }
        if remote == nil {
            guard let descriptor = ComponentRegistry.builtIn(named: component) else {
                printError("husk blk serve: this husk has no built-in \(component) component (see `husk components`)")
                throw ExitCode(1)
            }
            host.load([descriptor], parameters: [component: params])
        }
        let disks = Glue.diskNames()
        if (remote == nil && host.loaded.isEmpty) || disks.isEmpty {
            let why = host.refused.first?.reason ?? "no disk was registered (no device the driver could attach?)"
            printError("husk blk serve: \(why)")
            shutdownDisks()
            throw ExitCode(1)
        }

        var config = RPCServer.Configuration(name: "blk")
        config.policy = try policy.map(loadPolicyFile) ?? AccessPolicy.allowAll
        config.maxWorkers = workers
        let server = RPCServer(configuration: config, handlers: [BlkDispatcher(BlockService(readOnly: readOnly))])
        do {
            if let listenFD {
                try server.listen(inheritedDescriptor: listenFD, path: socket)
            } else {
                try server.listen(path: socket, mode: mode.flatMap { mode_t($0, radix: 8) })
            }
        } catch {
            printError("husk blk serve: cannot listen on \(socket): \(error)")
            shutdownDisks()
            throw ExitCode(1)
        }
        var nbd: NBDServer?
        if let nbdSocket {
            let frontend = NBDServer(
                socketPath: nbdSocket, defaultExport: disks.count == 1 ? disks[0] : nil,
                readOnly: readOnly, log: { printError($0) })
            do { try frontend.start() } catch {
                printError("husk blk serve: cannot listen on --nbd-socket \(nbdSocket): \(error)")
                server.shutdown(deadline: 0, grace: 0)
                shutdownDisks()
                throw ExitCode(1)
            }
            nbd = frontend
            // --mode governs both sockets: whoever may use the RPC socket may use the NBD one.
            if let m = mode.flatMap({ mode_t($0, radix: 8) }), chmod(nbdSocket, m) != 0 {
                printError(
                    "husk blk serve: cannot chmod --nbd-socket \(nbdSocket) to \(String(m, radix: 8)): \(String(cString: strerror(errno)))")
                frontend.shutdown()
                server.shutdown(deadline: 0, grace: 0)
                shutdownDisks()
                throw ExitCode(1)
            }
        }
        let sandbox: Sandbox
        do {
            var groups = [SyscallAllowList.blockIO, SyscallAllowList.streamSockets]
            if diskSocket != nil { groups.append(SyscallAllowList.clientConnections) }
            if backendOptions.backend != "posix" { groups.append(SyscallAllowList.pciDevice) }
            sandbox = try sandboxing.enter(
                command: "husk blk serve", sockets: (listenFD == nil ? [socket] : []) + (nbdSocket.map { [$0] } ?? []),
                extraGroups: groups)
        } catch {
            nbd?.shutdown()
            server.shutdown(deadline: 0, grace: 0)
            shutdownDisks()
            throw error
        }
        for d in disks {
            if let disk = Glue.Disk(named: d) {
                print(
                    "disk \(d): \(disk.blockCount) blocks of \(disk.blockSize) bytes (\(disk.sizeBytes) bytes)\(disk.isReadOnly || readOnly ? ", read-only" : "")"
                )
            }
        }
        if let nbdSocket { print("NBD on \(nbdSocket): qemu-io -f raw 'nbd+unix:///\(disks[0])?socket=\(nbdSocket)'") }
        print("listening on \(socket)")
        let sig = stop.wait()
        printError("husk blk serve: signal \(sig), shutting down")
        nbd?.shutdown()
        server.shutdown(deadline: shutdownDeadline)
        sandbox.removeSocketFiles()
        shutdownDisks()
    }
}

/// --socket and --device for client subcommands.
struct BlkClientOptions: ParsableArguments {
    @Option(help: "Path of the block server's socket.") var socket: String
    @Option(name: .customLong("device"), help: "Device name (default: the server's only device).") var deviceName: String?

    func open(writable: Bool) throws -> BlockDevice {
        let server = try connectBlockServer(socket)
        var name = deviceName ?? ""
        if deviceName == nil {
            let all: [String]
            do throws(RPCError) { all = try server.devices() } catch let e {
                printError("husk blk: \(e)")
                throw ExitCode(1)
            }
            guard all.count == 1 else {
                printError("husk blk: the server has \(all.count) devices (\(all.joined(separator: ", "))): choose one with --device")
                throw ExitCode(1)
            }
            name = all[0]
        }
        do throws(RPCError) { return try server.open(name, writable: writable) } catch let e {
            printError("husk blk: device '\(name)': \(e)")
            throw ExitCode(1)
        }
    }
}

struct BlkInfo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "List the server's devices with their geometry.")
    @Option(help: "Path of the block server's socket.") var socket: String

    func run() throws {
        let server = try connectBlockServer(socket)
        do throws(RPCError) {
            let names = try server.devices()
            print("server '\(server.rpc.server.name)' on \(socket): \(names.count) device(s)")
            for n in names {
                let d = try server.open(n, writable: false, window: 4096)
                let features = [(BlockFeature.flush, "flush"), (BlockFeature.discard, "discard")]
                    .filter { d.features & $0.0 != 0 }.map(\.1)
                print(
                    "\(n): \(d.blockCount) blocks of \(d.blockSize) bytes = \(d.sizeBytes) bytes, \(d.readOnly ? "read-only" : "read-write"), features: \(features.isEmpty ? "none" : features.joined(separator: " "))"
                )
                d.close()
            }
        } catch let e {
            printError("husk blk info: \(e)")
            throw ExitCode(1)
        }
    }
}

struct BlkRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Read bytes from a device to stdout (offset and length in whole blocks).")
    @OptionGroup var options: BlkClientOptions
    @Option(help: "Byte offset, a multiple of the block size.") var offset: UInt64
    @Option(help: "Bytes to read, a multiple of the block size.") var length: UInt64

    func run() throws {
        let dev = try options.open(writable: false)
        defer { dev.close() }
        let chunk = UInt64(dev.window.size)
        var done: UInt64 = 0
        while done < length {
            let n = Int(min(chunk, length - done))
            let bytes: [UInt8]
            do throws(RPCError) { bytes = try dev.read(offset: offset + done, length: n) } catch let e {
                printError("husk blk read: offset \(offset + done): \(e)")
                throw ExitCode(1)
            }
            guard writeAll(1, bytes) else {
                printError("husk blk read: stdout: \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            done += UInt64(n)
        }
    }
}

struct BlkWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write stdin to a device at an offset, then flush (whole blocks).")
    @OptionGroup var options: BlkClientOptions
    @Option(help: "Byte offset, a multiple of the block size.") var offset: UInt64
    @Flag(help: "Do not flush after writing.") var noFlush = false

    func run() throws {
        let dev = try options.open(writable: true)
        defer { dev.close() }
        let chunk = dev.window.size
        var written: UInt64 = 0
        var buf = [UInt8](repeating: 0, count: chunk)
        while true {
            // Fill a whole chunk (stdin may be a pipe that returns less).
            var have = 0
            while have < chunk {
                let n = buf.withUnsafeMutableBytes { read(0, $0.baseAddress! + have, chunk - have) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 {
                    printError("husk blk write: stdin: \(String(cString: strerror(errno)))")
                    throw ExitCode(1)
                }
                if n == 0 { break }
                have += n
            }
            if have == 0 { break }
            if have % Int(dev.blockSize) != 0 {
                printError(
                    "husk blk write: input ends \(have % Int(dev.blockSize)) bytes past a \(dev.blockSize)-byte block boundary; pad it (e.g. dd conv=sync bs=\(dev.blockSize)); nothing of the last partial chunk was written"
                )
                throw ExitCode(1)
            }
            do throws(RPCError) { try dev.write(offset: offset + written, Array(buf[0..<have])) } catch let e {
                printError("husk blk write: offset \(offset + written): \(e)")
                throw ExitCode(1)
            }
            written += UInt64(have)
            if have < chunk { break }
        }
        if !noFlush {
            do throws(RPCError) { try dev.flush() } catch let e {
                printError("husk blk write: flush: \(e)")
                throw ExitCode(1)
            }
        }
        print("wrote \(written) bytes at offset \(offset)\(noFlush ? "" : ", flushed")")
    }
}

/// Connect to the block server at `socket`, or say why and exit 1.
func connectBlockServer(_ socket: String) throws -> BlockServerClient {
    do { return try BlockServerClient(socket: socket) } catch {
        printError("husk blk: cannot connect to \(socket): \(error)")
        throw ExitCode(1)
    }
}

/// write(2) all of `bytes` to fd, retrying short writes and EINTR.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        off += n
    }
    return true
}
