import Foundation
import HuskTestSupport
import RPCFuzzing
import RPCWire
import XCTest

/// The fuzz corpus (Fuzz/corpus/rpc) and the crash reproducers
/// (Fuzz/regressions) replayed through the fuzz entry points in a normal
/// build, with invariants: none of the harness's (replies well formed, the
/// probe PING answered while the connection is open, every connection closed
/// after the peer left), and no descriptor leaked.
final class RPCFuzzCorpusTests: XCTestCase {
    static let fuzzDir = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    func files(_ sub: String) -> [URL] {
        let dir = Self.fuzzDir.appendingPathComponent(sub)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { dir.appendingPathComponent($0) }
    }

    func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    /// Replay one input; returns the outcome after checking the invariants.
    @discardableResult
    func replay(_ bytes: [UInt8], _ name: String, file: StaticString = #filePath, line: UInt = #line) -> SequenceOutcome {
        let before = openDescriptors()
        let out = bytes.withUnsafeBytes { runMessageSequence($0) }
        let decoding = bytes.withUnsafeBytes { checkPayloadDecoding($0) }
        let after = openDescriptors()
        XCTAssertEqual(out.violations, [], "\(name)", file: file, line: line)
        XCTAssertEqual(decoding, [], "\(name)", file: file, line: line)
        // A leak can only add descriptors; fewer means a thread of an earlier
        // test closed one meanwhile (the count is process-wide).
        XCTAssertLessThanOrEqual(after, before, "\(name): descriptors open before \(before), after \(after)", file: file, line: line)
        return out
    }

    func testCorpusAndRegressionsReplay() throws {
        let corpus = files("corpus/rpc")
        XCTAssertGreaterThanOrEqual(corpus.count, SeedCorpus.all.count, "seed corpus missing")
        for url in corpus + files("regressions") {
            replay(Array(try Data(contentsOf: url)), url.lastPathComponent)
        }
    }

    /// The committed seeds are the ones SeedCorpus builds
    /// (HUSK_FUZZ_WRITE_SEEDS=1 rewrites them).
    func testSeedFilesAreCurrent() throws {
        let dir = Self.fuzzDir.appendingPathComponent("corpus/rpc")
        let write = ProcessInfo.processInfo.environment["HUSK_FUZZ_WRITE_SEEDS"] == "1"
        if write { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (name, bytes) in SeedCorpus.all {
            let url = dir.appendingPathComponent("\(name).bin")
            if write { try Data(bytes).write(to: url) }
            let stored = try? Data(contentsOf: url)
            XCTAssertEqual(stored.map { Array($0) }, bytes, "\(url.path) is not the seed SeedCorpus builds")
        }
    }

    /// What the seeds are meant to reach, so that a harness change that
    /// silently stops reaching them is noticed.
    func testSeedsReachWhatTheyAreFor() {
        let seeds = Dictionary(uniqueKeysWithValues: SeedCorpus.all.map { ($0.name, $0.bytes) })
        func run(_ name: String) -> (SequenceOutcome, [RPCHeader]) {
            let out = replay(seeds[name]!, name)
            let headers = out.sent.compactMap { m -> RPCHeader? in
                guard
                    case .success(let h) = m.bytes.withUnsafeBytes({
                        RPCHeader.decode($0, messageLength: m.bytes.count, fdsReceived: m.descriptorCount)
                    })
                else { return nil }
                return h
            }
            return (out, headers)
        }
        func statuses(_ hs: [RPCHeader], id: UInt64) -> [Int32] { hs.filter { $0.requestID == id }.map(\.status) }

        for (name, _) in SeedCorpus.all {
            let (out, _) = run(name)
            if name.hasPrefix("bad-") {
                XCTAssertFalse(out.probeSent, "\(name): the connection should have been closed")
            } else if name == "valid-close-with-calls-in-flight" {
                XCTAssertFalse(out.probeSent, "\(name): the peer closed")
                XCTAssertEqual(out.recordsRead, 4, "\(name): records after the close are not read")
            } else {
                XCTAssertTrue(out.probeSent, "\(name): the connection should still be open")
                XCTAssertEqual(out.probeReply?.status, 0, "\(name)")
                XCTAssertEqual(out.recordsRead, out.records, "\(name)")
            }
        }
        var (out, hs) = run("valid-echo-echo")
        XCTAssertTrue(out.helloAccepted)
        XCTAssertEqual(statuses(hs, id: 2), [0])
        XCTAssertEqual(hs.first { $0.requestID == 2 }?.payloadLength, 20)
        (_, hs) = run("valid-echo-stat-denied")
        XCTAssertEqual(statuses(hs, id: 2), [RPCStatus.acces])
        (_, hs) = run("valid-echo-checksum")
        XCTAssertEqual(statuses(hs, id: 2), [0])
        XCTAssertEqual(statuses(hs, id: 3), [0])
        (out, hs) = run("valid-echo-open")
        XCTAssertEqual(statuses(hs, id: 2), [0])
        XCTAssertEqual(out.sent.last { $0.bytes.count >= 24 && $0.bytes[16] == 2 }?.descriptorCount, 1)
        (_, hs) = run("valid-shm-full")
        XCTAssertEqual(statuses(hs, id: 4), [RPCStatus.nospc])
        (_, hs) = run("valid-shm-refused")
        XCTAssertEqual(
            statuses(hs, id: 2) + statuses(hs, id: 3) + statuses(hs, id: 4) + statuses(hs, id: 5),
            [RPCStatus.inval, RPCStatus.inval, RPCStatus.inval, RPCStatus.inval])
        (_, hs) = run("valid-fragments-echo")
        XCTAssertEqual(statuses(hs, id: 2), [0, 0], "a 10 KB echo reply is two fragments")
        (_, hs) = run("err-fragments-msgsize")
        XCTAssertEqual(statuses(hs, id: 2), [RPCStatus.msgsize])
        (_, hs) = run("err-unknown-interface-op")
        XCTAssertEqual(statuses(hs, id: 2) + statuses(hs, id: 3) + statuses(hs, id: 4), [RPCStatus.nosys, RPCStatus.nosys, RPCStatus.nosys])
        (_, hs) = run("bad-fd-count")
        XCTAssertEqual(statuses(hs, id: 7), [RPCStatus.proto])
        (_, hs) = run("bad-first-not-hello")
        XCTAssertEqual(statuses(hs, id: 1), [RPCStatus.proto])
    }

    /// A few thousand deterministic mutations of the seeds, so that the
    /// normal test run also explores a little beyond the corpus.
    func testMutatedSeeds() {
        var rng = SplitMix(seed: 0x4855_534B)
        let seeds = SeedCorpus.all.map(\.bytes)
        for i in 0..<1500 {
            var b = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<(1 + rng.next() % 4) {
                guard !b.isEmpty else { break }
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 4 {
                case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b[at] ^= 1 << UInt8(rng.next() % 8)
                case 2: b.removeSubrange(at..<min(b.count, at + Int(rng.next() % 8)))
                default: b.insert(contentsOf: b[at..<min(b.count, at + Int(rng.next() % 48))], at: Int(rng.next() % UInt64(b.count)))
                }
            }
            replay(b, "mutation \(i)")
        }
    }
}
