import Glibc
import Platform
import RPCSys
import RPCTransport

/// Write end of the self-pipe the signal handler writes signal numbers to.
nonisolated(unsafe) private var signalPipeWrite: Int32 = -1

/// A failure to start the stack (bad state directory, a socket in use...).
public struct SupervisorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}

/// `husk up`: binds every server's socket, spawns the servers with the
/// socket inherited as descriptor 3, reaps and restarts them with backoff,
/// answers `status`/`down` on STATE_DIR/control.sock, and stops the stack on
/// SIGTERM/SIGINT or `down`. Single-threaded: one poll() loop over a signal
/// self-pipe, the control socket and its connections. docs/supervision.md.
public final class Supervisor {
    public enum State: String, Sendable { case running, restarting, stopped }

    /// First restart delay, doubled per quick crash up to `maxDelay`; reset
    /// when a server ran at least `stableUptime`.
    public static let initialDelay: UInt64 = 100_000_000
    public static let maxDelay: UInt64 = 5_000_000_000
    public static let stableUptime: UInt64 = 10_000_000_000
    /// The descriptor number a server finds its listening socket at.
    public static let listenFD: Int32 = 3

    final class Server {
        let config: ServerConfig
        let kind: ServerKind
        var listener: SeqPacketListener?
        var spawnFD: Int32 = -1  // a close-on-exec dup >= 10, dup2'ed to 3 in the child
        var pid: pid_t = 0
        var state = State.stopped
        var restarts = 0
        var startedAt: UInt64 = 0
        var lastExit = "-"
        var delay: UInt64 = 0
        var nextStart: UInt64 = 0
        init(_ c: ServerConfig) {
            config = c
            kind = ServerKind.find(c.kind)!
        }
    }

    let config: StackConfig
    let executable: String
    let stateDir: String
    let log: (String) -> Void
    let started = monotonicNanos()
    var servers: [Server] = []
    var control: SeqPacketListener?
    var controlConns: [Int32] = []
    var downWaiters: [Int32] = []
    var stopping = false
    var stopDeadline: UInt64 = 0
    var killed = false
    var signalPipeRead: Int32 = -1

    /// `executable`: the husk binary to spawn servers from (/proc/self/exe).
    /// `log` receives complete lines (without a newline).
    public init(config: StackConfig, executable: String, log: @escaping (String) -> Void) {
        self.config = config
        self.executable = executable
        self.stateDir = config.resolvedStateDirectory
        self.log = log
    }

    func say(_ s: String) {
        let t = Double(monotonicNanos() - started) / 1e9
        var stamp = String(Int(t * 1000) % 1000)
        while stamp.count < 3 { stamp = "0" + stamp }
        log("husk up [\(Int(t)).\(stamp)] \(s)")
    }

    // MARK: running

    /// Run until stopped; returns the exit code (0 after a clean stop).
    public func run() throws(SupervisorError) -> Int32 {
        try prepare()
        defer { cleanup() }
        say("stack '\(config.name)' supervisor pid \(getpid()), state in \(stateDir)")
        for s in servers where s.config.enabled { spawn(s) }
        for s in servers where !s.config.enabled { say("server \(s.config.name): disabled") }
        writeState()
        loop()
        say("stack '\(config.name)' stopped")
        return 0
    }

    private func prepare() throws(SupervisorError) {
        try makeDirectories(stateDir)
        let controlPath = stateDir + "/control.sock"
        do { control = try SeqPacketListener(path: controlPath, mode: 0o600) } catch {
            if error.errno == EADDRINUSE {
                throw SupervisorError("a supervisor is already running for stack '\(config.name)' (\(controlPath))")
            }
            throw SupervisorError("control socket \(controlPath): \(error)")
        }
        setNonBlocking(control!.fd)
        writeFile(stateDir + "/supervisor.pid", "\(getpid())\n")
        for c in config.servers {
            let s = Server(c)
            servers.append(s)
            do {
                let l = try SeqPacketListener(path: c.socket, mode: c.mode)
                s.listener = l
                s.spawnFD = fcntl(l.fd, F_DUPFD_CLOEXEC, 10)
                if s.spawnFD < 0 { throw SupervisorError("dup of \(c.socket): \(String(cString: strerror(errno)))") }
            } catch let e as TransportError {
                cleanup()
                throw SupervisorError("server \(c.name): cannot listen on \(c.socket): \(e)")
            } catch {
                cleanup()
                throw SupervisorError("server \(c.name): \(error)")
            }
        }
        var p: [Int32] = [0, 0]
        guard pipe(&p) == 0 else {
            cleanup()
            throw SupervisorError("pipe: \(String(cString: strerror(errno)))")
        }
        for fd in p {
            setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        signalPipeRead = p[0]
        signalPipeWrite = p[1]
        for sig in [SIGCHLD, SIGTERM, SIGINT, SIGHUP] {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { sig in
                let saved = errno
                var b = UInt8(truncatingIfNeeded: sig)
                _ = write(signalPipeWrite, &b, 1)
                errno = saved
            }
            sa.sa_flags = SA_RESTART | (sig == SIGCHLD ? SA_NOCLDSTOP : 0)
            sigemptyset(&sa.sa_mask)
            sigaction(sig, &sa, nil)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    private func loop() {
        while true {
            let now = monotonicNanos()
            if stopping {
                if !servers.contains(where: { $0.pid != 0 }) { return }
                if now >= stopDeadline {
                    if killed {
                        say("servers still not reaped after SIGKILL; giving up on them")
                        return
                    }
                    for s in servers where s.pid != 0 {
                        say("server \(s.config.name) (pid \(s.pid)) did not stop within \(config.stopTimeout) s: SIGKILL")
                        kill(s.pid, SIGKILL)
                    }
                    killed = true
                    stopDeadline = now + 5_000_000_000
                }
            } else {
                for s in servers where s.state == .restarting && s.nextStart <= now {
                    s.restarts += 1
                    spawn(s)
                    writeState()
                }
            }
            // Poll until the next timer (restart or stop deadline), at most 1 s.
            var wake = now + 1_000_000_000
            if stopping { wake = min(wake, stopDeadline) }
            for s in servers where s.state == .restarting { wake = min(wake, s.nextStart) }
            let timeoutMs = Int32(clamping: (wake > now ? wake - now : 0) / 1_000_000 + 1)
            var fds = [pollfd(fd: signalPipeRead, events: Int16(POLLIN), revents: 0)]
            if let c = control, !stopping { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            for c in controlConns { fds.append(pollfd(fd: c, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), timeoutMs)
            if n < 0 {
                if errno == EINTR { continue }
                say("poll: \(String(cString: strerror(errno)))")
                usleep(100_000)
                continue
            }
            for f in fds where f.revents != 0 {
                if f.fd == signalPipeRead { handleSignals() } else if f.fd == control?.fd { acceptControl() } else { handleControl(f.fd) }
            }
        }
    }

    private func handleSignals() {
        var buf = [UInt8](repeating: 0, count: 64)
        var reap = false
        while true {
            let n = read(signalPipeRead, &buf, buf.count)
            if n <= 0 { break }
            for b in buf[0..<n] {
                let sig = Int32(b)
                if sig == SIGCHLD {
                    reap = true
                } else if sig == SIGHUP {
                    say("SIGHUP ignored (reloading is not supported; restart the stack)")
                } else {
                    beginStop(reason: "signal \(signalName(sig))")
                }
            }
        }
        if reap { reapChildren() }
    }

    private func reapChildren() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            guard let s = servers.first(where: { $0.pid == pid }) else { continue }
            let now = monotonicNanos()
            let uptime = now - s.startedAt
            let how = describeWaitStatus(status)
            s.pid = 0
            s.lastExit = how
            let clean = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
            let again = !stopping && (s.config.restart == .always || (s.config.restart == .onFailure && !clean))
            let ran = "after \(formatSeconds(uptime))"
            if again {
                s.delay = uptime >= Self.stableUptime || s.delay == 0 ? Self.initialDelay : min(s.delay * 2, Self.maxDelay)
                s.nextStart = now + s.delay
                s.state = .restarting
                say("server \(s.config.name) (pid \(pid)) \(how) \(ran); restart \(s.restarts + 1) in \(s.delay / 1_000_000) ms")
            } else {
                s.state = .stopped
                say(
                    "server \(s.config.name) (pid \(pid)) \(how) \(ran); \(stopping ? "stopped" : "not restarted (restart = \(s.config.restart.rawValue))")"
                )
            }
            writeState()
        }
    }

    private func spawn(_ s: Server) {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&fa, s.spawnFD, Self.listenFD)  // dup2 clears FD_CLOEXEC
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let args = [executable] + s.kind.arguments(s.config, Self.listenFD)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &fa, &attr, &argv, environ)
        s.startedAt = monotonicNanos()
        if rc != 0 {
            s.lastExit = "spawn failed: \(String(cString: strerror(rc)))"
            s.delay = s.delay == 0 ? Self.initialDelay : min(s.delay * 2, Self.maxDelay)
            s.nextStart = s.startedAt + s.delay
            s.state = .restarting
            say("server \(s.config.name): \(s.lastExit); retry in \(s.delay / 1_000_000) ms")
            return
        }
        s.pid = pid
        s.state = .running
        say("server \(s.config.name) started (pid \(pid)): \(args.joined(separator: " "))")
    }

    private func beginStop(reason: String) {
        if stopping { return }
        stopping = true
        stopDeadline = monotonicNanos() + UInt64(config.stopTimeout) * 1_000_000_000
        say("stopping (\(reason)): SIGTERM to every server, SIGKILL after \(config.stopTimeout) s")
        for s in servers {
            if s.pid != 0 { kill(s.pid, SIGTERM) } else { s.state = .stopped }
        }
        writeState()
    }

    // MARK: control socket

    private func acceptControl() {
        guard let c = control else { return }
        while true {
            let fd = husk_rpc_accept(c.fd)
            if fd < 0 { return }
            if controlConns.count >= 32 {
                close(fd)
                continue
            }
            controlConns.append(fd)
        }
    }

    private func handleControl(_ fd: Int32) {
        var buf = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        controlConns.removeAll { $0 == fd }
        guard n > 0 else {
            close(fd)
            return
        }
        let request = String(decoding: buf[0..<n], as: UTF8.self).trimmingSpaces
        switch request {
        case "status":
            send(fd, statusText())
            close(fd)
        case "down":
            send(fd, "stopping\n")
            downWaiters.append(fd)
            beginStop(reason: "husk down")
        default:
            send(fd, "error: unknown request '\(request)' (known: status, down)\n")
            close(fd)
        }
    }

    private func send(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        if bytes.count > 60_000 { bytes = Array(bytes.prefix(60_000)) }
        _ = bytes.withUnsafeBytes { husk_rpc_send(fd, $0.baseAddress, $0.count, nil, 0, 1) }
    }

    /// The reply to `status` (also written to STATE_DIR/state).
    func statusText() -> String {
        let now = monotonicNanos()
        var out =
            "stack \(config.name) supervisor \(getpid()) \(stopping ? "stopping" : "running") uptime \(formatSeconds(now - started)) state_dir \(stateDir)\n"
        var rows = [["SERVER", "STATE", "PID", "RESTARTS", "UPTIME", "LAST-EXIT"]]
        for s in servers {
            rows.append([
                s.config.name, s.state.rawValue, s.pid == 0 ? "-" : "\(s.pid)", "\(s.restarts)",
                s.state == .running ? formatSeconds(now - s.startedAt) : "-", s.lastExit
            ])
        }
        var widths = [Int](repeating: 0, count: 6)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        for r in rows {
            var line = ""
            for (i, c) in r.enumerated() {
                line += c
                if i < r.count - 1 { line += String(repeating: " ", count: widths[i] - c.count + 2) }
            }
            out += line + "\n"
        }
        return out
    }

    private func writeState() { writeFile(stateDir + "/state", statusText()) }

    // MARK: cleanup

    private func cleanup() {
        for fd in downWaiters {
            send(fd, "stopped\n")
            close(fd)
        }
        downWaiters = []
        for fd in controlConns { close(fd) }
        controlConns = []
        for s in servers {
            s.listener?.close()  // unlinks the socket path
            s.listener = nil
            if s.spawnFD >= 0 {
                close(s.spawnFD)
                s.spawnFD = -1
            }
        }
        control?.close()
        control = nil
        unlink(stateDir + "/supervisor.pid")
        unlink(stateDir + "/state")
        unlink(stateDir + "/state.tmp")
        rmdir(stateDir)
    }
}

// MARK: helpers

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}

func setNonBlocking(_ fd: Int32) { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }

func makeDirectories(_ path: String) throws(SupervisorError) {
    var cur = ""
    for part in path.split(separator: "/") {
        cur += "/" + part
        if mkdir(cur, 0o755) != 0 && errno != EEXIST {
            throw SupervisorError("cannot create state directory \(cur): \(String(cString: strerror(errno)))")
        }
    }
}

/// Write via a temporary file and rename, so readers never see half a file.
func writeFile(_ path: String, _ text: String) {
    let tmp = path + ".tmp"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return }
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    rename(tmp, path)
}

func formatSeconds(_ nanos: UInt64) -> String {
    let tenths = nanos / 100_000_000
    return "\(tenths / 10).\(tenths % 10)s"
}

public func signalName(_ sig: Int32) -> String {
    let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
        SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
        SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
        SIGTERM: "SIGTERM", SIGSYS: "SIGSYS", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2"
    ]
    return names[sig].map { "\(sig) (\($0))" } ?? "\(sig)"
}

/// "exited with status N" or "killed by signal N (SIGNAME)[, core dumped]".
public func describeWaitStatus(_ status: Int32) -> String {
    let sig = status & 0x7f
    if sig == 0 { return "exited with status \((status >> 8) & 0xff)" }
    return "killed by signal \(signalName(sig))" + ((status & 0x80) != 0 ? ", core dumped" : "")
}
