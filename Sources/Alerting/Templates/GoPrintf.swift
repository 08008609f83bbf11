/// Go's `fmt.Sprintf` for the verbs templates use (`%v %s %q %d %f %e %g %x %t %%`), with flags,
/// width and precision, and Go's `%!verb(type=value)` marks for mismatches.
enum GoPrintf {
    /// `fmt.Sprintf(format, arguments...)`.
    static func format(_ format: String, _ arguments: [TemplateValue]) -> String {
        var output = ""
        var scalars = Array(format.unicodeScalars)[...]
        var next = 0
        while let scalar = scalars.popFirst() {
            guard scalar == "%" else {
                output.unicodeScalars.append(scalar)
                continue
            }
            var flags = ""
            while let flag = scalars.first, "-+# 0".unicodeScalars.contains(flag) {
                flags.unicodeScalars.append(flag)
                scalars.removeFirst()
            }
            let width = number(&scalars)
            var precision: Int?
            if scalars.first == "." {
                scalars.removeFirst()
                precision = number(&scalars) ?? 0
            }
            guard let verb = scalars.popFirst().map(Character.init) else {
                output += "%!(NOVERB)"
                break
            }
            if verb == "%" {
                output += "%"
                continue
            }
            guard next < arguments.count else {
                output += "%!\(verb)(MISSING)"
                continue
            }
            let argument = arguments[next]
            next += 1
            output += render(argument, verb: verb, flags: flags, width: width, precision: precision)
        }
        if next < arguments.count {
            output +=
                "%!(EXTRA " + arguments[next...].map { "\($0.typeName)=\($0.printed)" }.joined(separator: ", ") + ")"
        }
        return output
    }

    private static func number(_ scalars: inout ArraySlice<Unicode.Scalar>) -> Int? {
        var digits = ""
        while let digit = scalars.first, ("0"..."9").contains(digit) {
            digits.unicodeScalars.append(digit)
            scalars.removeFirst()
        }
        return Int(digits)
    }

    private static func render(_ argument: TemplateValue, verb: Character, flags: String, width: Int?, precision: Int?)
        -> String
    {
        let left = flags.contains("-")
        switch (argument, verb) {
        case (.float(let value), "v"):
            return GoFloat.format(value, verb: "g", precision: precision, flags: flags, width: width)
        case (.float(let value), "e"), (.float(let value), "E"), (.float(let value), "f"), (.float(let value), "F"),
            (.float(let value), "g"), (.float(let value), "G"):
            return GoFloat.format(value, verb: verb, precision: precision, flags: flags, width: width)
        case (.int(let value), "d"), (.int(let value), "v"):
            var text = String(value.magnitude)
            if let precision, text.count < precision {
                text = String(repeating: "0", count: precision - text.count) + text
            }
            let sign = value < 0 ? "-" : (flags.contains("+") ? "+" : "")
            if flags.contains("0") && !left && precision == nil, let width, text.count + sign.count < width {
                text = String(repeating: "0", count: width - text.count - sign.count) + text
            }
            return pad(sign + text, width: width, left: left)
        case (.int(let value), "x"), (.int(let value), "X"):
            let text = String(value.magnitude, radix: 16, uppercase: verb == "X")
            return pad((value < 0 ? "-" : "") + text, width: width, left: left)
        case (.string(let text), "s"), (.string(let text), "v"):
            return pad(precision.map { String(text.prefix($0)) } ?? text, width: width, left: left)
        case (.string(let text), "q"):
            return pad(text.goQuoted, width: width, left: left)
        case (.string(let text), "x"), (.string(let text), "X"):
            return pad(
                text.utf8.map { String($0, radix: 16, uppercase: verb == "X").leftPadded(to: 2) }.joined(),
                width: width, left: left)
        case (.bool(let value), "t"), (.bool(let value), "v"):
            return pad(value ? "true" : "false", width: width, left: left)
        case (.null, "v"), (.null, "s"):
            return pad(verb == "v" ? "<nil>" : "%!s(<nil>)", width: width, left: left)
        case (.labels, "v"), (.object, "v"), (.list, "v"):
            return pad(argument.printed, width: width, left: left)
        case (.null, _):
            return "%!\(verb)(<nil>)"
        default:
            return "%!\(verb)(\(argument.typeName)=\(argument.printed))"
        }
    }

    private static func pad(_ text: String, width: Int?, left: Bool) -> String {
        guard let width, text.count < width else { return text }
        let fill = String(repeating: " ", count: width - text.count)
        return left ? text + fill : fill + text
    }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count < width ? String(repeating: "0", count: width - count) + self : self
    }
}
