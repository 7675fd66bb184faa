import Glibc

/// The kernel and initramfs of a husk test guest (docs/vm-guest.md).
public struct GuestArtifacts: Sendable {
    /// Path of the kernel image (bzImage).
    public let kernel: String
    /// Path of the initramfs (uncompressed newc cpio).
    public let initrd: String
    /// The kernel release, e.g. "6.1.0-57-amd64".
    public let kernelVersion: String

    public init(kernel: String, initrd: String, kernelVersion: String) {
        self.kernel = kernel
        self.initrd = initrd
        self.kernelVersion = kernelVersion
    }
}

public enum GuestImageError: Error, CustomStringConvertible, Sendable {
    case toolMissing(String, String)
    case downloadFailed(String, String)
    case packageNotFound(String)
    case badPackage(String)
    case tool(String, String)
    case system(String)

    public var description: String {
        switch self {
        case .toolMissing(let t, let why):
            return "cannot run \(t) (\(why)): the guest image builder needs apt-get, apt-cache and dpkg (Debian/Ubuntu host) and sha256sum"
        case .downloadFailed(let pkg, let out):
            return "apt-get download \(pkg) failed; check the network and the apt sources (apt-get update):\n\(out.trimmedTail())"
        case .packageNotFound(let what):
            return "kernel package not found: \(what); check the apt sources (apt-get update) for linux-image-amd64"
        case .badPackage(let why): return "unexpected package contents: \(why)"
        case .tool(let cmd, let out): return "\(cmd) failed:\n\(out.trimmedTail())"
        case .system(let why): return why
        }
    }
}

public enum GuestImage {
    /// Bumped whenever the layout of the image changes (part of the cache key).
    static let formatVersion = "husk-guest-image 1"

    /// Builds (or finds in `cacheDir`) the guest kernel and initramfs.
    ///
    /// - Downloads linux-image-<current>-amd64 (the version linux-image-amd64
    ///   depends on) and busybox-static with `apt-get download` into
    ///   `cacheDir/debs` (kept; a cached .deb is used when apt-cache or the
    ///   network is unavailable), unpacks them with `dpkg -x`.
    /// - The static husk is `$HUSK_STATIC_BINARY` if set, else built by
    ///   `packageRoot/scripts/build-static.sh` into `$HUSK_STATIC_SCRATCH`
    ///   (default `.build-static`) — incremental, so usually a no-op.
    /// - Output in `cacheDir/images/<hash>/` where the hash covers both .debs,
    ///   the husk binary, the /init text and the module lists: an unchanged
    ///   input set reuses the image.
    ///
    /// Runs that share a cache (two `husk vm test` at once) take turns: the
    /// cache is locked while one builds or checks, so the other never sees
    /// or removes a half-written image and finds the finished one instead.
    public static func build(
        packageRoot: String, cacheDir: String,
        progress: @Sendable (String) -> Void
    ) throws -> GuestArtifacts {
        let cache = absolute(cacheDir)
        try Files.makeDirectories(cache)
        let lock = open(cache + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw GuestImageError.system("cannot open \(cache)/.lock: \(errnoString())") }
        defer { close(lock) }  // closing releases the lock
        if flock(lock, LOCK_EX | LOCK_NB) != 0 {
            progress("waiting for another run that is preparing the guest image in \(cache)")
            while flock(lock, LOCK_EX) != 0 {
                guard errno == EINTR else { throw GuestImageError.system("cannot lock \(cache)/.lock: \(errnoString())") }
            }
        }
        return try buildTyped(packageRoot: packageRoot, cacheDir: cacheDir, progress: progress)
    }

    static func buildTyped(
        packageRoot: String, cacheDir: String,
        progress: @Sendable (String) -> Void
    ) throws(GuestImageError) -> GuestArtifacts {
        for tool in ["apt-get", "apt-cache", "dpkg", "sha256sum"] where Subprocess.which(tool) == nil {
            throw .toolMissing(tool, "not found in PATH")
        }
        let cache = absolute(cacheDir)
        let debs = cache + "/debs"
        try Files.makeDirectories(debs)

        // 1. Packages.
        let kernelPackage = try currentKernelPackage(cachedIn: debs)
        let kernelVersion = String(kernelPackage.dropFirst("linux-image-".count))
        let kernelDeb = try fetch(kernelPackage, into: debs, progress: progress)
        let busyboxDeb = try fetch("busybox-static", into: debs, progress: progress)

        // 2. The static husk.
        let husk = try staticHusk(packageRoot: absolute(packageRoot), progress: progress)

        // 3. Cache key.
        let initText = InitScript.text
        let work = cache + "/work"
        try Files.makeDirectories(work)
        try Files.write(work + "/init", Array(initText.utf8), mode: 0o755)
        let groupsText = KernelModules.groups.map { "\($0.name): \($0.modules.joined(separator: " "))" }.joined(separator: "\n")
        try Files.write(work + "/module-groups", Array(groupsText.utf8))
        let sums = try Subprocess.run(["sha256sum", kernelDeb, busyboxDeb, husk, work + "/init", work + "/module-groups"])
        guard sums.ok else { throw .tool("sha256sum", sums.output) }
        // Hash the digests only (not the paths): moving the cache keeps the key.
        let digests = sums.output.split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
        try Files.write(work + "/manifest", Array((formatVersion + "\n" + digests.joined(separator: "\n") + "\n").utf8))
        let keySum = try Subprocess.run(["sha256sum", work + "/manifest"])
        guard keySum.ok, let key = keySum.output.split(separator: " ").first.map({ String($0.prefix(16)) }) else {
            throw .tool("sha256sum", keySum.output)
        }
        let outDir = cache + "/images/" + key
        let artifacts = GuestArtifacts(kernel: outDir + "/vmlinuz", initrd: outDir + "/initrd.cpio", kernelVersion: kernelVersion)
        if Files.exists(outDir + "/complete") {
            progress("guest image \(key) is up to date")
            return artifacts
        }

        // 4. Unpack.
        let kernelTree = try unpack(kernelDeb, into: cache + "/unpacked/" + baseName(kernelDeb), progress: progress)
        let busyboxTree = try unpack(busyboxDeb, into: cache + "/unpacked/" + baseName(busyboxDeb), progress: progress)
        let vmlinuz = kernelTree + "/boot/vmlinuz-" + kernelVersion
        guard Files.exists(vmlinuz) else { throw .badPackage("\(kernelDeb) has no boot/vmlinuz-\(kernelVersion)") }
        let busybox = busyboxTree + "/bin/busybox"
        guard Files.exists(busybox) else { throw .badPackage("\(busyboxDeb) has no bin/busybox") }
        let modules = try KernelModules(root: kernelTree + "/lib/modules/" + kernelVersion)

        // 5. Pack.
        progress("packing the initramfs (\(key))")
        let staging = cache + "/images/" + key + ".tmp"
        Files.removeTree(staging)
        try Files.makeDirectories(staging)
        var cpio = try CpioWriter(path: staging + "/initrd.cpio")
        for d in ["bin", "sbin", "dev", "etc", "etc/husk", "lib", "lib/modules", "proc", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "mnt"]
        {
            try cpio.directory(d)
        }
        try cpio.characterDevice("dev/console", major: 5, minor: 1)
        try cpio.characterDevice("dev/null", major: 1, minor: 3, mode: 0o666)
        try cpio.file("bin/busybox", from: busybox, mode: 0o755)
        try cpio.symlink("bin/sh", target: "busybox")
        try cpio.file("bin/husk", from: husk, mode: 0o755)
        try cpio.file("init", contents: Array(initText.utf8), mode: 0o755)
        var loaded: Set<String> = []
        var summary: [String] = []
        for group in KernelModules.groups {
            let order = try modules.loadOrder(group.modules)
            for m in order where !loaded.contains(m.name) {
                loaded.insert(m.name)
                try cpio.file("lib/modules/\(m.name).ko", from: m.path, mode: 0o644)
            }
            let list = order.map { $0.name + ".ko" }
            try cpio.file("etc/husk/modules.\(group.name)", contents: Array((list.joined(separator: "\n") + "\n").utf8))
            summary.append("\(group.name): \(order.map(\.name).joined(separator: " "))")
        }
        try cpio.file("etc/husk/kernel-version", contents: Array((kernelVersion + "\n").utf8))
        try cpio.finish()
        try copyFile(vmlinuz, to: staging + "/vmlinuz")
        try Files.write(staging + "/complete", Array((summary.joined(separator: "\n") + "\n").utf8))
        Files.removeTree(outDir)
        try Files.rename(staging, outDir)
        progress("guest image \(key): kernel \(kernelVersion), modules \(summary.joined(separator: "; "))")
        return artifacts
    }

    /// "linux-image-6.1.0-NN-amd64": what linux-image-amd64 depends on now,
    /// else the newest such .deb already in the cache.
    static func currentKernelPackage(cachedIn debs: String) throws(GuestImageError) -> String {
        let r = try Subprocess.run(["apt-cache", "depends", "linux-image-amd64"])
        if r.ok {
            for line in r.output.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.count >= 2, words[0] == "Depends:", words[1].hasPrefix("linux-image-"), words[1].hasSuffix("-amd64") {
                    return String(words[1])
                }
            }
        }
        let cached = Files.list(debs).filter { $0.hasPrefix("linux-image-") && $0.hasSuffix(".deb") }
        if let last = cached.last, let name = last.split(separator: "_").first { return String(name) }
        throw .packageNotFound("`apt-cache depends linux-image-amd64` names no linux-image-*-amd64 package:\n\(r.output.trimmedTail())")
    }

    /// The cached .deb of `package`, downloaded first if there is none.
    static func fetch(_ package: String, into debs: String, progress: @Sendable (String) -> Void) throws(GuestImageError) -> String {
        func cached() -> String? { Files.list(debs).last { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }.map { debs + "/" + $0 } }
        if let c = cached() { return c }
        progress("downloading \(package) (apt-get download)")
        let r = try Subprocess.run(["apt-get", "download", package], directory: debs)
        guard r.ok, let c = cached() else {
            if r.output.contains("Unable to locate package") || r.output.contains("has no installation candidate") {
                throw .packageNotFound("apt-get cannot locate \(package)")
            }
            throw .downloadFailed(package, r.output)
        }
        return c
    }

    static func unpack(_ deb: String, into dir: String, progress: @Sendable (String) -> Void) throws(GuestImageError) -> String {
        if Files.exists(dir + "/.complete") { return dir }
        progress("unpacking \(baseName(deb)) (dpkg -x)")
        Files.removeTree(dir)
        try Files.makeDirectories(dir)
        let r = try Subprocess.run(["dpkg", "-x", deb, dir])
        guard r.ok else { throw .tool("dpkg -x \(deb)", r.output) }
        try Files.write(dir + "/.complete", [])
        return dir
    }

    static func staticHusk(packageRoot: String, progress: @Sendable (String) -> Void) throws(GuestImageError) -> String {
        if let given = getenv("HUSK_STATIC_BINARY").map({ String(cString: $0) }), !given.isEmpty {
            guard access(given, X_OK) == 0 else { throw .system("HUSK_STATIC_BINARY=\(given) is not an executable") }
            return absolute(given)
        }
        let scratch = getenv("HUSK_STATIC_SCRATCH").map { String(cString: $0) } ?? ".build-static"
        let script = packageRoot + "/scripts/build-static.sh"
        guard Files.exists(script) else { throw .system("no \(script): pass the package root (or set HUSK_STATIC_BINARY)") }
        progress("building the static husk (scripts/build-static.sh \(scratch))")
        let r = try Subprocess.run([script, scratch])
        let binary = (scratch.hasPrefix("/") ? scratch : packageRoot + "/" + scratch) + "/release/husk"
        guard r.ok, access(binary, X_OK) == 0 else { throw .tool("scripts/build-static.sh \(scratch)", r.output) }
        return binary
    }

    static func copyFile(_ from: String, to: String) throws(GuestImageError) {
        try Files.write(to, try Files.read(from))
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return path }
        return String(cString: buf) + "/" + path
    }

    static func baseName(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
}

extension String {
    func trimmedTail(_ lines: Int = 15) -> String {
        split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
