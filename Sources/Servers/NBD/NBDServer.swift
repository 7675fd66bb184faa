import Glibc
import Glue
import Platform
import RPCSys

/// An NBD server (fixed newstyle, simple replies) on an AF_UNIX stream
/// socket, serving glue disks by export name. One thread accepts; each
/// client gets a connection thread (negotiation, then reading requests)
/// and, in transmission, a sender thread. docs/nbd.md.
public final class NBDServer: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `monitor`.
    public let socketPath: String
    private let config: ServerConfig
    private let monitor = Monitor()

    private var listenFD: Int32 = -1
    private var socketInode: UInt = 0
    private var acceptThread: HostThread?
    private var stopping = false
    /// Sockets of live connections, so shutdown can wake their threads.
    private var sockets: [Int: StreamSocket] = [:]
    private var nextID = 0
    /// Connection threads not yet finished (counted down after close).
    private var live = 0

    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// - exports: the disk for an export name (nil: unknown).
    /// - exportNames: what NBD_OPT_LIST reports.
    /// - defaultExport: served to clients asking for the empty name.
    /// - readOnly: every export read-only, whatever the disk says.
    public init(
        socketPath: String, exports: @escaping @Sendable (String) -> Glue.Disk?,
        exportNames: @escaping @Sendable () -> [String], defaultExport: String? = nil,
        readOnly: Bool = false, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.socketPath = socketPath
        config = ServerConfig(
            exports: exports, exportNames: exportNames, defaultExport: defaultExport,
            readOnly: readOnly, log: log)
    }

    /// A server over the glue's disk registry: every registered disk is an
    /// export under its own name.
    public convenience init(
        socketPath: String, defaultExport: String? = nil, readOnly: Bool = false,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.init(
            socketPath: socketPath, exports: { Glue.Disk(named: $0) }, exportNames: { Glue.diskNames() },
            defaultExport: defaultExport, readOnly: readOnly, log: log)
    }

    /// Listen and start accepting. Throws if a server already listens on
    /// the path, or the socket cannot be made; a stale socket file is
    /// replaced.
    public func start() throws {
        let fd: Int32
        do { fd = try UnixListener.open(path: socketPath) } catch { throw StartError(description: error.description) }
        var st = stat()
        if stat(socketPath, &st) == 0 { socketInode = UInt(st.st_ino) }
        monitor.withLock { listenFD = fd }
        do {
            let t = try HostThread.spawn(name: "nbd-accept") { [self] in acceptLoop(fd) }
            monitor.withLock { acceptThread = t }
        } catch {
            close(fd)
            unlink(socketPath)
            throw StartError(description: error.description)
        }
        config.log("nbd: listening on \(socketPath)")
    }

    /// Stop accepting, let every connection finish the requests it has in
    /// flight and close, then remove the socket file. Idempotent.
    public func shutdown() {
        let (fd, thread) = monitor.withLock { () -> (Int32, HostThread?) in
            stopping = true
            defer {
                acceptThread = nil
                listenFD = -1
            }
            return (listenFD, acceptThread)
        }
        guard fd >= 0 else { return waitForConnections() }
        // shutdown() on a listening socket wakes a thread blocked in accept.
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
        if let thread { thread.join() }
        close(fd)
        var st = stat()
        if stat(socketPath, &st) == 0 && UInt(st.st_ino) == socketInode { unlink(socketPath) }
        monitor.withLock {
            // Readers see end of stream; replies still go out.
            for s in sockets.values { s.shutdownRead() }
        }
        waitForConnections()
        config.log("nbd: stopped serving \(socketPath)")
    }

    /// Connections being served now (tests use it to see the server idle).
    public var connectionCount: Int { monitor.withLock { live } }

    private func waitForConnections() {
        monitor.withLock { while live > 0 { monitor.wait() } }
    }

    // MARK: Accepting

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = husk_rpc_accept(listener)
            if fd < 0 {
                let e = errno
                if monitor.withLock({ stopping }) { return }
                if e == EINTR || e == ECONNABORTED { continue }
                // EMFILE and the like: back off instead of spinning.
                config.log("nbd: accept: \(String(cString: strerror(e)))")
                usleep(10_000)
                continue
            }
            let id: Int? = monitor.withLock {
                guard !stopping, sockets.count < NBDLimits.maxConnections else { return nil }
                nextID += 1
                live += 1
                sockets[nextID] = StreamSocket(fd: fd)
                return nextID
            }
            guard let id else {
                config.log("nbd: connection refused (server stopping or \(NBDLimits.maxConnections) connections)")
                close(fd)
                continue
            }
            do {
                let t = try HostThread.spawn(name: "nbd-conn") { [self] in serveConnection(id: id, fd: fd) }
                t.detach()
            } catch {
                config.log("nbd: \(error)")
                connectionEnded(id: id, fd: fd)
            }
        }
    }

    private func serveConnection(id: Int, fd: Int32) {
        negotiateAndServe(StreamSocket(fd: fd), peer: "client \(id)")
        connectionEnded(id: id, fd: fd)
    }

    /// Separate from serveConnection so that the export (and its disk
    /// reference) is released before the server counts the connection gone.
    private func negotiateAndServe(_ socket: StreamSocket, peer: String) {
        socket.setReceiveTimeout(seconds: NBDLimits.negotiationTimeoutSeconds)
        socket.setSendTimeout(seconds: NBDLimits.sendTimeoutSeconds)
        var negotiation = Negotiation(socket: socket, config: config, peer: peer)
        switch negotiation.run() {
        case .close(let reason):
            config.log("nbd: \(peer): negotiation ended: \(reason)")
        case .transmit(let export):
            socket.setReceiveTimeout(seconds: 0)
            config.log("nbd: \(peer): serving '\(export.name)'\(export.readOnly ? " read-only" : "")")
            Connection(socket: socket, export: export, config: config, peer: peer).serve()
        }
    }

    /// Forget the socket before closing it, so shutdown never touches a
    /// descriptor number that may already be reused.
    private func connectionEnded(id: Int, fd: Int32) {
        monitor.withLock { _ = sockets.removeValue(forKey: id) }
        close(fd)
        monitor.withLock {
            live -= 1
            monitor.broadcast()
        }
    }
}
