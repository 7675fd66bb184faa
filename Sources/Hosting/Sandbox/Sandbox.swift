import Glibc
import Platform
import SandboxC

/// Privilege separation for a server (docs/sandbox.md). A server opens its
/// devices and binds its sockets first, then calls `Sandbox.enter`, which in
/// this order:
///  1. raises RLIMIT_MEMLOCK to what the server will pin;
///  2. when asked to, starts the socket keeper and drops to a numeric uid/gid
///     (setgroups, setresgid, setresuid, on every thread), verifying that
///     root cannot be regained;
///  3. sets no_new_privs;
///  4. loads the seccomp allow-list (SyscallAllowList) with TSYNC, so every
///     thread of the process has it: anything else gets ENOSYS, or with
///     `.log` traps into a SIGSYS handler that names the call on stderr.
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let errno: Int32
    public init(_ message: String, errno: Int32 = 0) {
        self.message = message
        self.errno = errno
    }
    public var description: String { errno == 0 ? message : "\(message): \(errnoName(errno))" }
}

/// What the filter does with a system call that is not on the allow-list.
public enum SeccompMode: String, Sendable, CaseIterable {
    /// Answer ENOSYS (the default).
    case on
    /// Trap: a SIGSYS handler writes the call's name and number to stderr and
    /// answers ENOSYS. For finding missing calls (docs/sandbox.md: a thread
    /// that blocks SIGSYS is killed by the kernel instead).
    case log
    /// No filter. The drop still happens; no_new_privs is then set on the
    /// calling thread only (and threads it starts later): the kernel keeps
    /// it per thread, and only the TSYNC filter load spreads it to all.
    case off
}

/// A numeric uid/gid to run as.
public struct Credentials: Sendable, Equatable, CustomStringConvertible {
    public var uid: UInt32, gid: UInt32
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
    /// nobody:nogroup on Debian.
    public static let nobody = Credentials(uid: 65534, gid: 65534)
    public var description: String { "uid \(uid) gid \(gid)" }

    /// The policy for servers: explicit `--user U --group G` drops to them
    /// (root only); otherwise a server started as root drops to nobody unless
    /// told `noDrop`, and a server started as another user keeps its ids.
    /// Returns nil for "do not drop".
    public static func choose(
        user: UInt32?, group: UInt32?, noDrop: Bool,
        euid: UInt32 = UInt32(geteuid())
    ) throws(SandboxError) -> Credentials? {
        if noDrop {
            if user != nil || group != nil { throw SandboxError("--no-drop-privileges contradicts --user/--group") }
            return nil
        }
        switch (user, group) {
        case (nil, nil):
            return euid == 0 ? .nobody : nil
        case (let u?, let g?):
            if u == 0 { throw SandboxError("--user 0 drops nothing; use --no-drop-privileges to keep root") }
            if euid != 0 {
                throw SandboxError(
                    "cannot drop privileges to uid \(u) gid \(g): the server runs as uid \(euid), "
                        + "and only root can change its uid and gid; start it as root or leave out --user/--group")
            }
            return Credentials(uid: u, gid: g)
        default:
            throw SandboxError("--user and --group go together (numeric uid and gid, e.g. --user 65534 --group 65534)")
        }
    }
}

public struct SandboxConfiguration: Sendable {
    /// RLIMIT_MEMLOCK (soft and hard) is raised to at least this many bytes
    /// (UInt64.max: unlimited) before the drop. nil: left alone.
    public var memlockBytes: UInt64?
    /// Drop to these credentials; nil keeps the current ones.
    public var dropTo: Credentials?
    public var seccomp: SeccompMode = .on
    /// The server's socket files (the RPC socket, and e.g. the NBD socket).
    /// When privileges are dropped, a keeper process per file (started
    /// before the drop, with the original credentials) removes it at
    /// `removeSocketFiles()`; a server killed without that leaves them, stale.
    public var socketPaths: [String] = []
    /// The allow-list: the server runtime's groups plus what a server adds.
    public var groups: [SyscallGroup] = SyscallAllowList.server
    public var extraRules: [SyscallRule] = []
    public init() {}
}

public final class Sandbox: @unchecked Sendable {
    // @unchecked: `keepers` is used from the thread that shuts the server down only.
    public let configuration: SandboxConfiguration
    private var keepers: [husk_sb_keeper] = []

    private init(_ c: SandboxConfiguration) { configuration = c }

    /// Enter the sandbox (see the type's documentation). On error the
    /// process may be half-way (e.g. dropped but unfiltered): the caller
    /// must exit.
    public static func enter(_ c: SandboxConfiguration) throws(SandboxError) -> Sandbox {
        let s = Sandbox(c)
        if let bytes = c.memlockBytes, husk_sb_raise_memlock(bytes) != 0 {
            throw SandboxError("cannot raise RLIMIT_MEMLOCK to \(bytes) bytes", errno: errno)
        }
        if let to = c.dropTo {
            let euid = UInt32(geteuid())
            if euid != 0 {
                throw SandboxError("cannot drop privileges to \(to): the server runs as uid \(euid), not root")
            }
            for path in c.socketPaths {
                var keeper = husk_sb_keeper(pid: 0, command_fd: -1, ack_fd: -1)
                if husk_sb_keeper_start(path, &keeper) != 0 {
                    throw SandboxError("cannot start the socket keeper for \(path)", errno: errno)
                }
                s.keepers.append(keeper)
            }
            if husk_sb_drop_privileges(to.uid, to.gid) != 0 {
                throw SandboxError("cannot drop privileges to \(to)", errno: errno)
            }
        }
        if husk_sb_set_no_new_privs() != 0 { throw SandboxError("prctl(PR_SET_NO_NEW_PRIVS)", errno: errno) }
        if c.seccomp != .off { try loadFilter(mode: c.seccomp, rules: SyscallAllowList.rules(c.groups) + c.extraRules) }
        return s
    }

    /// Check every rule's name against this architecture without loading
    /// anything (unknown names, for tests).
    public static func unknownSyscalls(_ rules: [SyscallRule]) -> [String] {
        rules.map(\.name).filter { husk_sb_syscall_number($0) < 0 }
    }

    static func loadFilter(mode: SeccompMode, rules: [SyscallRule]) throws(SandboxError) {
        guard let f = husk_sb_filter_new(mode == .log ? HUSK_SB_MODE_TRAP : HUSK_SB_MODE_ENOSYS) else {
            throw SandboxError("seccomp_init", errno: errno)
        }
        for r in rules {
            let rc: Int32
            switch r {
            case .allow(let n): rc = husk_sb_filter_allow(f, n)
            case .allowArg0(let n, let values):
                rc = values.reduce(Int32(0)) { acc, v in acc != 0 ? acc : husk_sb_filter_allow_arg0(f, n, v) }
            case .allowArg0Bits(let n, let mask): rc = husk_sb_filter_allow_arg0_bits(f, n, mask)
            case .fail(let n, let e): rc = husk_sb_filter_errno(f, n, e)
            }
            if rc != 0 {
                let e = errno
                husk_sb_filter_free(f)
                throw SandboxError(
                    e == ENOENT
                        ? "seccomp allow-list: unknown system call '\(r.name)' on this architecture"
                        : "seccomp rule for \(r.name)", errno: e == ENOENT ? 0 : e)
            }
        }
        if husk_sb_filter_load(f) != 0 { throw SandboxError("seccomp_load (TSYNC)", errno: errno) }
    }

    /// Remove the socket files through their keepers (when privileges were
    /// dropped; otherwise the server removed them itself). Call after the
    /// server has closed its listeners. Returns how many the keepers removed.
    @discardableResult
    public func removeSocketFiles() -> Int {
        var removed = 0
        for i in keepers.indices where keepers[i].pid > 0 {
            if husk_sb_keeper_remove(&keepers[i]) == 0 { removed += 1 }
        }
        keepers = []
        return removed
    }

    /// Calls a sandboxed process must not be able to make, each with what it
    /// got: `NAME -> ENOSYS`, `NAME -> OK`. For tests
    /// (`husk echo serve --selftest-forbidden-syscall`); `thread` must be OK
    /// (clone3 → ENOSYS → clone fallback).
    public static func selfTest() -> [String] {
        var lines: [String] = []
        func raw(_ name: String, _ a0: Int, _ a1: Int = 0, _ a2: Int = 0) {
            let nr = husk_sb_syscall_number(name)
            let r = husk_sb_raw_syscall(Int(nr), a0, a1, a2)
            lines.append("\(name) -> \(r < 0 ? errnoName(Int32(-r)) : "OK")")
        }
        raw("personality", 0xffff_ffff)  // query only: changes nothing even if it ran
        raw("setresuid", 0, 0, 0)  // regain root
        let f = husk_sb_try_fork()
        lines.append("fork -> \(f < 0 ? errnoName(Int32(-f)) : "OK")")
        let t = husk_sb_try_thread()
        lines.append("thread -> \(t == 0 ? "OK" : errnoName(t))")
        return lines
    }
}

/// ENOSYS, EPERM, ... or `errno N`.
public func errnoName(_ e: Int32) -> String { ErrnoName.name(of: e) ?? "errno \(e)" }
