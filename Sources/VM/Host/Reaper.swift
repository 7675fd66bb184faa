import Glibc

/// Removes VMs and run files that earlier runs left behind. Domains are
/// transient with autodestroy, so normally there is nothing; this catches a
/// libvirtd that outlived a killed client, and files of a killed run.
///
/// Several runs may share one libvirt host (a lab machine, CI jobs side by
/// side): a run removes only what is provably abandoned — domains whose owner
/// tag (RunOwner, in the domain's metadata) names a process of this machine
/// that no longer exists. `husk vm reap` removes every husk-* domain, for
/// what cannot be proven (untagged domains, owners on other machines).
public enum Reaper {
    public static let prefix = "husk-"

    /// Destroy the husk-* domains whose owner is gone; log the ones left
    /// alone because nothing proves them abandoned. Returns how many went.
    @discardableResult
    public static func reapAbandoned(_ conn: VirConnection, log: (String) -> Void) throws(LibvirtError) -> Int {
        var removed = 0
        for d in try conn.domains(prefix: prefix) {
            guard let text = d.metadata(namespace: RunOwner.namespace), let owner = RunOwner(xmlElement: text) else {
                log("leaving \(d.name) on \(conn.uri) alone: it has no owner tag (`husk vm reap` removes it)")
                continue
            }
            switch owner.liveness {
            case .alive:
                continue
            case .unknown:
                log("leaving \(d.name) on \(conn.uri) alone: its owner pid \(owner.pid) runs on \(owner.host)")
            case .gone:
                log("removing abandoned VM \(d.name) on \(conn.uri) (its run, pid \(owner.pid), is gone)")
                d.destroy()
                removed += 1
            }
        }
        return removed
    }

    /// Destroy every husk-* domain, whoever owns it (`husk vm reap`).
    @discardableResult
    public static func reapAll(_ conn: VirConnection, log: (String) -> Void) throws(LibvirtError) -> Int {
        let left = try conn.domains(prefix: prefix)
        for d in left {
            log("removing VM \(d.name) on \(conn.uri)")
            d.destroy()
        }
        return left.count
    }

    /// Remove the files of runs that are gone from `workDir`: their disk
    /// images always, their logs too when `logs` (a failed run keeps its
    /// log for the user until `husk vm reap`). Returns the paths removed.
    @discardableResult
    public static func removeAbandonedRunFiles(workDir: String, logs: Bool) -> [String] {
        var removed: [String] = []
        for name in listDirectory(workDir) {
            guard let owner = RunOwner.fromDirectoryName(name), owner.liveness == .gone else { continue }
            let dir = workDir + "/" + name
            for file in listDirectory(dir) where file.hasSuffix(".img") || (logs && file.hasSuffix(".log")) {
                if unlink(dir + "/" + file) == 0 { removed.append(dir + "/" + file) }
            }
            rmdir(dir)  // only once empty
        }
        return removed
    }

    static func listDirectory(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
