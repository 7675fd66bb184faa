/// Orders components so that each comes after everything it depends on.
/// Components whose dependencies are missing, refused or cyclic are refused
/// themselves, with the reason; the rest keep their relative order. A name
/// given twice keeps the first copy and refuses the later ones.
public enum DependencyOrder {
    public struct Result {
        public var ordered: [ComponentDescriptor]
        public var refused: [(name: String, reason: String)]
    }

    public static func order(_ components: [ComponentDescriptor], refused already: [String: String] = [:]) -> Result {
        var refused: [(String, String)] = []
        var reasons = already
        var byName: [String: ComponentDescriptor] = [:]
        for c in components where reasons[c.name] == nil {
            if let first = byName[c.name] {
                // The first one given wins; only the later copy is refused.
                refused.append(
                    (
                        c.name,
                        "component '\(c.name)' is given twice: the copy from \(c.origin) is refused, "
                            + "the one from \(first.origin) is used"
                    ))
                continue
            }
            byName[c.name] = c
        }
        var ordered: [ComponentDescriptor] = []
        var state: [String: Int] = [:]  // 1 visiting, 2 done

        func visit(_ c: ComponentDescriptor, path: [String]) -> Bool {
            if state[c.name] == 2 { return reasons[c.name] == nil }
            if state[c.name] == 1 {
                let cycle = (path.drop { $0 != c.name } + [c.name]).joined(separator: " -> ")
                reasons[c.name] = reasons[c.name] ?? "dependency cycle: \(cycle)"
                return false
            }
            state[c.name] = 1
            var ok = true
            for dep in c.dependencies {
                if let why = reasons[dep], byName[dep] == nil || state[dep] == 2 {
                    reasons[c.name] = reasons[c.name] ?? "component '\(c.name)' depends on '\(dep)', which was refused (\(why))"
                    ok = false
                } else if let d = byName[dep] {
                    if !visit(d, path: path + [c.name]) {
                        reasons[c.name] =
                            reasons[c.name] ?? "component '\(c.name)' depends on '\(dep)', which was refused (\(reasons[dep] ?? "cycle"))"
                        ok = false
                    }
                } else {
                    reasons[c.name] = "component '\(c.name)' depends on '\(dep)', which is not loaded"
                    ok = false
                }
            }
            state[c.name] = 2
            if ok && reasons[c.name] == nil { ordered.append(c) }
            return ok && reasons[c.name] == nil
        }

        for c in components where byName[c.name].map({ $0.raw == c.raw }) ?? false { _ = visit(c, path: []) }
        for c in components where reasons[c.name] != nil && !refused.contains(where: { $0.0 == c.name }) {
            refused.append((c.name, reasons[c.name]!))
        }
        return Result(ordered: ordered, refused: refused.map { (name: $0.0, reason: $0.1) })
    }
}
