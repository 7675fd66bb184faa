import Foundation
import HuskTestSupport
import XCTest

/// Components are portable only if they use nothing but the hypercall table
/// and the glue: every component compiles freestanding, and its undefined
/// symbols are checked against the glue's allow-list.
final class ComponentSymbolTests: XCTestCase {
    /// Every folder under Sources/Components is a component (Package.swift).
    static var componentDirs: [String] {
        let root = Husk.packageRoot.appendingPathComponent("Sources/Components").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().map { "Sources/Components/\($0)" }
    }

    func testEveryComponentUsesOnlyGlueSymbols() throws {
        let allowed = try ComponentBuilder.allowedSymbols()
        XCTAssertTrue(allowed.contains("glue_kmem_alloc"), "the allow-list is read from the glue headers")
        let out = try scratchURL(self)
        var checked = 0
        XCTAssertGreaterThanOrEqual(Self.componentDirs.count, 5, "components found under Sources/Components")
        for dir in Self.componentDirs {
            let root = Husk.packageRoot.appendingPathComponent(dir)
            let name = String(dir.split(separator: "/").last!)
            let sources = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".c") }.sorted()
            XCTAssertFalse(sources.isEmpty, "\(dir) has no C sources")
            var objects: [String] = []
            for s in sources {
                let o = out.appendingPathComponent("\(name)-\(s).o")
                let r = try ComponentBuilder.compile(
                    root.appendingPathComponent(s), to: o, extraIncludes: [root.path + "/include", root.path])
                XCTAssertEqual(r.status, 0, "\(dir)/\(s) does not compile freestanding:\n\(r.output)")
                objects.append(o.path)
            }
            // One relocatable object per component: references between its own
            // files resolve, what stays undefined is what it needs from outside.
            let combined = out.appendingPathComponent("\(name).o")
            let link = try runTool("/usr/bin/ld", ["-r", "-o", combined.path] + objects)
            XCTAssertEqual(link.status, 0, link.output)
            guard link.status == 0 else { continue }
            let foreign = try ComponentBuilder.undefinedSymbols(combined).filter { !allowed.contains($0) }
            XCTAssertEqual(foreign, [], "\(dir) uses symbols outside the hypercall table and the glue")
            checked += 1
        }
        XCTAssertEqual(checked, Self.componentDirs.count)
    }

    /// A component loaded with dlopen resolves its glue symbols against the
    /// husk executable, so every out-of-line glue function must be in the
    /// binary's dynamic symbol table. Run against the release husk in CI
    /// (HUSK_BIN), where an internal Swift function would be hidden.
    func testTheHuskBinaryExportsEveryGlueFunction() throws {
        let declared = try Self.declaredGlueFunctions()
        XCTAssertGreaterThan(declared.count, 80)
        let r = try runTool("/usr/bin/nm", ["-D", "--defined-only", Husk.binary])
        XCTAssertEqual(r.status, 0, r.output)
        let exported = Set(
            r.stdout.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                return f.count == 3 && f[1] == "T" ? String(f[2]) : nil
            })
        let missing = declared.subtracting(exported).sorted()
        XCTAssertEqual(
            missing, [],
            "\(Husk.binary) does not export these glue functions; a component using them "
                + "fails to load with 'undefined symbol' (are their @_cdecl functions public?)")
    }

    /// The out-of-line glue functions: `glue_[a-z0-9_]+(` in husk/glue/*.h.
    static func declaredGlueFunctions() throws -> Set<String> {
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

    /// docs/glue.md lists the out-of-line glue symbols ("The N symbols:");
    /// the list and its count must match the headers' allow-list rule
    /// (`glue_[a-z0-9_]+(` in husk/glue/*.h).
    func testDocsListExactlyTheGlueSymbols() throws {
        let declared = try Self.declaredGlueFunctions()
        let doc = try String(contentsOf: Husk.packageRoot.appendingPathComponent("docs/glue.md"), encoding: .utf8)
        let lines = doc.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let head = lines.firstIndex(where: { $0.hasPrefix("The ") && $0.hasSuffix(" symbols:") }) else {
            return XCTFail("docs/glue.md has no \"The N symbols:\" list")
        }
        let listed = lines[(head + 1)...].drop(while: { $0.isEmpty }).prefix(while: { $0.hasPrefix("    glue_") })
            .map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(Set(listed).subtracting(declared).sorted(), [], "listed in docs/glue.md, not declared")
        XCTAssertEqual(declared.subtracting(listed).sorted(), [], "declared, missing from docs/glue.md")
        XCTAssertEqual(listed.count, Set(listed).count, "duplicates in docs/glue.md")
        XCTAssertEqual(lines[head], "The \(declared.count) symbols:")
    }

    func testTheCheckCatchesLibcUse() throws {
        let dir = try scratchURL(self)
        // Including a libc header fails under -nostdlibinc ...
        let inc = dir.appendingPathComponent("inc.c")
        try "#include <stdio.h>\nint f(void) { return 0; }\n".write(to: inc, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try ComponentBuilder.compile(inc, to: dir.appendingPathComponent("inc.o")).status, 0)
        // ... and declaring libc by hand is caught by the symbol check.
        let sneaky = dir.appendingPathComponent("sneaky.c")
        try "void *malloc(unsigned long n);\nvoid *f(void) { return malloc(4); }\n".write(to: sneaky, atomically: true, encoding: .utf8)
        let o = dir.appendingPathComponent("sneaky.o")
        XCTAssertEqual(try ComponentBuilder.compile(sneaky, to: o).status, 0)
        let allowed = try ComponentBuilder.allowedSymbols()
        XCTAssertEqual(try ComponentBuilder.undefinedSymbols(o).filter { !allowed.contains($0) }, ["malloc"])
    }
}
