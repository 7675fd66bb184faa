/// The modules of an unpacked Debian kernel package (lib/modules/VERSION).
/// The package has no modules.dep (depmod writes it at install time), so the
/// dependencies come from each module's own `.modinfo` `depends=` string.
struct KernelModules {
    let root: String
    private var paths: [String: String] = [:]  // normalised name -> path relative to root
    private var builtin: Set<String> = []

    /// The groups the guest loads, by what the scenarios need.
    static let groups: [(name: String, modules: [String])] = [
        ("vfio", ["vfio", "vfio_iommu_type1", "vfio_pci"]),
        ("uio", ["uio_pci_generic"]),
        ("virtio", ["virtio_pci", "virtio_blk"]),
        // virtio_net needs net_failover and failover (its standby feature).
        ("virtio-net", ["virtio_pci", "virtio_net"])
    ]

    init(root: String) throws(GuestImageError) {
        self.root = root
        let order = root + "/modules.order"
        guard Files.exists(order) else { throw .badPackage("no modules.order in \(root)") }
        for line in try Files.readText(order).split(separator: "\n") {
            let rel = String(line)
            paths[Self.normalise(rel)] = rel
        }
        // Some trees list only the uncompressed names in modules.order.
        if Files.exists(root + "/modules.builtin") {
            for line in try Files.readText(root + "/modules.builtin").split(separator: "\n") {
                builtin.insert(Self.normalise(String(line)))
            }
        }
    }

    /// "kernel/drivers/vfio/pci/vfio-pci.ko[.xz]" or "vfio-pci" -> "vfio_pci".
    static func normalise(_ s: String) -> String {
        var base = String(s.split(separator: "/").last ?? "")
        for ext in [".xz", ".zst", ".gz", ".ko"] where base.hasSuffix(ext) { base.removeLast(ext.count) }
        return base.replacingAll("-", with: "_")
    }

    /// Loadable files for `wanted` and their dependencies, dependencies
    /// first; built-in modules are left out. Compressed modules are
    /// decompressed next to the original (busybox insmod may not read xz).
    func loadOrder(_ wanted: [String]) throws(GuestImageError) -> [(name: String, path: String)] {
        var done: Set<String> = []
        var out: [(String, String)] = []
        func visit(_ raw: String, _ chain: [String]) throws(GuestImageError) {
            let name = Self.normalise(raw)
            if done.contains(name) || builtin.contains(name) { return }
            guard !chain.contains(name) else { throw .badPackage("module dependency cycle: \((chain + [name]).joined(separator: " -> "))") }
            guard let rel = paths[name] else {
                throw .badPackage(
                    "kernel module \(name) is neither a module (modules.order) nor built in (modules.builtin) in \(root)"
                        + (chain.isEmpty ? "" : " (needed by \(chain.last!))"))
            }
            let file = try uncompressed(root + "/" + rel)
            for dep in try Self.dependencies(of: file) { try visit(dep, chain + [name]) }
            done.insert(name)
            out.append((name, file))
        }
        for w in wanted { try visit(w, []) }
        return out
    }

    private func uncompressed(_ path: String) throws(GuestImageError) -> String {
        if path.hasSuffix(".ko") { return path }
        let plain = String(path.prefix(upTo: path.firstRange(of: ".ko")!.upperBound))
        if Files.exists(plain) { return plain }
        let tool: [String]
        if path.hasSuffix(".xz") {
            tool = ["xz", "-dkf", path]
        } else if path.hasSuffix(".zst") {
            tool = ["zstd", "-dqf", path, "-o", plain]
        } else if path.hasSuffix(".gz") {
            tool = ["gzip", "-dkf", path]
        } else {
            throw .badPackage("unknown module compression: \(path)")
        }
        let r = try Subprocess.run(tool)
        guard r.ok, Files.exists(plain) else { throw .tool(tool.joined(separator: " "), r.output) }
        return plain
    }

    /// The `depends=` entry of a module's .modinfo section (NUL-separated strings).
    static func dependencies(of path: String) throws(GuestImageError) -> [String] {
        let bytes = try Files.read(path)
        let key = Array("depends=".utf8)
        var i = 0
        while i + key.count < bytes.count {
            if bytes[i] == key[0] && (i == 0 || bytes[i - 1] == 0) && Array(bytes[i..<i + key.count]) == key {
                var j = i + key.count
                while j < bytes.count && bytes[j] != 0 { j += 1 }
                let value = String(decoding: bytes[(i + key.count)..<j], as: UTF8.self)
                return value.split(separator: ",").map(String.init)
            }
            i += 1
        }
        return []
    }
}

extension String {
    func replacingAll(_ a: Character, with b: Character) -> String { String(map { $0 == a ? b : $0 }) }
}
