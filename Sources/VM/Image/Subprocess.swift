import Glibc

/// Running host tools (apt-get, apt-cache, dpkg, sha256sum, the static build)
/// with posix_spawn: no Foundation, no shell unless asked for.
enum Subprocess {
    struct Result {
        let status: Int32
        let output: String
        var ok: Bool { status == 0 }
    }

    /// Runs `argv` (looked up in PATH), stdout and stderr captured together.
    /// `directory`: the working directory (through /bin/sh -c 'cd DIR && exec ...').
    static func run(_ argv: [String], directory: String? = nil) throws(GuestImageError) -> Result {
        var args = argv
        if let directory {
            args = ["/bin/sh", "-c", "cd \(shellQuote(directory)) && exec " + argv.map(shellQuote).joined(separator: " ")]
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .system("pipe: \(errnoString())") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid = pid_t()
        let rc = posix_spawnp(&pid, args[0], &actions, nil, &cargs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw .toolMissing(args[0], String(cString: strerror(rc)))
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exit, output: String(decoding: out, as: UTF8.self))
    }

    /// Whether an executable of this name is in PATH.
    static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin:/usr/sbin:/sbin"
        for d in path.split(separator: ":") where access("\(d)/\(name)", X_OK) == 0 { return "\(d)/\(name)" }
        return nil
    }

    static func shellQuote(_ s: String) -> String {
        "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

func errnoString(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }
