import ArgumentParser
import Glibc
import Supervisor

private let configHelp = """
    Stack file (TOML subset: [tables], key = "string" | integer | true/false | ["array", "of", "strings"], \
    # comments; arrays on one line; errors are reported as FILE:LINE: message):

      [stack]
      name = "demo"                 # required: letters, digits, _ and -
      state_dir = "/tmp/husk-demo"  # optional; default /run/husk/NAME, or /tmp/husk-NAME if /run is not writable
      stop_timeout = 10             # optional: seconds from SIGTERM to SIGKILL at stop

      [server.echo-a]
      kind = "echo"                 # required: the server kind: echo, blk, nic or net
      socket = "/tmp/husk-demo-a.sock"  # required; relative paths are relative to the file
      mode = "666"                  # optional: socket file permissions (octal)
      user = 65534                  # optional: numeric uid, passed as --user N
      group = 65534                 # optional: numeric gid, passed as --group N
      args = ["--workers", "8"]     # optional: extra arguments for the server
      restart = "on-failure"        # always | on-failure (default) | never
      enabled = true                # optional; false keeps the entry without starting it

    Full description: docs/supervision.md; example: examples/stack.toml.
    """

private func stderrLine(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
}

private func loadConfig(_ path: String) throws -> StackConfig {
    do { return try StackConfig.load(path: path) } catch {
        stderrLine("error: \(error)")
        throw ExitCode(2)
    }
}

/// --config FILE | --state-dir DIR, for status and down.
struct StackLocator: ParsableArguments {
    @Option(help: "The stack file the stack was started with (finds its state directory).") var config: String?
    @Option(help: "The supervisor's state directory (instead of --config).") var stateDir: String?

    func validate() throws {
        if (config == nil) == (stateDir == nil) { throw ValidationError("give exactly one of --config FILE or --state-dir DIR") }
    }

    func stateDirectory() throws -> String {
        if let stateDir { return stateDir }
        let c = try loadConfig(config!)
        guard let d = SupervisorControl.findStateDirectory(c) else {
            stderrLine(
                "error: no supervisor is running for stack '\(c.name)' (looked in \(c.candidateStateDirectories.joined(separator: ", ")))")
            throw ExitCode(1)
        }
        return d
    }
}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a stack of servers from a config file and supervise them (foreground).",
        discussion: """
            The supervisor binds every server's listening socket itself and hands it to the server as \
            descriptor 3 (`husk echo serve --listen-fd 3`), so the socket path never disappears while the \
            stack is up: a connection made while a server restarts waits in the listen backlog and is \
            served by the next instance; a new `husk echo call` after a restart just works, and a client \
            that stays connected reconnects and retries its idempotent calls (docs/rpc-runtime.md).

            A server that exits is restarted according to `restart`, after 100 ms, doubling for each quick \
            crash up to 5 s; the delay resets once a server ran 10 s. Every start and exit (with its exit \
            status or signal) is logged on stderr as `husk up [SECONDS] ...`.

            SIGTERM, SIGINT or `husk down` stop the stack: SIGTERM to every server, SIGKILL after \
            stop_timeout seconds, then the sockets, the control socket and the state files \
            (STATE_DIR/control.sock, supervisor.pid, state) are removed and `husk up` exits 0. \
            `husk status` shows the servers' state.

            \(configHelp)
            """)

    @Option(help: "The stack file (see below).") var config: String

    func run() throws {
        let c = try loadConfig(config)
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else {
            stderrLine("error: cannot find the husk executable (/proc/self/exe)")
            throw ExitCode(1)
        }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let s = Supervisor(config: c, executable: exe, log: stderrLine)
        do {
            let code = try s.run()
            if code != 0 { throw ExitCode(code) }
        } catch let e as SupervisorError {
            stderrLine("husk up: error: \(e)")
            throw ExitCode(1)
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the state of a running stack's servers.",
        discussion: """
            Asks the supervisor over STATE_DIR/control.sock. Prints a header line \
            `stack NAME supervisor PID running|stopping uptime Ns state_dir DIR`, then one row per \
            server: SERVER STATE PID RESTARTS UPTIME LAST-EXIT, where STATE is running, restarting \
            (waiting for its backoff delay) or stopped, PID and UPTIME are `-` unless running, RESTARTS \
            counts restarts since `husk up`, LAST-EXIT is how the previous instance ended \
            (`exited with status N` or `killed by signal N (SIGNAME)`). Exits 1 if no supervisor runs.

            \(configHelp)
            """)

    @OptionGroup var stack: StackLocator
    @Option(help: "Seconds to wait for the supervisor's answer.") var timeout: Double = 5

    func run() throws {
        let dir = try stack.stateDirectory()
        do {
            let r = try SupervisorControl.request(stateDir: dir, "status", timeout: timeout)
            guard let text = r.replies.first else {
                stderrLine("error: no answer from the supervisor in \(dir)")
                throw ExitCode(1)
            }
            print(text, terminator: "")
        } catch let e as SupervisorError {
            stderrLine("error: \(e)")
            throw ExitCode(1)
        }
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Stop a running stack and wait until its supervisor exited.",
        discussion: """
            Asks the supervisor (STATE_DIR/control.sock) to stop: every server gets SIGTERM, SIGKILL \
            after the stack's stop_timeout; sockets and state files are removed. Returns once the \
            supervisor has exited (exit 0), or exits 1 after --timeout seconds or if none is running.

            \(configHelp)
            """)

    @OptionGroup var stack: StackLocator
    @Option(help: "Seconds to wait for the stack to stop.") var timeout: Double = 60

    func run() throws {
        let dir = try stack.stateDirectory()
        do {
            let r = try SupervisorControl.request(stateDir: dir, "down", timeout: timeout)
            if r.timedOut {
                stderrLine("error: the stack in \(dir) did not stop within \(timeout) s")
                throw ExitCode(1)
            }
            if let e = r.replies.first(where: { $0.hasPrefix("error") }) {
                stderrLine(e)
                throw ExitCode(1)
            }
            print("stopped")
        } catch let e as SupervisorError {
            stderrLine("error: \(e)")
            throw ExitCode(1)
        }
    }
}
