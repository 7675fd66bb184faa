import Foundation
import HuskTestSupport
import XCTest

/// Vendored subsystems stay byte for byte upstream (ThirdPartyC/README.md):
/// each ThirdPartyC/<name>/ with a PROVENANCE lists the sha256 of every file
/// it holds, and these tests recompute them, so an edit, a new file or a
/// lost one cannot creep in unnoticed. A change to upstream, if ever needed,
/// is a patch file under patches/ (not hashed: it is ours).
final class VendoredTests: XCTestCase {
    static var thirdParty: URL { Husk.packageRoot.appendingPathComponent("ThirdPartyC") }

    /// The folders under ThirdPartyC that hold vendored code (have a PROVENANCE).
    static func vendoredFolders() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: thirdParty.path).sorted()
            .map { thirdParty.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("PROVENANCE").path) }
    }

    func testEveryVendoredFileMatchesItsRecordedHash() throws {
        let folders = try Self.vendoredFolders()
        XCTAssertTrue(folders.contains { $0.lastPathComponent == "lwip" }, "ThirdPartyC/lwip has a PROVENANCE")
        for folder in folders {
            XCTAssertEqual(try Self.problems(in: folder), [], "ThirdPartyC/\(folder.lastPathComponent)")
        }
    }

    /// The provenance names the Debian source package, its version and the
    /// tarball's hash (what `apt-get source` checks), and the license is there.
    func testLwipProvenanceNamesItsSource() throws {
        let folder = Self.thirdParty.appendingPathComponent("lwip")
        let text = try String(contentsOf: folder.appendingPathComponent("PROVENANCE"), encoding: .utf8)
        XCTAssertTrue(text.contains("Source package:   lwip 2.1.3+dfsg1-2"), text)
        XCTAssertTrue(
            text.contains("Tarball sha256:   0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24"), text)
        let listed = try Self.recordedHashes(text)
        XCTAssertNotNil(listed["COPYING"])
        XCTAssertNotNil(listed["src/core/tcp.c"])
        XCTAssertNotNil(listed["src/apps/lwiperf/lwiperf.c"])
        XCTAssertGreaterThan(listed.count, 150)
    }

    /// e2fsprogs (docs/fs.md): the source package, the tarball's hash, the
    /// license texts, the library's core and none of the host I/O managers.
    func testE2fsprogsProvenanceNamesItsSource() throws {
        let folder = Self.thirdParty.appendingPathComponent("e2fsprogs")
        let text = try String(contentsOf: folder.appendingPathComponent("PROVENANCE"), encoding: .utf8)
        XCTAssertTrue(text.contains("Source package:   e2fsprogs 1.47.0-2"), text)
        XCTAssertTrue(
            text.contains("Tarball sha256:   6667afde56eef0c6af26684974400e4d2288ea49e9441bf5e6229195d51a3578"), text)
        let listed = try Self.recordedHashes(text)
        for path in ["NOTICE", "lib/ext2fs/openfs.c", "lib/ext2fs/ext2fs.h", "lib/et/com_err.h", "lib/ext2fs/ext2_err.et.in"] {
            XCTAssertNotNil(listed[path], path)
        }
        for hostIO in ["unix_io.c", "undo_io.c", "test_io.c", "sparse_io.c", "ismounted.c", "getsize.c"] {
            XCTAssertNil(listed["lib/ext2fs/" + hostIO], hostIO)
        }
        XCTAssertGreaterThan(listed.count, 80)
    }

    /// What upstream's build generates (ext2_types.h, ext2_err.c/h,
    /// crc32c_table.h) is committed under Sources/Components/ext2fs/generated;
    /// scripts/e2fsprogs-gen.sh makes it again from the vendored inputs into
    /// a scratch folder, and the two must be identical.
    func testE2fsprogsGeneratedFilesAreWhatTheScriptMakes() throws {
        let out = try scratchURL(self).appendingPathComponent("generated")
        let script = Husk.packageRoot.appendingPathComponent("scripts/e2fsprogs-gen.sh").path
        let r = try runTool(script, [out.path])
        XCTAssertEqual(r.status, 0, r.output)
        let committed = Husk.packageRoot.appendingPathComponent("Sources/Components/ext2fs/generated")
        let d = try runTool("/usr/bin/diff", ["-r", committed.path, out.path])
        XCTAssertEqual(d.status, 0, "the committed generated files differ from scripts/e2fsprogs-gen.sh's:\n\(d.output)")
    }

    /// The check itself: a changed byte, an added file and a removed file in
    /// a copy of ThirdPartyC/lwip are each reported.
    func testTheCheckCatchesChangedAddedAndMissingFiles() throws {
        let copy = try scratchURL(self).appendingPathComponent("lwip")
        try FileManager.default.copyItem(at: Self.thirdParty.appendingPathComponent("lwip"), to: copy)
        XCTAssertEqual(try Self.problems(in: copy), [])

        let tcp = copy.appendingPathComponent("src/core/tcp.c")
        var bytes = try Data(contentsOf: tcp)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: tcp)
        try "x".write(to: copy.appendingPathComponent("src/core/extra.c"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("src/core/udp.c"))
        XCTAssertEqual(
            try Self.problems(in: copy),
            [
                "src/core/extra.c: not listed in PROVENANCE",
                "src/core/tcp.c: sha256 differs from PROVENANCE",
                "src/core/udp.c: listed in PROVENANCE, missing"
            ])
    }

    /// `<sha256>  <path>` lines of a PROVENANCE (sha256sum's format).
    static func recordedHashes(_ provenance: String) throws -> [String: String] {
        let line = try NSRegularExpression(pattern: "^([0-9a-f]{64})  (\\S.*)$", options: [.anchorsMatchLines])
        var out: [String: String] = [:]
        for m in line.matches(in: provenance, range: NSRange(provenance.startIndex..., in: provenance)) {
            out[String(provenance[Range(m.range(at: 2), in: provenance)!])] =
                String(provenance[Range(m.range(at: 1), in: provenance)!])
        }
        return out
    }

    /// What differs between a folder and its PROVENANCE, one line per file, sorted.
    static func problems(in folder: URL) throws -> [String] {
        let recorded = try recordedHashes(
            String(contentsOf: folder.appendingPathComponent("PROVENANCE"), encoding: .utf8))
        var present: [String] = []
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let path = walker?.nextObject() as? String {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isDir)
            if isDir.boolValue || path == "PROVENANCE" || path.hasPrefix("patches/") { continue }
            present.append(path)
        }
        var computed: [String: String] = [:]
        // sha256sum over all files in a few calls (argument lists stay short).
        for chunk in stride(from: 0, to: present.count, by: 200).map({ Array(present[$0..<min($0 + 200, present.count)]) }) {
            let r = try runTool("/usr/bin/sha256sum", chunk.map { folder.appendingPathComponent($0).path })
            guard r.status == 0 else { throw TestFailure("sha256sum failed: \(r.output)") }
            for line in r.stdout.split(separator: "\n") {
                let hash = String(line.prefix(64))
                let path = String(line.dropFirst(66)).replacingOccurrences(of: folder.path + "/", with: "")
                computed[path] = hash
            }
        }
        var out: [String] = []
        for (path, hash) in computed {
            guard let expected = recorded[path] else {
                out.append("\(path): not listed in PROVENANCE")
                continue
            }
            if expected != hash { out.append("\(path): sha256 differs from PROVENANCE") }
        }
        for path in recorded.keys where computed[path] == nil { out.append("\(path): listed in PROVENANCE, missing") }
        return out.sorted()
    }
}
