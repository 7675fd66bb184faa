import Glibc

/// When the supervisor starts a server again after it exited.
public enum RestartPolicy: String, Sendable, CaseIterable {
    /// After every exit (also a clean exit 0).
    case always
    /// After an exit with a non-zero status or by a signal (the default).
    case onFailure = "on-failure"
    /// Never: the server stays stopped.
    case never
}

/// One `[server.NAME]` table.
public struct ServerConfig: Equatable, Sendable {
    public var name: String
    /// A key of `ServerKind.all` ("echo" today).
    public var kind: String
    /// Absolute path of the listening socket the supervisor binds.
    public var socket: String
    /// Permissions of the socket file (octal), if given.
    public var mode: mode_t?
    /// Numeric uid/gid passed to the server (`--user N`, `--group N`).
    public var user: UInt32?
    public var group: UInt32?
    /// Extra command-line arguments appended for the server.
    public var args: [String] = []
    public var restart: RestartPolicy = .onFailure
    /// `enabled = false` keeps a server in the file without starting it.
    public var enabled = true
}

/// A parsed stack file (docs/supervision.md).
public struct StackConfig: Equatable, Sendable {
    public var name: String
    /// As given in the file; `resolvedStateDirectory` applies the default.
    public var stateDir: String?
    /// Seconds between SIGTERM and SIGKILL when stopping servers.
    public var stopTimeout: Int = 10
    public var servers: [ServerConfig]

    /// The supervisor's directory: `state_dir`, else /run/husk/NAME when /run
    /// is writable, else /tmp/husk-NAME.
    public var resolvedStateDirectory: String {
        if let stateDir { return stateDir }
        return access("/run", W_OK) == 0 ? "/run/husk/\(name)" : "/tmp/husk-\(name)"
    }

    /// Where a supervisor for this stack may be: the directories `husk
    /// status`/`husk down` look in, in order.
    public var candidateStateDirectories: [String] {
        if let stateDir { return [stateDir] }
        return ["/run/husk/\(name)", "/tmp/husk-\(name)"]
    }

    public static func load(path: String) throws(ConfigError) -> StackConfig {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError(file: path, line: 0, "cannot read: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw ConfigError(file: path, line: 0, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += buf[0..<n]
            if bytes.count > 1 << 20 { throw ConfigError(file: path, line: 0, "larger than 1 MiB") }
        }
        var dir = "."
        if let slash = path.lastIndex(of: "/") { dir = slash == path.startIndex ? "/" : String(path[..<slash]) }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path, directory: dir)
    }

    /// Parse and validate. Relative `socket`/`state_dir` paths are relative
    /// to `directory` (the config file's folder).
    public static func parse(_ text: String, file: String, directory: String = ".") throws(ConfigError) -> StackConfig {
        let tables = try TOMLParser.parse(text, file: file)
        func err(_ line: Int, _ m: String) -> ConfigError { ConfigError(file: file, line: line, m) }
        func absolute(_ p: String) -> String {
            if p.hasPrefix("/") { return p }
            var d = directory
            if !d.hasPrefix("/") {
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
                if getcwd(&buf, buf.count) != nil {
                    let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    d = d == "." ? cwd : cwd + "/" + d
                }
            }
            return (d.hasSuffix("/") ? d : d + "/") + (p.hasPrefix("./") ? String(p.dropFirst(2)) : p)
        }
        func string(_ e: TOMLEntry) throws(ConfigError) -> String {
            guard case .string(let s) = e.value else { throw err(e.line, "`\(e.key)` must be a string, not \(e.value.typeName)") }
            return s
        }
        func integer(_ e: TOMLEntry, _ range: ClosedRange<Int64>) throws(ConfigError) -> Int64 {
            guard case .integer(let i) = e.value else { throw err(e.line, "`\(e.key)` must be an integer, not \(e.value.typeName)") }
            guard range.contains(i) else {
                throw err(e.line, "`\(e.key)` = \(i) is out of range \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
        func validName(_ s: String) -> Bool {
            !s.isEmpty && s.count <= 64 && s.utf8.allSatisfy { TOMLParser.Cursor.isBare($0) }
        }

        var name: String?
        var stateDir: String?
        var stopTimeout = 10
        var servers: [ServerConfig] = []
        var sockets: [String: String] = [:]
        var sawStack = false
        for t in tables {
            switch t.path.count {
            case 0:
                if let e = t.entries.first {
                    throw err(e.line, "`\(e.key)` is outside any table; put it under [stack] or [server.NAME]")
                }
            case 1 where t.path[0] == "stack":
                sawStack = true
                for e in t.entries {
                    switch e.key {
                    case "name":
                        let n = try string(e)
                        guard validName(n) else { throw err(e.line, "stack name `\(n)`: use 1-64 letters, digits, `_`, `-`") }
                        name = n
                    case "state_dir":
                        let d = try string(e)
                        guard !d.isEmpty else { throw err(e.line, "`state_dir` is empty") }
                        stateDir = absolute(d)
                        guard stateDir!.utf8.count + "/control.sock".utf8.count < 108 else {
                            throw err(e.line, "`state_dir` is too long for a socket path (at most 94 bytes)")
                        }
                    case "stop_timeout": stopTimeout = Int(try integer(e, 1...3600))
                    default: throw err(e.line, "unknown key `\(e.key)` in [stack] (known: name, state_dir, stop_timeout)")
                    }
                }
            case 2 where t.path[0] == "server":
                let sname = t.path[1]
                guard sname.count <= 64 else { throw err(t.line, "server name too long (at most 64)") }
                var s = ServerConfig(name: sname, kind: "", socket: "")
                var kindLine = 0
                for e in t.entries {
                    switch e.key {
                    case "kind":
                        s.kind = try string(e)
                        kindLine = e.line
                        guard ServerKind.find(s.kind) != nil else {
                            throw err(
                                e.line, "unknown server kind `\(s.kind)` (known: \(ServerKind.all.map(\.name).joined(separator: ", ")))")
                        }
                    case "socket":
                        let p = try string(e)
                        guard !p.isEmpty else { throw err(e.line, "`socket` is empty") }
                        s.socket = absolute(p)
                        guard s.socket.utf8.count < 108 else { throw err(e.line, "socket path is longer than 107 bytes (sun_path)") }
                        if let other = sockets[s.socket] { throw err(e.line, "socket \(s.socket) is already used by server `\(other)`") }
                        sockets[s.socket] = sname
                    case "mode":
                        let m = try string(e)
                        guard let v = mode_t(m, radix: 8), v <= 0o777 else {
                            throw err(e.line, "`mode` must be octal permissions like \"660\"")
                        }
                        s.mode = v
                    case "user": s.user = UInt32(try integer(e, 0...4_294_967_294))
                    case "group": s.group = UInt32(try integer(e, 0...4_294_967_294))
                    case "args":
                        guard case .strings(let a) = e.value else {
                            throw err(e.line, "`args` must be an array of strings, not \(e.value.typeName)")
                        }
                        s.args = a
                    case "restart":
                        let r = try string(e)
                        guard let p = RestartPolicy(rawValue: r) else {
                            throw err(e.line, "`restart` must be \"always\", \"on-failure\" or \"never\", not \"\(r)\"")
                        }
                        s.restart = p
                    case "enabled":
                        guard case .boolean(let b) = e.value else {
                            throw err(e.line, "`enabled` must be true or false, not \(e.value.typeName)")
                        }
                        s.enabled = b
                    default:
                        throw err(
                            e.line,
                            "unknown key `\(e.key)` in [server.\(sname)] (known: kind, socket, mode, user, group, args, restart, enabled)")
                    }
                }
                guard !s.kind.isEmpty else { throw err(t.line, "[server.\(sname)] has no `kind`") }
                guard !s.socket.isEmpty else { throw err(t.line, "[server.\(sname)] has no `socket`") }
                let kind = ServerKind.find(s.kind)!
                if (s.user != nil || s.group != nil) && !kind.acceptsUserGroup {
                    throw err(kindLine, "kind `\(s.kind)` does not support `user`/`group`")
                }
                servers.append(s)
            case 1 where t.path[0] == "server":
                throw err(t.line, "a server table needs a name: [server.NAME]")
            default:
                throw err(t.line, "unknown table [\(t.path.joined(separator: "."))] (known: [stack], [server.NAME])")
            }
        }
        guard sawStack else { throw err(0, "missing [stack] table (with at least `name = \"...\"`)") }
        guard let name else { throw err(tables.first { $0.path == ["stack"] }?.line ?? 0, "[stack] has no `name`") }
        guard !servers.isEmpty else { throw err(0, "no [server.NAME] tables: nothing to run") }
        return StackConfig(name: name, stateDir: stateDir, stopTimeout: stopTimeout, servers: servers)
    }
}
