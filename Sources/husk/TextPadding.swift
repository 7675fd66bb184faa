extension String {
    /// Left-aligned in a column of `width` characters (never truncates).
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
