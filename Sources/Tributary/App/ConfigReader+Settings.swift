import Configuration

extension ConfigReader {
    /// A whole-number setting within `range`, `fallback` when unset; a bad value adds a line to
    /// `problems` naming `variable` (the environment variable the operator sets).
    func wholeNumber(
        _ key: String,
        _ variable: String,
        _ range: ClosedRange<Int>,
        default fallback: Int,
        problems: inout [String]
    ) -> Int {
        guard let text = string(forKey: ConfigKey(key)) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            problems.append("\(variable) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return fallback
        }
        return value
    }

    /// As above, for `TRIBUTARY_SOME_SETTING`, read as the key `tributary.some.setting` (which is
    /// how the environment provider names it).
    func wholeNumber(_ variable: String, _ range: ClosedRange<Int>, default fallback: Int, problems: inout [String]) -> Int {
        wholeNumber(variable.lowercased().replacingOccurrences(of: "_", with: "."), variable, range, default: fallback, problems: &problems)
    }
}
