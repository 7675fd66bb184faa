import Foundation
import HuskTestSupport
import XCTest

/// Components are portable only if they use nothing but the hypercall table
/// and the glue: every component compiles freestanding, and its undefined
/// symbols are checked against the glue's allow-list. Component libraries
/// (husk/virtio.h) are held to the same rules, and a component may also use
/// what the libraries define.
final class ComponentSymbolTests: XCTestCase {
    /// Every folder under Sources/Components is a component or a component
    /// library (Package.swift: componentNames, componentLibraryNames). A
    /// library is the folder whose public header is include/husk/<folder>.h,
    /// named like the glue's headers; a component's is
    /// include/husk_component_<folder>.h.
    static var allDirs: [String] {
        let root = Husk.packageRoot.appendingPathComponent("Sources/Components").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().map { "Sources/Components/\($0)" }
    }
    static func isLibrary(_ dir: String) -> Bool {
        let name = String(dir.split(separator: "/").last!)
        return FileManager.default.fileExists(
            atPath: Husk.packageRoot.appendingPathComponent("\(dir)/include/husk/\(name).h").path)
    }
    static var componentDirs: [String] { allDirs.filter { !isLibrary($0) } }
    static var libraryDirs: [String] { allDirs.filter { isLibrary($0) } }

    func testEveryComponentUsesOnlyGlueSymbols() throws {
        let glue = try ComponentBuilder.allowedSymbols()
        XCTAssertTrue(glue.contains("glue_kmem_alloc"), "the allow-list is read from the glue headers")
        // Libraries: the glue and nothing else, like components.
        let libraries = try link(Self.libraryDirs)
        var libraryDefined: Set<String> = []
        for l in libraries {
            let foreign = try ComponentBuilder.undefinedSymbols(l.object).filter { !glue.contains($0) }
            XCTAssertEqual(foreign, [], "\(l.dir) uses symbols outside the hypercall table and the glue")
            libraryDefined.formUnion(try Self.definedGlobals(l.object).map(\.0))
        }
        XCTAssertEqual(libraries.count, Self.libraryDirs.count)
        // Components: the glue, plus what the libraries offer.
        let linked = try link(Self.componentDirs)
        for c in linked {
            let foreign = try ComponentBuilder.undefinedSymbols(c.object).filter {
                !glue.contains($0) && !libraryDefined.contains($0)
            }
            XCTAssertEqual(foreign, [], "\(c.dir) uses symbols outside the hypercall table, the glue and the component libraries")
        }
        XCTAssertEqual(linked.count, Self.componentDirs.count)
    }

    /// The convention of docs/components.md, checked on what the linker sees:
    /// one `<prefix>_private.h`, and every global the component defines is
    /// either its descriptor or `<prefix>_*` with hidden visibility (so a
    /// dlopen()ed copy never binds to a same-named symbol of husk).
    func testEveryComponentDefinesOnlyPrefixedHiddenSymbols() throws {
        let linked = try link(Self.componentDirs)
        for c in linked {
            let files = try FileManager.default.contentsOfDirectory(
                atPath: Husk.packageRoot.appendingPathComponent(c.dir).path)
            let headers = files.filter { $0.hasSuffix("_private.h") }
            guard headers.count == 1, let prefix = headers.first?.dropLast("_private.h".count) else {
                XCTFail("\(c.dir) needs exactly one <prefix>_private.h, has \(headers)")
                continue
            }
            let descriptor = "husk_component_\(c.name)"
            var sawDescriptor = false
            for (symbol, visibility) in try Self.definedGlobals(c.object) {
                if symbol == descriptor {
                    sawDescriptor = true
                    continue
                }
                XCTAssertTrue(symbol.hasPrefix("\(prefix)_"), "\(c.dir): \(symbol) lacks the prefix \(prefix)_")
                XCTAssertEqual(visibility, "HIDDEN", "\(c.dir): \(symbol) is not HUSK_PRIVATE (or static)")
            }
            XCTAssertTrue(sawDescriptor, "\(c.dir) defines no \(descriptor)")
        }
        XCTAssertEqual(linked.count, Self.componentDirs.count)
    }

    /// A library's prefix is its folder's name (its header is
    /// husk/<name>.h): every global it defines is `<name>_*` and hidden, so
    /// each component (or shared object) that links it has its own copy and
    /// none binds to another's; it defines no descriptor.
    func testEveryLibraryDefinesOnlyPrefixedHiddenSymbols() throws {
        XCTAssertFalse(Self.libraryDirs.isEmpty, "the virtio library is found under Sources/Components")
        for l in try link(Self.libraryDirs) {
            let globals = try Self.definedGlobals(l.object)
            XCTAssertFalse(globals.isEmpty, "\(l.dir) defines nothing")
            for (symbol, visibility) in globals {
                XCTAssertTrue(symbol.hasPrefix("\(l.name)_"), "\(l.dir): \(symbol) lacks the prefix \(l.name)_")
                XCTAssertEqual(visibility, "HIDDEN", "\(l.dir): \(symbol) is not HUSK_PRIVATE (or static)")
            }
        }
    }

    /// Each folder compiled freestanding and linked into one relocatable
    /// object: references between its own files resolve, so what stays
    /// undefined is what it needs from outside and what is defined is what it
    /// offers. Every library's include/ is on the path, as the glue's is. A
    /// folder that does not build is reported and left out.
    func link(_ dirs: [String]) throws -> [(dir: String, name: String, object: URL)] {
        let out = try scratchURL(self)
        XCTAssertGreaterThanOrEqual(Self.componentDirs.count, 5, "components found under Sources/Components")
        let libraryIncludes = Self.libraryDirs.map { Husk.packageRoot.appendingPathComponent($0).path + "/include" }
        var linked: [(dir: String, name: String, object: URL)] = []
        for dir in dirs {
            let root = Husk.packageRoot.appendingPathComponent(dir)
            let name = String(dir.split(separator: "/").last!)
            let sources = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasSuffix(".c") }.sorted()
            XCTAssertFalse(sources.isEmpty, "\(dir) has no C sources")
            var objects: [String] = []
            for s in sources {
                let o = out.appendingPathComponent("\(name)-\(s).o")
                let r = try ComponentBuilder.compile(
                    root.appendingPathComponent(s), to: o, extraIncludes: [root.path + "/include", root.path] + libraryIncludes)
                XCTAssertEqual(r.status, 0, "\(dir)/\(s) does not compile freestanding:\n\(r.output)")
                objects.append(o.path)
            }
            let combined = out.appendingPathComponent("\(name).o")
            let link = try runTool("/usr/bin/ld", ["-r", "-o", combined.path] + objects)
            XCTAssertEqual(link.status, 0, link.output)
            if link.status == 0 { linked.append((dir, name, combined)) }
        }
        return linked
    }

    /// Global symbols an object defines, with their ELF visibility (readelf:
    /// nm does not show visibility).
    static func definedGlobals(_ object: URL) throws -> [(String, String)] {
        let r = try runTool("/usr/bin/readelf", ["-sW", object.path])
        XCTAssertEqual(r.status, 0, r.output)
        // Num: Value Size Type Bind Vis Ndx Name
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 8, f[4] == "GLOBAL" || f[4] == "WEAK", f[6] != "UND" else { return nil }
            return (String(f[7]), String(f[5]))
        }
    }

    /// A component loaded with dlopen resolves its glue symbols against the
    /// husk executable, so every out-of-line glue function must be in the
    /// binary's dynamic symbol table. Run against the release husk in CI
    /// (HUSK_BIN), where an internal Swift function would be hidden.
    func testTheHuskBinaryExportsEveryGlueFunction() throws {
        let declared = try ComponentBuilder.glueFunctions()
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

    /// docs/glue.md lists the out-of-line glue symbols ("The N symbols:");
    /// the list and its count must match the headers' allow-list rule
    /// (`glue_[a-z0-9_]+(` in husk/glue/*.h).
    func testDocsListExactlyTheGlueSymbols() throws {
        let declared = try ComponentBuilder.glueFunctions()
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
