import ArgumentParser
import Glibc
import Sandbox

extension SeccompMode: ExpressibleByArgument {}

/// Privilege separation options of a server subcommand (docs/sandbox.md).
struct SandboxOptions: ParsableArguments {
    @Option(
        help: "Numeric uid to run as once the socket is bound (needs root). A server started as root drops to 65534 (nobody) by default.")
    var user: UInt32?
    @Option(help: "Numeric gid to run as (with --user; default 65534 for a root-started server).")
    var group: UInt32?
    @Flag(help: "A server started as root keeps root (no drop to 65534:65534).")
    var noDropPrivileges = false
    @Option(
        help:
            "System call filter: on (anything not on the allow-list fails with ENOSYS), log (same, and each such call is named on stderr), off."
    )
    var seccomp: SeccompMode = .on
    @Flag(name: .customLong("selftest-forbidden-syscall"), help: .hidden)
    var selftestForbiddenSyscall = false

    func validate() throws {
        do { _ = try Credentials.choose(user: user, group: group, noDrop: noDropPrivileges) } catch {
            throw ValidationError(error.description)
        }
    }

    /// Enter the sandbox once the server's socket is bound. `socket`: the
    /// socket file the server would remove at exit (nil when it is not the
    /// server's to remove, e.g. inherited with --listen-fd); when privileges
    /// are dropped the keeper removes it instead. Prints the self-test lines
    /// when asked. On failure prints why and throws ExitCode(1).
    /// `sockets`: the socket files the server bound (removed at shutdown
    /// even after the drop, through keepers).
    func enter(command: String, sockets: [String], memlockBytes: UInt64? = nil, extraGroups: [SyscallGroup] = []) throws -> Sandbox {
        var c = SandboxConfiguration()
        c.groups += extraGroups
        c.seccomp = seccomp
        c.socketPaths = sockets
        c.memlockBytes = memlockBytes
        do {
            c.dropTo = try Credentials.choose(user: user, group: group, noDrop: noDropPrivileges)
            let s = try Sandbox.enter(c)
            if selftestForbiddenSyscall {
                for line in Sandbox.selfTest() { print("sandbox-selftest \(line)") }
            }
            return s
        } catch {
            let line = "\(command): sandbox: \(error)\n"
            _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
            throw ExitCode(1)
        }
    }
}
