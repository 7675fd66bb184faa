import Glibc

/// The metal host's image (Sources/Metal with the conformance component):
/// built by scripts/build-metal.sh in a few seconds, so every run builds it
/// afresh instead of caching it.
public enum MetalImage {
    /// Builds `<cacheDir>/husk-metal.elf` and returns its path. Runs at the
    /// same time each build their own file and rename it into place: a VM
    /// that already opened the image keeps the one it has.
    /// glue: the second image, the port library linked in (`--glue`,
    /// `<cacheDir>/husk-metal-glue.elf`, about 35 s).
    public static func build(packageRoot: String, cacheDir: String, glue: Bool = false) throws(GuestImageError) -> String {
        let out = "\(cacheDir)/husk-metal\(glue ? "-glue" : "").elf"
        let mine = "\(out).\(getpid())"
        let r = try Subprocess.run(
            ["\(packageRoot)/scripts/build-metal.sh", "-o", mine] + (glue ? ["--glue"] : []), directory: packageRoot)
        guard r.ok else {
            unlink(mine)
            throw .tool("scripts/build-metal.sh\(glue ? " --glue" : "")", r.output)
        }
        guard rename(mine, out) == 0 else {
            unlink(mine)
            throw .system("rename \(mine) to \(out): \(String(cString: strerror(errno)))")
        }
        return out
    }
}
