import Foundation
import HuskTestSupport
import XCTest

/// Compiles C components outside SwiftPM with exactly the flags Package.swift
/// gives components, to check their undefined symbols and to make shared
/// objects for dlopen.
enum ComponentBuilder {
    static let flags = [
        "-std=c11", "-ffreestanding", "-nostdlibinc", "-fno-builtin",
        "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fPIC"
    ]

    static var includes: [String] {
        let root = Husk.packageRoot.path
        return ["-I", root + "/Sources/Hypercalls/ABI/include", "-I", root + "/Sources/Glue/API/include"]
    }

    static var cc: String {
        for c in ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/bin/cc"] where FileManager.default.isExecutableFile(atPath: c) {
            return c
        }
        return "cc"
    }

    /// Compile one source to an object; returns (status, diagnostics).
    static func compile(_ source: URL, to object: URL, extraIncludes: [String] = [], defines: [String] = []) throws -> ToolResult {
        try runTool(cc, flags + includes + extraIncludes.flatMap { ["-I", $0] } + defines + ["-c", source.path, "-o", object.path])
    }

    /// Build a shared-object component from C source text with the command
    /// docs/components.md gives component authors (scripts/build-component.sh).
    static func sharedObject(named name: String, source: String, in dir: URL) throws -> URL {
        let c = dir.appendingPathComponent("\(name).c")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("\(name).so")
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-component.sh").path
        let r = try runTool(script, [c.path, "-o", so.path])
        guard r.status == 0 else { throw BuildError(description: "building \(name).so failed:\n\(r.output)") }
        return so
    }

    /// Undefined symbols of an object file, from nm -u.
    static func undefinedSymbols(_ object: URL) throws -> [String] {
        let r = try runTool("/usr/bin/nm", ["-u", object.path])
        guard r.status == 0 else { throw BuildError(description: "nm failed: \(r.output)") }
        return r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
    }

    /// What a component may leave undefined: glue symbols declared in the glue
    /// headers, and the four functions a freestanding C compiler may emit.
    static func allowedSymbols() throws -> Set<String> {
        var allowed: Set<String> = ["memcpy", "memset", "memmove", "memcmp"]
        let dir = Husk.packageRoot.appendingPathComponent("Sources/Glue/API/include/husk")
        let files = (try FileManager.default.subpathsOfDirectory(atPath: dir.path)).filter { $0.hasSuffix(".h") }
        let pattern = try NSRegularExpression(pattern: "\\bglue_[a-z0-9_]+\\b")
        for f in files {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                allowed.insert(String(text[Range(m.range, in: text)!]))
            }
        }
        return allowed
    }

    struct BuildError: Error, CustomStringConvertible { let description: String }
}
