import ArgumentParser
import Glibc
import NetClient
import Platform
import RPCInterfaces
import RPCWire

/// `husk net`: the net server and its nc-like clients.
struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "A TCP/IP stack's sockets over the native RPC (docs/net.md).",
        discussion: """
            `husk net serve` runs the lwip component over a NIC and exports its sockets (Interfaces/net.idl). \
            connect and listen are clients that behave like nc: standard input goes to the socket and what \
            the socket receives goes to standard output, over TCP or (--udp) UDP.
            """,
        subcommands: [NetServe.self, NetConnect.self, NetListen.self])
}

/// What connect and listen share.
struct NetCatOptions: ParsableArguments {
    @Option(help: "The net server's socket.") var socket: String
    @Flag(help: "UDP: each chunk read from standard input is one datagram; datagrams received go to standard output.")
    var udp = false
    @Option(help: "Seconds to keep receiving after standard input ends (UDP default 1; TCP: until the peer closes).")
    var wait: Double?

    func validate() throws {
        if let wait, wait < 0 || wait > 3600 { throw ValidationError("--wait must be 0...3600 seconds") }
    }

    var kind: UInt32 { udp ? Net.Kind.datagram : Net.Kind.stream }

    func connectServer(_ command: String) throws -> NetServerClient {
        do { return try NetServerClient(socket: socket) } catch {
            throw NetCatFailure("\(command): cannot reach the net server at \(socket): \(error)")
        }
    }
}

struct NetCatFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `husk net connect HOST PORT`.
struct NetConnect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",
        abstract: "Connect to HOST PORT through the net server; standard input to the socket, the socket to standard output.",
        discussion: """
            Over TCP, the end of standard input shuts the connection down for sending, and the command ends \
            once the peer has closed its side and standard input is done. Errors are named as POSIX does: ECONNREFUSED, ETIMEDOUT (--timeout-ms), \
            ECONNRESET, EPIPE. Exit status 0, or 1 after an error.
            """)

    @OptionGroup var options: NetCatOptions
    @Option(name: .customLong("timeout-ms"), help: "Give up connecting after this long (ETIMEDOUT); 0: the stack's own limit.")
    var timeoutMs: UInt32 = 0
    @Argument(help: "The peer's IPv4 or IPv6 address.") var host: String
    @Argument(help: "The peer's port.") var port: UInt16

    func validate() throws {
        guard NetAddress(host: host, port: port) != nil else { throw ValidationError("'\(host)' is not an IPv4 or IPv6 address") }
    }

    func run() throws {
        let peer = NetAddress(host: host, port: port)!
        do {
            let net = try options.connectServer("husk net connect")
            let sock: NetSocket
            do {
                sock = try net.socket(family: peer.family, kind: options.kind)
                try sock.connect(peer, timeoutMs: timeoutMs)
            } catch { throw NetCatFailure("husk net connect: connect \(peer): \(error)") }
            try NetPipe(sock, udp: options.udp, wait: options.wait).run("husk net connect")
        } catch let e as NetCatFailure {
            printError(e.description)
            throw ExitCode(1)
        }
    }
}

/// `husk net listen PORT`.
struct NetListen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Accept one connection on PORT through the net server (UDP: the first sender), then behave like connect.",
        discussion: """
            Prints `listening on ADDRESS:PORT` and then `connection from ADDRESS:PORT` on standard error. \
            Over UDP the first datagram's sender becomes the peer. A port below 1024 needs the admin right in \
            the server's policy.
            """)

    @OptionGroup var options: NetCatOptions
    @Option(help: "The local address to bind (default: every IPv6 and IPv4 address).") var bind: String?
    @Argument(help: "The local port.") var port: UInt16

    func validate() throws {
        if let bind { guard NetAddress(host: bind, port: port) != nil else { throw ValidationError("'\(bind)' is not an address") } }
    }

    func run() throws {
        let local = bind.map { NetAddress(host: $0, port: port)! } ?? NetAddress.any(family: Net.Family.inet6, port: port)
        do {
            let net = try options.connectServer("husk net listen")
            let sock: NetSocket
            do {
                let listener = try net.socket(family: local.family, kind: options.kind)
                try listener.setOption(.reuseAddress, 1)
                try listener.bind(local)
                if options.udp {
                    printError("listening on \(try listener.localAddress()) (udp)")
                    let first = try listener.recvFrom()
                    printError("connection from \(first.from)")
                    writeAll(first.data)
                    try listener.connect(first.from)
                    sock = listener
                } else {
                    try listener.listen(backlog: 1)
                    printError("listening on \(try listener.localAddress())")
                    let (conn, from) = try listener.accept()
                    printError("connection from \(from)")
                    listener.close()
                    sock = conn
                }
            } catch { throw NetCatFailure("husk net listen: \(error)") }
            try NetPipe(sock, udp: options.udp, wait: options.wait).run("husk net listen")
        } catch let e as NetCatFailure {
            printError(e.description)
            throw ExitCode(1)
        }
    }
}

/// Both directions of an nc-like session: a thread copies standard input
/// to the socket, this one the socket to standard output.
struct NetPipe {
    let sock: NetSocket
    let udp: Bool
    let wait: Double?

    init(_ sock: NetSocket, udp: Bool, wait: Double?) {
        self.sock = sock
        self.udp = udp
        self.wait = wait
    }

    final class State: @unchecked Sendable {
        // @unchecked: behind `monitor`.
        let monitor = Monitor()
        var inputDone = false
        var error: String?
    }

    func run(_ command: String) throws {
        let state = State()
        let sock = self.sock
        let udp = self.udp
        HostThread.start(name: "net-stdin", detached: true) {
            let failure = NetPipe.copyInput(to: sock, udp: udp)
            state.monitor.withLock {
                state.inputDone = true
                state.error = failure
                state.monitor.broadcast()
            }
        }
        if udp {
            // Datagrams until standard input ends and --wait (1 s) has passed.
            HostThread.start(name: "net-recv", detached: true) {
                while let d = try? sock.recv(max: 65536) { writeAll(d) }
            }
            state.monitor.withLock { while !state.inputDone { _ = state.monitor.wait() } }
            usleep(useconds_t((wait ?? 1) * 1_000_000))
        } else {
            while true {
                let d: [UInt8]
                do { d = try sock.recv(max: 65536) } catch {
                    throw NetCatFailure("\(command): recv: \(error)")
                }
                if d.isEmpty { break }
                writeAll(d)
            }
            // The peer may only have shut down its sending side: what is
            // left of standard input still goes out (until its end, or until
            // a send fails because the peer is gone).
            state.monitor.withLock { while !state.inputDone { _ = state.monitor.wait() } }
            if let wait { usleep(useconds_t(wait * 1_000_000)) }
        }
        if let e = state.monitor.withLock({ state.error }) { throw NetCatFailure("\(command): \(e)") }
        sock.close()
    }

    /// Standard input to the socket; nil, or what went wrong. Over TCP its
    /// end shuts the connection down for sending.
    static func copyInput(to sock: NetSocket, udp: Bool) -> String? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            do { try sock.send(Array(buf[0..<n]), flags: Net.Flag.noSignal) } catch { return "send: \(error)" }
        }
        if !udp {
            do { try sock.shutdown(Net.Shut.write) } catch { return "shutdown: \(error)" }
        }
        return nil
    }
}

func writeAll(_ d: [UInt8]) {
    var off = 0
    while off < d.count {
        let n = d[off...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        off += n
    }
}
