/// How the supervisor starts one kind of server: the `husk` subcommand and
/// its arguments. A server of any kind gets its listening socket as an
/// inherited descriptor (`listenFD`, not close-on-exec) and must serve it
/// without binding or unlinking the path (`--listen-fd N`). Block and file
/// system servers slot in by adding an entry to `all`.
public struct ServerKind: Sendable {
    public let name: String
    /// Whether `user`/`group` may be set (passed as `--user N --group N`).
    public let acceptsUserGroup: Bool
    /// Arguments after the husk executable's path.
    public let arguments: @Sendable (_ server: ServerConfig, _ listenFD: Int32) -> [String]

    public static let all: [ServerKind] = [
        ServerKind(name: "echo", acceptsUserGroup: true) { s, fd in
            var a = ["echo", "serve", "--socket", s.socket, "--listen-fd", "\(fd)", "--name", s.name]
            if let u = s.user { a += ["--user", "\(u)"] }
            if let g = s.group { a += ["--group", "\(g)"] }
            return a + s.args
        }
    ]

    public static func find(_ name: String) -> ServerKind? { all.first { $0.name == name } }
}
