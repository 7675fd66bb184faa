import Glibc

/// Small file-system helpers over Glibc (the module avoids Foundation).
enum Files {
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func size(_ path: String) -> Int? {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    static func makeDirectories(_ path: String) throws(GuestImageError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .system("cannot create directory \(prefix): \(errnoString())")
            }
        }
    }

    /// Names in a directory (no . and ..), sorted.
    static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func read(_ path: String) throws(GuestImageError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = Glibc.read(fd, &buf, buf.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .system("cannot read \(path): \(errnoString())") }
            if n == 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func readText(_ path: String) throws(GuestImageError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(GuestImageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("cannot create \(path): \(errnoString())") }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw .system("cannot write \(path): \(errnoString())") }
            off += n
        }
    }

    static func rename(_ from: String, _ to: String) throws(GuestImageError) {
        guard Glibc.rename(from, to) == 0 else { throw .system("cannot rename \(from) to \(to): \(errnoString())") }
    }

    /// rm -rf through the system tool (only ever on directories the builder owns).
    static func removeTree(_ path: String) {
        _ = try? Subprocess.run(["rm", "-rf", "--", path])
    }
}
