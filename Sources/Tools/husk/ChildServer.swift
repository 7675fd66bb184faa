import Glibc
import RPCSys

/// A server started as a child process of this husk (the same executable,
/// another subcommand), for demos and benchmarks that must talk to a real
/// server process over its socket. Output goes to `logPath` (or /dev/null).
final class ChildServer {
    let pid: pid_t
    let socket: String
    private var reaped = false

    /// Start `husk ARGS...` and wait until `socket` accepts connections
    /// (up to `timeoutSeconds`); throws if the child exits first.
    init(arguments: [String], socket: String, logPath: String? = nil, timeoutSeconds: Double = 30) throws {
        let exe = try selfExecutable()
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
        let out = logPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        let argv = ["husk"] + arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var child: pid_t = 0
        let r = posix_spawn(&child, exe, &fa, nil, &cargs, environ)
        guard r == 0 else { throw ChildServerError("cannot start \(exe): \(String(cString: strerror(r)))") }
        pid = child
        self.socket = socket
        let deadline = monotonicSeconds() + timeoutSeconds
        while !Self.accepts(socket) {
            var st: Int32 = 0
            if waitpid(pid, &st, WNOHANG) == pid {
                reaped = true
                throw ChildServerError("the server exited before listening (status \(st >> 8)); see \(out)")
            }
            if monotonicSeconds() > deadline {
                kill9()
                throw ChildServerError("the server did not listen on \(socket) within \(Int(timeoutSeconds)) s")
            }
            usleep(10_000)
        }
    }

    deinit { kill9() }

    /// SIGTERM and wait (SIGKILL after `graceSeconds`); the exit status, or
    /// 128+signal.
    @discardableResult
    func stop(graceSeconds: Double = 20) -> Int32 {
        guard !reaped else { return 0 }
        kill(pid, SIGTERM)
        let deadline = monotonicSeconds() + graceSeconds
        var st: Int32 = 0
        while waitpid(pid, &st, WNOHANG) != pid {
            if monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &st, 0)
                break
            }
            usleep(10_000)
        }
        reaped = true
        return (st & 0x7f) != 0 ? 128 + (st & 0x7f) : (st >> 8) & 0xff
    }

    /// SIGKILL and reap: the server gets no chance to flush anything.
    func kill9() {
        guard !reaped else { return }
        kill(pid, SIGKILL)
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
        reaped = true
    }

    /// Does a SOCK_SEQPACKET connect to `path` succeed?
    static func accepts(_ path: String) -> Bool {
        let fd = husk_rpc_socket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return husk_rpc_unix_connect(fd, path) == 0
    }
}

struct ChildServerError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// This executable's path (to start servers as children).
func selfExecutable() throws -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { throw ChildServerError("readlink /proc/self/exe: \(String(cString: strerror(errno)))") }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh directory under /tmp (short: socket paths must fit sun_path).
func makeScratchDirectory(prefix: String) throws -> String {
    var t = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard mkdtemp(&t) != nil else { throw ChildServerError("mkdtemp in /tmp: \(String(cString: strerror(errno)))") }
    return String(decoding: t.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Remove the files directly inside `dir`, then `dir`.
@discardableResult
func removeScratchDirectory(_ dir: String) -> Bool {
    if let d = opendir(dir) {
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { unlink("\(dir)/\(name)") }
        }
        closedir(d)
    }
    return rmdir(dir) == 0
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
