/// Removes VMs a previous run left behind: every domain whose name starts
/// with the project's prefix is destroyed (and undefined if persistent).
/// Domains are transient with autodestroy, so normally there is nothing;
/// this catches a libvirtd that outlived a killed client in odd states.
public enum Reaper {
    public static let prefix = "husk-"

    @discardableResult
    public static func reap(_ conn: VirConnection, log: (String) -> Void) throws(LibvirtError) -> Int {
        let left = try conn.domains(prefix: prefix)
        for d in left {
            log("removing leftover VM \(d.name) on \(conn.uri)")
            d.destroy()
        }
        return left.count
    }
}
