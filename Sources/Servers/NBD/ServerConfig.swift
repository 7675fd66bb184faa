import Glue

/// What every connection needs from the server that accepted it.
struct ServerConfig: Sendable {
    let exports: @Sendable (String) -> Glue.Disk?
    let exportNames: @Sendable () -> [String]
    let defaultExport: String?
    let readOnly: Bool
    let log: @Sendable (String) -> Void

    /// The export a client asked for ("" means the default), or nil.
    func open(_ requested: String) -> Export? {
        let name = requested.isEmpty ? (defaultExport ?? "") : requested
        guard !name.isEmpty, let disk = exports(name) else { return nil }
        return Export(name: name, disk: disk, serverReadOnly: readOnly)
    }
}
