/// Lines of generated code with four-space indentation.
final class CodeWriter {
    private(set) var text = ""
    private var depth = 0

    func line(_ s: String = "") {
        if s.isEmpty {
            text += "\n"
            return
        }
        text += String(repeating: "    ", count: depth) + s + "\n"
    }

    func block(_ header: String, _ body: () -> Void) {
        line(header + " {")
        indent(body)
        line("}")
    }

    /// A switch: its cases at the depth of the switch, as Swift style has it.
    func switchBlock(_ header: String, _ body: () -> Void) {
        line(header + " {")
        body()
        line("}")
    }

    func indent(_ body: () -> Void) {
        depth += 1
        body()
        depth -= 1
    }
}
