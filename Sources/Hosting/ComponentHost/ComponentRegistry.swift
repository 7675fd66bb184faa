import ComponentLinkSet
import Glibc
import HypercallABI

/// Where components come from: the static registry linked into this binary
/// (the only source in static executables) and shared objects loaded with
/// dlopen that export `husk_component_entry`.
public enum ComponentRegistry {
    /// Components linked into the husk binary: the `husk_components` link
    /// set (HUSK_COMPONENT), sorted by name so listings do not depend on
    /// link order. A component target in Package.swift is all it takes.
    public static let builtIn: [ComponentDescriptor] = {
        var count = 0
        guard let first = husk_linked_components(&count) else { return [] }
        return UnsafeBufferPointer(start: first, count: count)
            .compactMap { $0 }
            .map { ComponentDescriptor(raw: $0, origin: "built-in") }
            .sorted { $0.name < $1.name }
    }()

    public static func builtIn(named name: String) -> ComponentDescriptor? {
        builtIn.first { $0.name == name }
    }

    /// Load a component from a shared object. The object resolves glue
    /// symbols against the husk executable (linked with --export-dynamic).
    public static func load(path: String) throws(HostError) -> ComponentDescriptor {
        #if HUSK_STATIC
            // A static executable has no dynamic loader worth trusting (glibc's
            // static dlopen needs the very shared libraries it was meant to avoid).
            throw HostError(
                "cannot load \(path): this husk is a static executable; only built-in components are available (see `husk components`)")
        #endif
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw HostError("cannot load component \(path): \(why)")
        }
        guard let sym = dlsym(handle, HUSK_COMPONENT_ENTRY_SYMBOL) else {
            dlclose(handle)
            throw HostError("\(path) is not a Husk component: it does not export \(HUSK_COMPONENT_ENTRY_SYMBOL)")
        }
        typealias Entry = @convention(c) () -> UnsafePointer<husk_component>?
        guard let raw = unsafeBitCast(sym, to: Entry.self)() else {
            throw HostError("\(path): \(HUSK_COMPONENT_ENTRY_SYMBOL) returned NULL")
        }
        // The object stays loaded for the life of the process: its code may
        // still run on host threads (completions) until the host shuts down.
        return ComponentDescriptor(raw: raw, origin: path)
    }
}

/// A host-level failure with a message meant for a person.
public struct HostError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ message: String) { description = message }
}
