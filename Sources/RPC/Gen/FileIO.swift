#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file operations the generator needs, on libc (no Foundation).
enum FileIO {
    static func read(_ path: String) throws -> String {
        guard let f = fopen(path, "rb") else { throw GeneratorError("\(path): \(errorText())") }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(f) != 0 { throw GeneratorError("\(path): read error") }
                break
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw GeneratorError("\(path): not UTF-8") }
        return text
    }

    static func write(_ path: String, _ text: String) throws {
        let tmp = path + ".tmp-rpcgen"
        guard let f = fopen(tmp, "wb") else { throw GeneratorError("\(tmp): \(errorText())") }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        let closed = fclose(f)
        guard n == bytes.count, closed == 0 else {
            unlink(tmp)
            throw GeneratorError("\(path): write error")
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw GeneratorError("\(path): \(errorText())")
        }
    }

    static func remove(_ path: String) throws {
        guard unlink(path) == 0 else { throw GeneratorError("\(path): \(errorText())") }
    }

    static func makeDirectory(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw GeneratorError("\(prefix): \(errorText())") }
            prefix += "/"
        }
    }

    static func list(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw GeneratorError("\(path): \(errorText())") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
