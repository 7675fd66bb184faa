/// The metal host's image (Sources/Metal with the conformance component):
/// built by scripts/build-metal.sh in a few seconds, so every run builds it
/// afresh instead of caching it.
public enum MetalImage {
    /// Builds `<cacheDir>/husk-metal.elf` and returns its path.
    public static func build(packageRoot: String, cacheDir: String) throws(GuestImageError) -> String {
        let out = "\(cacheDir)/husk-metal.elf"
        let r = try Subprocess.run(["\(packageRoot)/scripts/build-metal.sh", "-o", out], directory: packageRoot)
        guard r.ok else { throw .tool("scripts/build-metal.sh", r.output) }
        return out
    }
}
