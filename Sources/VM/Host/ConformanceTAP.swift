/// The conformance suite's results as a host prints them on a console
/// (docs/conformance.md, "Output"): `[info] conformance: ok 12 - mutex: ...`,
/// `not ok 13 - ...: what failed (file:line)`, `... # SKIP reason`, the plan
/// `1..N` and the summary `conformance: P passed, F failed, S skipped`. The
/// metal scenarios judge these lines here, on the host: the guest only
/// reports, and its HUSK-DONE line counts the test lines it printed.
public struct ConformanceTAP: Sendable {
    public struct Test: Sendable, Equatable {
        public let number: Int
        /// The test's text after "N - " (name, and for a failure what failed).
        public let text: String
        /// The text before the first colon: "mutex", "cv", "pci", ...
        public let area: String
        public let ok: Bool
        public let skipped: Bool
    }

    public var tests: [Test] = []
    public var plan: Int?
    public var summary: String?
    /// "panic: ..." lines: the host ended the run (watchdog or misuse).
    public var panics: [String] = []

    /// Areas that may be skipped whole: they need host files (blk, frame) or
    /// a device and features the run may not have (pci, irq).
    public static let skippableAreas: Set<String> = ["blk", "frame", "pci", "irq"]

    public init(lines: [String]) {
        for raw in lines {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if line.hasPrefix("panic: ") {
                panics.append(line)
                continue
            }
            guard let r = line.firstRange(of: "conformance: ") else { continue }
            let rest = String(line[r.upperBound...])
            if let t = Self.parseTest(rest) {
                tests.append(t)
            } else if rest.hasPrefix("1.."), let n = Int(rest.dropFirst(3)) {
                plan = n
            } else if rest.contains(" passed, "), rest.contains(" failed, ") {
                summary = rest
            }
        }
    }

    static func parseTest(_ s: String) -> Test? {
        let ok: Bool
        var rest: Substring
        if s.hasPrefix("ok ") {
            ok = true
            rest = s.dropFirst(3)
        } else if s.hasPrefix("not ok ") {
            ok = false
            rest = s.dropFirst(7)
        } else {
            return nil
        }
        let digits = rest.prefix { $0.isNumber }
        guard let n = Int(digits), rest.dropFirst(digits.count).hasPrefix(" - ") else { return nil }
        rest = rest.dropFirst(digits.count + 3)
        let text = String(rest)
        let area = String(text.prefix { $0 != ":" })
        return Test(number: n, text: text, area: area, ok: ok, skipped: ok && text.contains(" # SKIP "))
    }

    /// One check per area, named `cf-<area>`: it passes when no test of the
    /// area failed and at least one ran (not skipped), or the area may be
    /// skipped whole.
    public var areaChecks: [GuestCheck] {
        var order: [String] = []
        var byArea: [String: [Test]] = [:]
        for t in tests {
            if byArea[t.area] == nil { order.append(t.area) }
            byArea[t.area, default: []].append(t)
        }
        return order.map { area in
            let ts = byArea[area]!
            let failed = ts.filter { !$0.ok }
            let skipped = ts.filter(\.skipped).count
            let ran = ts.count - skipped - failed.count
            let passed = failed.isEmpty && (ran > 0 || Self.skippableAreas.contains(area))
            var detail = "\(ran) passed, \(failed.count) failed, \(skipped) skipped"
            if let f = failed.first { detail += ": not ok \(f.number) - \(f.text)" }
            if ran == 0 && failed.isEmpty { detail += Self.skippableAreas.contains(area) ? " (may be skipped here)" : " (nothing ran)" }
            return GuestCheck(name: "cf-\(area)", passed: passed, detail: detail)
        }
    }

    /// Why the run fails, or nothing: no failed test, no panic, the plan
    /// and the guest's HUSK-DONE count agree with the test lines seen,
    /// every expected area (`cf-<area>`) ran at least one test.
    public func failures(done: Int?, expectedChecks: [String]) -> [String] {
        var f: [String] = []
        for p in panics { f.append("guest: \(p)") }
        for t in tests where !t.ok { f.append("conformance: not ok \(t.number) - \(t.text)") }
        let checks = areaChecks
        for c in checks where !c.passed && !c.detail.contains("not ok") { f.append("guest: \(c.name) FAIL \(c.detail)") }
        // An expected area must have run something, even one that may be skipped elsewhere.
        let ran = Set(tests.filter { $0.ok && !$0.skipped }.map { "cf-" + $0.area })
        for e in expectedChecks where !ran.contains(e) { f.append("conformance: no test of area \(e.dropFirst(3)) ran") }
        if let plan {
            if plan != tests.count { f.append("conformance: plan 1..\(plan) but \(tests.count) test lines arrived") }
        } else {
            f.append("conformance: no plan line (1..N): the suite did not finish")
        }
        if summary == nil { f.append("conformance: no summary line") }
        if let done {
            if done != tests.count { f.append("HUSK-DONE \(done) but \(tests.count) test lines arrived") }
        } else {
            f.append("no HUSK-DONE line")
        }
        return f
    }
}
