/// How the supervisor starts one kind of server: the `husk` subcommand and
/// its arguments. A server of any kind gets its listening socket as an
/// inherited descriptor (`listenFD`, not close-on-exec) and must serve it
/// without binding or unlinking the path (`--listen-fd N`). A new server
/// kind slots in by adding an entry to `all`.
public struct ServerKind: Sendable {
    public let name: String
    /// Whether `user`/`group` may be set (passed as `--user N --group N`).
    public let acceptsUserGroup: Bool
    /// Arguments after the husk executable's path.
    public let arguments: @Sendable (_ server: ServerConfig, _ listenFD: Int32) -> [String]

    public static let all: [ServerKind] = [
        ServerKind(name: "echo", acceptsUserGroup: true) { s, fd in
            ["echo", "serve", "--socket", s.socket, "--listen-fd", "\(fd)", "--name", s.name] + credentials(s) + s.args
        },
        // What to serve comes from `args`: ["--image", "disk.img"], or a backend and device.
        ServerKind(name: "blk", acceptsUserGroup: true) { s, fd in
            ["blk", "serve", "--socket", s.socket, "--listen-fd", "\(fd)"] + credentials(s) + s.args
        },
        // What to serve comes from `args`: ["--tap", "hk0"], or a backend and device.
        ServerKind(name: "nic", acceptsUserGroup: true) { s, fd in
            ["nic", "serve", "--socket", s.socket, "--listen-fd", "\(fd)"] + credentials(s) + s.args
        },
        // The stack and its addresses come from `args`: ["--tap", "hk0", "--address", "10.77.0.2/24"], or
        // ["--nic-socket", "nic.sock", ...] over a nic server of the same stack file (docs/net.md).
        ServerKind(name: "net", acceptsUserGroup: true) { s, fd in
            ["net", "serve", "--socket", s.socket, "--listen-fd", "\(fd)"] + credentials(s) + s.args
        },
        // The file system comes from `args`: ["--image", "fs.img"], or ["--disk-socket", "blk.sock"]
        // over a blk server of the same stack file (docs/fs.md).
        ServerKind(name: "fs", acceptsUserGroup: true) { s, fd in
            ["fs", "serve", "--socket", s.socket, "--listen-fd", "\(fd)"] + credentials(s) + s.args
        }
    ]

    private static func credentials(_ s: ServerConfig) -> [String] {
        (s.user.map { ["--user", "\($0)"] } ?? []) + (s.group.map { ["--group", "\($0)"] } ?? [])
    }

    public static func find(_ name: String) -> ServerKind? { all.first { $0.name == name } }
}
