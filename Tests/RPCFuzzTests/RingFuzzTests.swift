import Foundation
import HuskTestSupport
import RPCFuzzing
import XCTest

/// The ring cases of the fuzz target (RingFuzz, docs/fuzzing.md) replayed in
/// a normal build: the ring seeds, every corpus file and deterministic
/// mutations, each through a real connection set up with RING_SETUP; no
/// broken invariant (replies well formed, the connection closes in bounded
/// time after the client leaves) and no descriptor leak.
final class RingFuzzTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/rpc")

    func openDescriptors() -> Int { ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count }

    /// `input`: as the fuzz target gets it (marker first, else skipped);
    /// otherwise the operations alone.
    func replay(_ bytes: [UInt8], _ name: String, input: Bool = false) {
        let before = openDescriptors()
        let v = bytes.withUnsafeBytes { input ? RingFuzz.runInput($0) : RingFuzz.run($0) }
        XCTAssertEqual(v, [], name)
        let end = Date().addingTimeInterval(5)
        while openDescriptors() > before && Date() < end { usleep(1000) }
        XCTAssertLessThanOrEqual(openDescriptors(), before, "\(name): descriptors leaked")
    }

    /// The committed ring seeds are RingFuzz.seeds (HUSK_FUZZ_WRITE_SEEDS=1 rewrites them).
    func testRingSeedFilesAreCurrent() throws {
        let write = ProcessInfo.processInfo.environment["HUSK_FUZZ_WRITE_SEEDS"] == "1"
        for (name, bytes) in RingFuzz.seeds {
            let url = Self.corpus.appendingPathComponent("\(name).bin")
            let file = [RingFuzz.marker] + bytes
            if write { try Data(file).write(to: url) }
            XCTAssertEqual((try? Data(contentsOf: url)).map { Array($0) }, file, "\(url.path) is not RingFuzz's seed")
        }
    }

    func testSeedsCorpusAndMutationsKeepTheInvariants() throws {
        for (name, bytes) in RingFuzz.seeds { replay(bytes, name) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)) ?? []
        for n in names.sorted() where n.hasSuffix(".bin") {
            replay(Array(try Data(contentsOf: Self.corpus.appendingPathComponent(n))), n, input: true)
        }
        let regressions = Self.corpus.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("regressions")
        for n in ((try? FileManager.default.contentsOfDirectory(atPath: regressions.path)) ?? []).sorted() where !n.hasSuffix(".md") {
            replay(Array(try Data(contentsOf: regressions.appendingPathComponent(n))), n, input: true)
        }
        var rng = SplitMix(seed: 0x5249_4E47)
        for k in 0..<300 {
            var b = RingFuzz.seeds[k % RingFuzz.seeds.count].bytes
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                switch rng.next() % 3 {
                case 0 where !b.isEmpty: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.insert(UInt8(truncatingIfNeeded: rng.next() % 8), at: Int(rng.next() % UInt64(b.count + 1)))
                default: b += (0..<Int(rng.next() % 12)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
            }
            replay(b, "mutation \(k)")
        }
    }
}
