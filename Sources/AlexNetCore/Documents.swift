import Foundation

// Documents from files: the config's YAML, state.json, index.json, a safetensors header.
// Strict decoding: an unknown key, a wrong type or a value out of its enumeration is a
// `ConfigError` that names the key path (`model.layers[1].kernels`).

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

// MARK: - Strict decoding

public struct AnyKey: CodingKey {
    public var stringValue: String
    public var intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

public func keyPath(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
}

/// A keyed container that refuses keys the type does not know.
public func strictContainer<K: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: K.Type) throws -> KeyedDecodingContainer<K> {
    let any = try decoder.container(keyedBy: AnyKey.self)
    let known = K.allCases.map(\.stringValue)
    for k in any.allKeys where !known.contains(k.stringValue) {
        let at = keyPath(decoder.codingPath + [k])
        throw ConfigError("\(at): unknown key (expected one of: \(known.joined(separator: ", ")))")
    }
    return try decoder.container(keyedBy: K.self)
}

public func describe(_ e: DecodingError) -> String {
    switch e {
    case .keyNotFound(let k, let ctx): return "\(keyPath(ctx.codingPath + [k])): missing key"
    case .typeMismatch(let t, let ctx): return "\(keyPath(ctx.codingPath)): expected \(expectedKind(t))"
    case .valueNotFound(let t, let ctx): return "\(keyPath(ctx.codingPath)): expected \(expectedKind(t)), found nothing"
    case .dataCorrupted(let ctx):
        let path = keyPath(ctx.codingPath)
        if let range = ctx.debugDescription.range(of: "invalid String value ") {
            let value = ctx.debugDescription[range.upperBound...]
            let allowed: String
            switch ctx.codingPath.last?.stringValue ?? "" {
            case "type" where path.contains("schedule"): allowed = "plateau, step, fixed"
            case "type": allowed = "conv, fc"
            case "sees": allowed = "own, all"
            case "init": allowed = "paper, he"
            case "source": allowed = "idx, prepared, cifar10"
            default: allowed = ""
            }
            return "\(path): '\(value)' is not allowed" + (allowed.isEmpty ? "" : " (expected one of: \(allowed))")
        }
        return "\(path): \(ctx.debugDescription)"
    @unknown default: return "\(e)"
    }
}

/// What a decoder expected, in words ("a whole number", "a mapping of keys").
func expectedKind(_ t: Any.Type) -> String {
    let name = String(describing: t)
    switch name {
    case "Int", "Int32", "Int64": return "a whole number"
    case "UInt64", "UInt32", "UInt": return "a whole number, 0 or more"
    case "Double", "Float": return "a number"
    case "Bool": return "true or false"
    case "String": return "text"
    default:
        if name.contains("Mapping") || name.contains("Dictionary") || name.contains("Keyed") { return "a mapping of keys (key: value)" }
        if name.contains("Sequence") || name.contains("Array") || name.contains("Unkeyed") { return "a list" }
        return name
    }
}

// MARK: - Ranges: one check per numeric key

/// Refuses an integer outside `range`, naming the key.
public func checkRange(_ key: String, _ value: Int, _ range: ClosedRange<Int>) throws {
    guard range.contains(value) else {
        throw ConfigError("\(key): must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value)")
    }
}

/// Refuses a number that is not finite or lies outside its bounds (`from`/`atMost` closed,
/// `above`/`below` open), naming the key and the bounds.
public func checkRange<T: BinaryFloatingPoint>(_ key: String, _ value: T, from: Double? = nil, above: Double? = nil,
                                               atMost: Double? = nil, below: Double? = nil) throws {
    let v = Double(value)
    var ok = v.isFinite
    var bounds: [String] = []
    if let from { ok = ok && v >= from; bounds.append((atMost != nil ? "from " : "at least ") + number(from)) }
    if let above { ok = ok && v > above; bounds.append("above \(number(above))") }
    if let atMost { ok = ok && v <= atMost; bounds.append((from != nil ? "to " : "at most ") + number(atMost)) }
    if let below { ok = ok && v < below; bounds.append("below \(number(below))") }
    guard ok else {
        let range = bounds.count == 2 && from != nil && atMost != nil ? bounds.joined(separator: " ") : bounds.joined(separator: " and ")
        throw ConfigError("\(key): must be a finite number\(bounds.isEmpty ? "" : " " + range), got \(value)")
    }
}

private func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)" }

// MARK: - Nesting: bounded before a recursive parser sees it

/// Refuses YAML or JSON text nested deeper than `limit` levels, counting flow brackets (`[`,
/// `{` outside quotes and comments), list dashes (`- - x`) and the indentation of block
/// mappings and lists; and YAML anchors and aliases (`&a`, `*a`: an alias can expand a small
/// file exponentially). Recursive parsers (Yams builds its nodes recursively) overflow the stack
/// on a document of ten thousand `[`; this scan is a loop. It may count a little more than the
/// parser would, never less.
public func checkNesting(_ text: String, limit: Int) throws {
    var flow = 0
    var indents: [Int] = []          // indentation of the open block levels
    for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let bytes = Array(raw.utf8)
        var i = 0
        while i < bytes.count && (bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t")) { i += 1 }
        guard i < bytes.count, bytes[i] != UInt8(ascii: "#"), bytes[i] != UInt8(ascii: "\r") else { continue }
        if flow == 0 {
            while let last = indents.last, last >= i { indents.removeLast() }
            indents.append(i)
        }
        var dashes = 0, quote: UInt8? = nil
        var previous = UInt8(ascii: " ")
        while i < bytes.count {
            let b = bytes[i]
            if let q = quote {
                if b == q { quote = nil }
            } else {
                switch b {
                case UInt8(ascii: "'"), UInt8(ascii: "\""): quote = b
                case UInt8(ascii: "#") where previous == UInt8(ascii: " "): i = bytes.count; continue
                case UInt8(ascii: "["), UInt8(ascii: "{"): flow += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
                case UInt8(ascii: "-") where (previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"))
                    && (i + 1 == bytes.count || bytes[i + 1] == UInt8(ascii: " ")):
                    dashes += 1
                case UInt8(ascii: "&"), UInt8(ascii: "*"):
                    if " [{,:-".utf8.contains(previous) && i + 1 < bytes.count && bytes[i + 1] != UInt8(ascii: " ") {
                        throw ConfigError("line \(n + 1): YAML anchors and aliases (& and *) are not accepted in a config")
                    }
                default: break
                }
            }
            if flow + dashes + indents.count > limit {
                throw ConfigError("nested more than \(limit) levels deep (line \(n + 1)); a config needs 4")
            }
            previous = b
            i += 1
        }
    }
}

// MARK: - JSON documents from files

/// Decodes a JSON file (a regular file of at most `limit` bytes) as `T`; `what` names what it
/// should be ("a checkpoint state"). Every problem is a `FileError` of one line in words: "is
/// empty", "is not JSON", "is not a checkpoint state: epoch: missing key". (Foundation's parser
/// stops at 512 levels of nesting by itself, with an error, not a crash.)
public func decodeJSON<T: Decodable>(_ type: T.Type, from path: String, what: String, limit: Int = 64 << 20) throws -> T {
    let bytes = try readFile(path, limit: limit)
    guard !bytes.isEmpty else { throw FileError(path, "is empty") }
    return try decodeJSON(type, bytes: bytes, file: path, what: what)
}

/// `decodeJSON` of bytes already read; errors name `file`.
public func decodeJSON<T: Decodable>(_ type: T.Type, bytes: [UInt8], file: String, what: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    do {
        return try decoder.decode(type, from: Data(bytes))
    } catch let e as DecodingError {
        if case .dataCorrupted(let ctx) = e, ctx.codingPath.isEmpty {
            // Foundation's reason ("Unexpected character 'x' around line 1, column 2."), not its error domain and code.
            let reason = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw FileError(file, "is not JSON" + (reason.map { " (\($0.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(120)))" } ?? ""))
        }
        throw FileError(file, "is not \(what): \(describe(e))")
    } catch let e as ConfigError {
        throw FileError(file, "is not \(what): \(e.description)")
    } catch {
        throw FileError(file, "is not \(what): \(error)")
    }
}
