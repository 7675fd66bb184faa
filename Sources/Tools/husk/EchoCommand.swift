import ArgumentParser
import Glibc
import Platform
import RPCClient
import RPCEcho
import RPCServer
import RPCTransport
import RPCWire
import Sandbox

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The echo RPC server and client: the interface that proves the native RPC path.",
        discussion: """
            `husk echo serve` runs a server for Interfaces/echo.idl (interface 1, version 1) on an \
            AF_UNIX SOCK_SEQPACKET socket; the other subcommands are clients. Protocol: docs/protocol.md; \
            runtime, limits and policy: docs/rpc-runtime.md. Client subcommands print the result on \
            stdout and exit 0, or print `error: STATUS ...` on stderr and exit 1.
            """,
        subcommands: [EchoServe.self, EchoCall.self, EchoPing.self, EchoStat.self, EchoWhoami.self, EchoSleep.self, EchoBatch.self])
}

struct EchoServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the echo interface until SIGINT or SIGTERM.",
        discussion: """
            Binds --socket (a live server already there is an error; a stale socket file is replaced) \
            and prints `listening on PATH` when ready. Identity of every caller comes from the kernel \
            (SO_PEERCRED, SO_PEERGROUPS). Policy: every operation is allowed to everyone, except those \
            named with --deny-op, which only the uids given with --allow-uid and the gids given with \
            --allow-gid may call (others get EACCES; the connection stays usable). --policy FILE reads \
            the full syntax of docs/rpc-runtime.md (`default allow|deny`, `allow echo.sleep uid=0 gid=100`). \
            Operation names: ping echo stat sleep checksum raise whoami open, or control.ping \
            control.register_shm control.unregister_shm control.stats. On SIGINT/SIGTERM: stop accepting, \
            let calls in flight finish for --shutdown-deadline seconds, cancel the rest, exit 0. Log lines \
            go to stderr.
            """)

    @Option(help: "Path of the listening socket.") var socket: String
    @Option(name: .customLong("allow-uid"), help: "A uid allowed the operations named by --deny-op (repeatable).") var allowUID: [UInt32] =
        []
    @Option(name: .customLong("allow-gid"), help: "A gid allowed the operations named by --deny-op (repeatable).") var allowGID: [UInt32] =
        []
    @Option(name: .customLong("deny-op"), help: "An echo operation (e.g. sleep) restricted to --allow-uid/--allow-gid (repeatable).")
    var denyOp: [String] = []
    @Option(help: "A policy file (docs/rpc-runtime.md); combined with the flags above.") var policy: String?
    @Option(help: "Permissions of the socket file, octal (e.g. 666 so that other users can connect).") var mode: String?
    @Option(help: "Most worker threads running calls at once.") var workers: Int = 64
    @Option(help: "Seconds calls in flight may take to finish at shutdown before they are cancelled.") var shutdownDeadline: Double = 5
    @Option(help: "Server name reported in the HELLO reply.") var name: String = "echo"
    @Option(
        name: .customLong("listen-fd"),
        help:
            "Serve the already-listening socket inherited as this descriptor (from `husk up`, docs/supervision.md); --socket then only names it: it is not bound, and not removed at exit."
    ) var listenFD: Int32?
    @OptionGroup(title: "Privilege separation (docs/sandbox.md)") var sandboxing: SandboxOptions

    func validate() throws {
        if let mode, mode_t(mode, radix: 8) == nil { throw ValidationError("--mode must be octal, e.g. 666") }
        guard workers >= 1 && workers <= 1024 else { throw ValidationError("--workers must be 1...1024") }
        let known: Set<String> = [
            "ping", "echo", "stat", "sleep", "checksum", "raise", "whoami", "open",
            "control.ping", "control.register_shm", "control.unregister_shm", "control.stats"
        ]
        for op in denyOp where !known.contains(op) {
            throw ValidationError("--deny-op \(op): unknown operation (known: \(known.sorted().joined(separator: " ")))")
        }
    }

    func run() throws {
        var p = try policy.map(loadPolicyFile) ?? AccessPolicy.allowAll
        for op in denyOp {
            p.allow(op.contains(".") ? op : "echo.\(op)", uids: allowUID, gids: allowGID)
        }
        // Signals go to a watcher thread (started before any other thread).
        let stop = StopSignal()
        var config = RPCServer.Configuration(name: name)
        config.policy = p
        config.maxWorkers = workers
        let server = RPCServer(configuration: config, handlers: [EchoHandler()])
        do {
            if let listenFD {
                try server.listen(inheritedDescriptor: listenFD, path: socket)
            } else {
                try server.listen(path: socket, mode: mode.flatMap { mode_t($0, radix: 8) })
            }
        } catch {
            let line = "husk echo serve: cannot listen on \(socket): \(error)\n"
            _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
            throw ExitCode(1)
        }
        // Bound: drop privileges, no_new_privs, seccomp (docs/sandbox.md).
        let sandbox: Sandbox
        do { sandbox = try sandboxing.enter(command: "husk echo serve", sockets: listenFD == nil ? [socket] : []) } catch {
            server.shutdown(deadline: 0, grace: 0)
            throw error
        }
        print("listening on \(socket)")
        let sig = stop.wait()
        let line = "husk echo serve: signal \(sig), shutting down\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
        server.shutdown(deadline: shutdownDeadline)
        sandbox.removeSocketFiles()
    }
}

/// --socket for client subcommands.
struct EchoClientOptions: ParsableArguments {
    @Option(help: "Path of the server's socket.") var socket: String

    func connect() throws -> EchoSession {
        do { return try EchoSession.connect(path: socket) } catch { throw EchoFailure(error) }
    }
}

struct EchoFailure: Error, CustomStringConvertible {
    let error: RPCError
    init(_ e: RPCError) { error = e }
    var description: String { "error: \(error)" }
}

func echoRun<T>(_ body: () throws(RPCError) -> T) throws -> T {
    do { return try body() } catch {
        let line = "error: \(error)\n"
        _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
        throw ExitCode(1)
    }
}

struct EchoCall: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "echo(data): send bytes, print what comes back.",
        discussion: "Prints the echoed text on stdout (the bytes as UTF-8).")
    @OptionGroup var options: EchoClientOptions
    @Option(help: "Text to send.") var data: String = "hello"
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        let back = try echoRun { () throws(RPCError) in try c.echo(Array(data.utf8)) }
        print(String(decoding: back, as: UTF8.self))
    }
}

struct EchoPing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping", abstract: "echo.ping(): prints `pong` and the round trip time.")
    @OptionGroup var options: EchoClientOptions
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        let t0 = monotonicNanos()
        try echoRun { () throws(RPCError) in try c.ping() }
        print("pong from '\(c.rpc.server.name)' in \(Double(monotonicNanos() - t0) / 1000) us")
    }
}

struct EchoStat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat", abstract: "echo.stat() and the control interface's STATS.",
        discussion: "Prints `uptime_ns N calls N` (echo handler), then one line per operation: `INTERFACE.OP calls N errors N`.")
    @OptionGroup var options: EchoClientOptions
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        let s = try echoRun { () throws(RPCError) in try c.stat() }
        print("uptime_ns \(s.uptimeNanos) calls \(s.calls)")
        let st = try echoRun { () throws(RPCError) in try c.rpc.stats() }
        let names = EchoHandler().operationNames
        for o in st.operations {
            let n =
                o.interface == RPCControl.interface
                ? "control.\(RPCControl.Operation(rawValue: o.operation)?.name ?? "\(o.operation)")"
                : o.interface == 1 ? "echo.\(names[o.operation] ?? "\(o.operation)")" : "\(o.interface).\(o.operation)"
            print("\(n) calls \(o.calls) errors \(o.errors)")
        }
    }
}

struct EchoWhoami: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami", abstract: "echo.whoami(): who the server's kernel says you are.",
        discussion: "Prints `uid N gid N groups A,B,...` as the server got them from SO_PEERCRED/SO_PEERGROUPS.")
    @OptionGroup var options: EchoClientOptions
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        let w = try echoRun { () throws(RPCError) in try c.whoami() }
        print("uid \(w.uid) gid \(w.gid) groups \(w.groups.map(String.init).joined(separator: ","))")
    }
}

struct EchoSleep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sleep", abstract: "echo.sleep(ms): the server sleeps; prints `slept N ms`.",
        discussion:
            "With --cancel-after MS the client cancels the call after that many milliseconds; the server then answers EINTR (printed as `error: EINTR`, exit 1)."
    )
    @OptionGroup var options: EchoClientOptions
    @Option(help: "Milliseconds to sleep.") var ms: UInt32 = 1000
    @Option(help: "Cancel the call after this many milliseconds.") var cancelAfter: UInt32?
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        let id = try echoRun { () throws(RPCError) in
            try c.rpc.start(interface: EchoHandler.id, operation: EchoHandler.Op.sleep, payload: EchoSession.sleepPayload(ms: ms))
        }
        if let cancelAfter {
            usleep(cancelAfter * 1000)
            c.rpc.cancel(id)
        }
        let r = c.rpc.wait(id)
        let slept = try echoRun { () throws(RPCError) -> UInt32 in
            if r.status != 0 { throw RPCError(r.status) }
            return try EchoSession.decodeSleepReply(r.payload)
        }
        print("slept \(slept) ms")
    }
}

struct EchoBatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Several echo calls on ONE connection, one output line each.",
        discussion: """
            Each argument is an operation: `ping`, `echo:TEXT`, `stat`, `sleep:MS`, `whoami`, `raise:SIG` \
            (the reply's signal is reported, not raised), `open:NAME` (then `whoami` on the opened object). \
            Prints `OP: OK ...` or `OP: ESTATUS` per call and always exits 0 once connected, so that a \
            denied call and the allowed calls after it on the same connection can be observed together.
            """)
    @OptionGroup var options: EchoClientOptions
    @Argument(help: "Operations, in order.") var ops: [String]
    func run() throws {
        let c = try echoRun { () throws(RPCError) in try EchoSession.connect(path: options.socket) }
        c.rpc.raisesSignals = false
        for op in ops {
            let parts = op.split(separator: ":", maxSplits: 1).map(String.init)
            let arg = parts.count > 1 ? parts[1] : ""
            do throws(RPCError) {
                switch parts[0] {
                case "ping":
                    try c.ping()
                    print("\(op): OK")
                case "echo": print("\(op): OK \(String(decoding: try c.echo(Array(arg.utf8)), as: UTF8.self))")
                case "stat":
                    let s = try c.stat()
                    print("\(op): OK calls \(s.calls)")
                case "sleep": print("\(op): OK slept \(try c.sleep(ms: UInt32(arg) ?? 0))")
                case "whoami":
                    let w = try c.whoami()
                    print("\(op): OK uid \(w.uid) gid \(w.gid) groups \(w.groups.map(String.init).joined(separator: ","))")
                case "raise":
                    var w = PayloadWriter()
                    w.u32(UInt32(arg) ?? 0)
                    let r = c.rpc.invoke(interface: EchoHandler.id, operation: EchoHandler.Op.raise, payload: w.bytes)
                    if r.status != 0 { throw RPCError(r.status) }
                    print("\(op): OK signal \(r.signal)")
                case "open":
                    let fd = try c.open(name: arg)
                    let o = EchoSession(try RPCClient.adopt(fd: fd, require: [(EchoHandler.id, EchoHandler.version)]))
                    let w = try o.whoami()
                    print("\(op): OK object uid \(w.uid) gid \(w.gid)")
                    o.rpc.close()
                default: print("\(op): unknown operation")
                }
            } catch {
                print("\(op): \(RPCStatus.name(error.status))")
            }
        }
    }
}
