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

    /// Compile one source to an object; returns (status, diagnostics).
    /// `defines` are further flags (-D NAME=V, -fvisibility=hidden).
    static func compile(_ source: URL, to object: URL, extraIncludes: [String] = [], defines: [String] = []) throws -> ToolResult {
        try runTool(cCompiler, flags + includes + extraIncludes.flatMap { ["-I", $0] } + defines + ["-c", source.path, "-o", object.path])
    }

    /// Build a shared-object component from C source text with the command
    /// docs/components.md gives component authors (scripts/build-component.sh).
    static func sharedObject(named name: String, source: String, in dir: URL) throws -> URL {
        let c = dir.appendingPathComponent("\(name).c")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let so = dir.appendingPathComponent("\(name).so")
        let script = Husk.packageRoot.appendingPathComponent("scripts/build-component.sh").path
        let r = try runTool(script, [c.path, "-o", so.path])
        guard r.status == 0 else { throw TestFailure("building \(name).so failed:\n\(r.output)") }
        return so
    }

    /// Undefined symbols of an object file, from nm -u.
    static func undefinedSymbols(_ object: URL) throws -> [String] {
        let r = try runTool("/usr/bin/nm", ["-u", object.path])
        guard r.status == 0 else { throw TestFailure("nm failed: \(r.output)") }
        return r.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
    }

    /// The out-of-line glue functions, by the rule docs/glue.md states:
    /// `glue_[a-z0-9_]+(` in husk/glue/*.h (the `(` leaves out the struct
    /// tags glue_bus_space/glue_dmamap).
    static func glueFunctions() throws -> Set<String> {
        let dir = Husk.packageRoot.appendingPathComponent("Sources/Glue/API/include/husk/glue")
        let pattern = try NSRegularExpression(pattern: "\\b(glue_[a-z0-9_]+)\\(")
        var declared: Set<String> = []
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) where f.hasSuffix(".h") {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert(String(text[Range(m.range(at: 1), in: text)!]))
            }
        }
        return declared
    }

    /// What a component may leave undefined: the glue functions, and the four
    /// functions a freestanding C compiler may emit.
    static func allowedSymbols() throws -> Set<String> {
        try glueFunctions().union(["memcpy", "memset", "memmove", "memcmp"])
    }
}
