/// The seccomp allow-list of a sandboxed server: every system call a server
/// may make once it has opened its devices and bound its sockets, in one
/// place, grouped by why it is needed. Anything not listed is answered
/// ENOSYS (or trapped and logged with `--seccomp log`). How this list was
/// found and how to extend it: docs/sandbox.md.
///
/// Rules are by name (resolved for the running architecture by libseccomp);
/// an unknown name is an error when the filter is built, so typos cannot
/// silently shrink the list.
public enum SyscallRule: Sendable, Equatable {
    /// Allowed with any arguments.
    case allow(String)
    /// Allowed only when the first argument is one of these values.
    case allowArg0(String, [UInt64])
    /// Allowed only when the first argument has all these bits set.
    case allowArg0Bits(String, UInt64)
    /// Answered with this errno without a trap or log line: a failure the
    /// caller expects and handles.
    case fail(String, Int32)

    public var name: String {
        switch self {
        case .allow(let n), .allowArg0(let n, _), .allowArg0Bits(let n, _), .fail(let n, _): return n
        }
    }
}

public struct SyscallGroup: Sendable {
    public let name: String
    public let why: String
    public let rules: [SyscallRule]
}

public enum SyscallAllowList {
    static let CLONE_THREAD: UInt64 = 0x0001_0000
    static let PR_SET_NAME: UInt64 = 15, PR_GET_NAME: UInt64 = 16

    /// What every RPC server needs (the runtime in Sources/RPC/Server, the
    /// Swift runtime and glibc underneath it).
    public static let server: [SyscallGroup] = [
        SyscallGroup(
            name: "memory",
            why: """
                malloc and the Swift runtime grow and shrink the heap (brk, mmap, munmap, mremap, madvise); \
                new thread stacks are mapped with a guard page (mmap, mprotect) and released with madvise; \
                registered shared memory is the client's memfd mapped PROT_READ, MAP_SHARED, and unmapped \
                when unregistered or when the connection closes.
                """,
            rules: [
                .allow("brk"), .allow("mmap"), .allow("munmap"), .allow("mremap"), .allow("mprotect"),
                .allow("madvise")
            ]),
        SyscallGroup(
            name: "threads",
            why: """
                Readers (one per connection) and workers start and end after the sandbox is in place. glibc \
                2.36 tries clone3 first and falls back to clone only on ENOSYS, so clone3 is answered ENOSYS \
                quietly (EPERM would break pthread_create), and clone is allowed only with CLONE_THREAD: \
                threads yes, new processes (fork) no. futex is every lock, condition and join; each new \
                thread registers set_robust_list and rseq; exit ends a thread; gettid for thread records; \
                prctl only to set or read a thread's name (PR_SET_NAME, PR_GET_NAME).
                """,
            rules: [
                .allowArg0Bits("clone", CLONE_THREAD), .fail("clone3", 38 /* ENOSYS */),
                .allow("futex"), .allow("set_robust_list"), .allow("rseq"), .allow("exit"), .allow("gettid"),
                .allowArg0("prctl", [PR_SET_NAME, PR_GET_NAME])
            ]),
        SyscallGroup(
            name: "time",
            why: """
                Deadlines, idle timeouts and uptime (clock_gettime and gettimeofday normally run in the vDSO; \
                the syscalls are its fallback); usleep in the echo handler, the shutdown wait and backoff \
                loops (glibc's nanosleep is clock_nanosleep).
                """,
            rules: [
                .allow("clock_gettime"), .allow("gettimeofday"), .allow("clock_nanosleep")
            ]),
        SyscallGroup(
            name: "sockets",
            why: """
                The accept thread (accept4 SOCK_CLOEXEC); one message per sendmsg/recvmsg with SCM_RIGHTS; \
                SO_PEERCRED/SO_PEERGROUPS of each new connection (getsockopt); opened objects (socketpair); \
                shutdown wakes a blocked reader or the accept thread at shutdown; the reply flusher waits \
                for POLLOUT (poll; ppoll where the architecture has no poll).
                """,
            rules: [
                .allow("accept4"), .allow("recvmsg"), .allow("sendmsg"), .allow("getsockopt"),
                .allow("socketpair"), .allow("shutdown"), .allow("poll"), .allow("ppoll")
            ]),
        SyscallGroup(
            name: "files",
            why: """
                Log lines on stderr and the `listening on` line (write; fstat/newfstatat of stdout when \
                stdio sets up its buffer); closing connections and received descriptors (close); \
                F_GET_SEALS on a memfd offered for registration (fcntl); the keeper's acknowledgement \
                (read); the listener removes its socket file at shutdown (unlink: it fails harmlessly \
                when the directory is not the dropped user's, and the keeper removes it). No open: a \
                server opens what it needs before the sandbox.
                """,
            rules: [
                .allow("read"), .allow("write"), .allow("close"), .allow("fcntl"), .allow("fstat"),
                .allow("newfstatat"), .allow("unlink")
            ]),
        SyscallGroup(
            name: "signals",
            why: """
                The SIGINT/SIGTERM watcher waits in sigwait (rt_sigtimedwait); threads block every signal \
                around pthread_create and restore their mask (rt_sigprocmask); a signal handler returns \
                through rt_sigreturn (the SIGSYS handler of log mode among them).
                """,
            rules: [
                .allow("rt_sigprocmask"), .allow("rt_sigtimedwait"), .allow("rt_sigreturn")
            ]),
        SyscallGroup(
            name: "random",
            why: """
                The hypercall table's random operation and Swift's SystemRandomNumberGenerator (getrandom).
                """,
            rules: [
                .allow("getrandom")
            ]),
        SyscallGroup(
            name: "exit",
            why: """
                Leaving the process (exit_group), and reaping the socket keeper once it has removed the \
                socket file at shutdown (wait4).
                """,
            rules: [
                .allow("exit_group"), .allow("wait4")
            ])
    ]

    /// What a block server adds: the posix backend's block I/O workers
    /// (Sources/Hypercalls/Host/BlockIO.swift) read, write and flush the image
    /// it opened before the sandbox was entered.
    public static let blockIO = SyscallGroup(
        name: "block I/O",
        why: """
            Reads and writes of an already open image or block device at an offset (pread64, \
            pwrite64), and the flush that makes them durable (fdatasync, fsync).
            """,
        rules: [
            .allow("pread64"), .allow("pwrite64"), .allow("fdatasync"), .allow("fsync")
        ])

    /// What the NBD frontend adds: byte-stream sockets (recv/send become
    /// recvfrom/sendto) with per-connection timeouts (setsockopt).
    public static let streamSockets = SyscallGroup(
        name: "stream sockets",
        why: """
            The NBD frontend's AF_UNIX stream connections: accepting them (accept), reading and \
            writing (recvfrom, sendto), and the receive/send timeouts that keep a stalled client from \
            holding a thread (setsockopt SO_RCVTIMEO/SO_SNDTIMEO).
            """,
        rules: [
            .allow("accept"), .allow("recvfrom"), .allow("sendto"), .allow("setsockopt")
        ])

    /// What a server that is itself a client of another server adds when
    /// it must reconnect after the sandbox is in place: `husk fs serve
    /// --disk-socket` opening its block server's device again after that
    /// server restarted (a new AF_UNIX SEQPACKET connection, the peer's
    /// credentials, a new shared-memory window).
    public static let clientConnections = SyscallGroup(
        name: "client connections",
        why: """
            Reconnecting to another server after it restarted: a new AF_UNIX socket (socket) and its \
            connection (connect), and the shared-memory window registered on it (memfd_create, \
            ftruncate; fcntl for the seals is in the base list), and the eventfd that wakes the client's reader (eventfd2).
            """,
        rules: [
            .allow("socket"), .allow("connect"), .allow("memfd_create"), .allow("ftruncate"), .allow("eventfd2")
        ])

    /// What a driver server on a PCI backend (vfio, uio, sim) adds: device
    /// region accesses (pread64/pwrite64 on the VFIO device descriptor or
    /// the uio resource files), VFIO ioctls for DMA mappings and interrupt
    /// routing made after attach, eventfds for interrupt vectors set up
    /// later. Found by reading the backends (Sources/Hypercalls/Backends/VFIO,
    /// Sources/Hypercalls/Backends/UIO, Sources/Hypercalls/Backends/PCIHost), not yet by tracing a
    /// server in a VM.
    public static let pciDevice = SyscallGroup(
        name: "PCI device",
        why: """
            Config space and BAR accesses through device descriptors (pread64, pwrite64), VFIO \
            ioctls (DMA map/unmap, interrupt routing, reset), interrupt eventfds (eventfd2).
            """,
        rules: [
            .allow("pread64"), .allow("pwrite64"), .allow("ioctl"), .allow("eventfd2")
        ])

    /// Every rule of `groups`, in order.
    public static func rules(_ groups: [SyscallGroup]) -> [SyscallRule] { groups.flatMap(\.rules) }
}
