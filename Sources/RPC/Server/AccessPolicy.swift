import RPCWire

/// Who may call what: rights per interface operation granted to uids and
/// gids by number (docs/rpc-runtime.md, "Policy syntax").
///
/// An operation is looked up as `interface.operation` (names, e.g.
/// `echo.sleep`), then `interface.*`; a matching rule allows exactly the
/// uids and gids it lists (the caller's primary gid or any supplementary
/// group counts). An operation no rule names is allowed when `defaultAllow`.
public struct AccessPolicy: Sendable, Equatable {
    public struct Grant: Sendable, Equatable {
        public var uids: Set<UInt32> = []
        public var gids: Set<UInt32> = []
        public init(uids: Set<UInt32> = [], gids: Set<UInt32> = []) {
            self.uids = uids
            self.gids = gids
        }
    }
    public var defaultAllow: Bool
    public var rules: [String: Grant]

    public init(defaultAllow: Bool = true, rules: [String: Grant] = [:]) {
        self.defaultAllow = defaultAllow
        self.rules = rules
    }

    /// Allow everything (the default).
    public static let allowAll = AccessPolicy()

    /// Add uids/gids to the rule for `key` (`interface.operation` or `interface.*`).
    public mutating func allow(_ key: String, uids: [UInt32] = [], gids: [UInt32] = []) {
        var g = rules[key] ?? Grant()
        g.uids.formUnion(uids)
        g.gids.formUnion(gids)
        rules[key] = g
    }

    public func allows(_ who: PeerIdentity, interface: String, operation: String) -> Bool {
        allows(who) { (interface, operation) }
    }

    /// The same with the names built only when a rule could apply: servers
    /// ask per request, and a policy without rules then costs one comparison.
    public func allows(_ who: PeerIdentity, names: () -> (interface: String, operation: String)) -> Bool {
        if rules.isEmpty { return defaultAllow }
        let (interface, operation) = names()
        guard let g = rules["\(interface).\(operation)"] ?? rules["\(interface).*"] else { return defaultAllow }
        if g.uids.contains(who.uid) || g.gids.contains(who.gid) { return true }
        return who.groups.contains { g.gids.contains($0) }
    }

    /// A right that is not an operation (`net.admin`: binding a port below
    /// 1024): granted only by a rule naming it, whatever the default and
    /// whatever `interface.*` says, since a default meant for ordinary
    /// operations must not hand out a privileged one.
    public func grantsRight(_ who: PeerIdentity, _ right: String) -> Bool {
        guard let g = rules[right] else { return false }
        if g.uids.contains(who.uid) || g.gids.contains(who.gid) { return true }
        return who.groups.contains { g.gids.contains($0) }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "policy line \(line): \(message)" }
    }

    /// Parse the text form:
    ///
    ///     # comment
    ///     default allow|deny
    ///     allow echo.sleep uid=0,1000 gid=100
    ///     allow echo.* gid=27
    public static func parse(_ text: String) throws(ParseError) -> AccessPolicy {
        var p = AccessPolicy()
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let verb = words.first else { continue }
            switch verb {
            case "default":
                guard words.count == 2, words[1] == "allow" || words[1] == "deny" else {
                    throw ParseError(line: i + 1, message: "expected `default allow` or `default deny`")
                }
                p.defaultAllow = words[1] == "allow"
            case "allow":
                guard words.count >= 2 else {
                    throw ParseError(line: i + 1, message: "expected `allow INTERFACE.OPERATION uid=N,... gid=N,...`")
                }
                let key = words[1]
                let parts = key.split(separator: ".")
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ParseError(line: i + 1, message: "`\(key)` is not INTERFACE.OPERATION or INTERFACE.*")
                }
                var uids: [UInt32] = [], gids: [UInt32] = []
                for w in words.dropFirst(2) {
                    let kv = w.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[0] == "uid" || kv[0] == "gid" else {
                        throw ParseError(line: i + 1, message: "expected uid=N,... or gid=N,..., got `\(w)`")
                    }
                    for n in kv[1].split(separator: ",") {
                        guard let v = UInt32(n) else { throw ParseError(line: i + 1, message: "`\(n)` is not a numeric id") }
                        if kv[0] == "uid" { uids.append(v) } else { gids.append(v) }
                    }
                }
                // A rule with no ids denies the operation to everyone.
                p.allow(key, uids: uids, gids: gids)
            default:
                throw ParseError(line: i + 1, message: "unknown directive `\(verb)` (expected `default` or `allow`)")
            }
        }
        return p
    }
}
