import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetSimulator
import Foundation
import Yams

/// A run's configuration: the YAML file, one section per concept, each decoded strictly by the
/// type that owns it (`ModelSpec`, `DataConfig`, `TrainConfig`, `DeviceProfile`). Unknown keys,
/// duplicate keys, wrong types and values out of range are refused before any work starts, in
/// one line that names the file and the key.
public struct RunConfig: Codable, Equatable, Sendable {
    /// The run's name: the start of its directory's name (`runs/<name>-<time>`).
    public var name: String
    public var model: ModelSpec
    public var data: DataConfig
    public var train: TrainConfig
    /// The device each rank plays, for `simulate` and the memory check (default: a GTX 580 3 GB).
    public var device: DeviceProfile
    /// The departures from the paper this config means, by id (`Departure.ID`), each with a
    /// one-line reason: `Fidelity` reports them as declared instead of refusing or warning.
    public var departures: [String: String]

    enum CodingKeys: String, CodingKey, CaseIterable { case name, model, data, train, device, departures }
    public init(from decoder: Decoder) throws {
        let c = try strictContainer(decoder, CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        model = try c.decode(ModelSpec.self, forKey: .model)
        data = try c.decode(DataConfig.self, forKey: .data)
        train = try c.decodeIfPresent(TrainConfig.self, forKey: .train) ?? TrainConfig()
        device = try c.decodeIfPresent(DeviceProfile.self, forKey: .device) ?? DeviceProfile()
        departures = try c.decodeIfPresent([String: String].self, forKey: .departures) ?? [:]
    }

    /// The sections in order; `departures` only when there are some, sorted by id.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(model, forKey: .model)
        try c.encode(data, forKey: .data)
        try c.encode(train, forKey: .train)
        try c.encode(device, forKey: .device)
        guard !departures.isEmpty else { return }
        var d = c.nestedContainer(keyedBy: AnyKey.self, forKey: .departures)
        for (id, reason) in departures.sorted(by: { $0.key < $1.key }) { try d.encode(reason, forKey: AnyKey(stringValue: id)) }
    }

    /// The largest config file read (a config is a few KiB).
    public static let largestFile = 1 << 20

    /// Reads and checks a config file: a regular file of UTF-8 text of at most 1 MiB.
    public static func load(_ path: String) throws -> RunConfig {
        let text: String
        do { text = try readText(path, limit: largestFile, allowEmpty: false) } catch let e as FileError {
            throw ConfigError("config \(e.path): \(e.problem)")
        }
        return try parse(text, file: path)
    }

    /// Parses and checks a config's text (from a file, or an exported model's metadata).
    public static func parse(_ text: String, file: String) throws -> RunConfig {
        func fail(_ problem: String) -> ConfigError { ConfigError("config \(file): \(problem)") }
        let root = try composeBounded(text, fail: fail)
        guard let root, case .mapping(let top) = root else {
            throw fail(root == nil ? "is empty (no sections)" : "is not a mapping of sections (name, model, data, train, device, departures)")
        }
        try refuseDuplicateKeys(.mapping(top), path: []).map { throw fail($0) }
        // The sections' defaults filled in (unknown keys refused), then Swift's own decoding.
        let config = try decodeFilled(RunConfig.self, fail: fail) {
            var filled = Node.mapping(top)
            for section in sections { filled = try section.fill(filled, at: section.path[...]) }
            return filled
        }
        do { try config.validate() } catch { throw fail("\(error)") }
        return config
    }

    /// A section whose keys take their defaults from its type (written once, as the stored
    /// properties' initial values): a config gives only what differs. `fill` refuses a key the
    /// type does not have and adds every key the config left out, so the type decodes with
    /// Swift's synthesized `Decodable`.
    struct Section {
        let path: [String]
        let defaults: Node.Mapping
        let required: Set<String>
        /// Keys whose default is nothing (an optional property the defaults do not encode).
        let optional: Set<String>

        init<T: Encodable>(_ path: [String], _ defaults: T, required: Set<String> = [], optional: Set<String> = []) {
            self.path = path
            guard let text = try? YAMLEncoder().encode(defaults), case .mapping(let m)? = try? Yams.compose(yaml: text) else {
                preconditionFailure("the defaults of \(path.joined(separator: ".")) do not encode as a mapping")
            }
            self.defaults = m; self.required = required; self.optional = optional
        }

        func fill(_ node: Node, at rest: ArraySlice<String>) throws -> Node {
            guard case .mapping(var m) = node else { return node }   // not a mapping: decoding says what it expected
            if let next = rest.first {
                guard let child = m[next] else { return node }        // the section is left out: its type's default
                m[next] = try fill(child, at: rest.dropFirst())
                return .mapping(m)
            }
            let known = defaults.compactMap { $0.key.string } + optional.sorted()
            for (k, _) in m where !known.contains(k.string ?? "") {
                throw ConfigError("\((path + [k.string ?? "?"]).joined(separator: ".")): unknown key (expected one of: \(known.joined(separator: ", ")))")
            }
            for (k, v) in defaults where m[k] == nil && !required.contains(k.string ?? "") { m[k] = v }
            return .mapping(m)
        }
    }

    /// The sections filled in from their types' defaults, outer ones first.
    static let sections = [
        Section(["model", "lrn"], LRNParameters.paper), Section(["model", "pool"], PoolParameters.paper),
        Section(["data"], DataConfig(), required: DataConfig.requiredKeys),
        Section(["train"], TrainConfig()), Section(["train", "schedule"], ScheduleConfig()),
        Section(["device"], DeviceProfile(), optional: ["measured"]), Section(["device", "uncertainty"], DeviceUncertainty()),
    ]

    /// Deeper than any config needs (they nest 4 levels), shallow enough for Yams's recursion.
    static let maximumNesting = 32

    /// The first key given twice in one mapping, as "key: given twice (lines A and B)"; nil when none is.
    static func refuseDuplicateKeys(_ node: Node, path: [String]) -> String? {
        switch node {
        case .mapping(let m):
            var seen: [String: Int] = [:]
            for (k, v) in m {
                let name = k.string ?? "?"
                let line = k.mark?.line ?? 0
                let key = (path + [name]).joined(separator: ".")
                if let first = seen[name] { return "\(key): given twice (lines \(first) and \(line)); give each key once" }
                seen[name] = line
                if let inner = refuseDuplicateKeys(v, path: path + [name]) { return inner }
            }
        case .sequence(let s):
            for (i, v) in s.enumerated() {
                if let inner = refuseDuplicateKeys(v, path: path.dropLast() + ["\(path.last ?? "")[\(i)]"]) { return inner }
            }
        default: break
        }
        return nil
    }

    /// A YAML document's node tree, bounded before the recursive parser sees it (Yams builds
    /// nested nodes recursively); nil for an empty document. Errors through `fail`.
    static func composeBounded(_ text: String, fail: (String) -> ConfigError) throws -> Node? {
        do { try checkNesting(text, limit: maximumNesting) } catch let e as ConfigError { throw fail(e.description) }
        do { return try Yams.compose(yaml: text) } catch {
            throw fail("not valid YAML: \(String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " "))")
        }
    }

    /// `T` decoded from the node `fill` returns (a document with its sections' defaults filled
    /// in), every error through `fail` in one line.
    static func decodeFilled<T: Decodable>(_ type: T.Type, fail: (String) -> ConfigError, fill: () throws -> Node) throws -> T {
        do {
            return try YAMLDecoder().decode(T.self, from: try Yams.serialize(node: try fill()))
        } catch let e as ConfigError {
            throw fail(e.description)
        } catch let e as DecodingError {
            // Yams re-wraps errors thrown inside init(from:) as "not valid YAML": unwrap ours.
            if case .dataCorrupted(let ctx) = e, let inner = ctx.underlyingError {
                if let c = inner as? ConfigError { throw fail(c.description) }
                if let d = inner as? DecodingError { throw fail(describe(d)) }
                throw fail("not valid YAML: \(String(describing: inner).split(whereSeparator: \.isNewline).joined(separator: " "))")
            }
            throw fail(describe(e))
        } catch {
            throw fail("not valid YAML: \(String(describing: error).split(whereSeparator: \.isNewline).first ?? "")")
        }
    }

    /// A device file (`simulate --device FILE`, what `calibrate` writes): the keys of a config's
    /// `device:` section at its top level, read and checked as a config's section is.
    public static func loadDevice(_ path: String) throws -> DeviceProfile {
        func fail(_ problem: String) -> ConfigError { ConfigError("device \(path): \(problem)") }
        let text: String
        do { text = try readText(path, limit: 4 * largestFile, allowEmpty: false) } catch let e as FileError { throw fail(e.problem) }
        let root = try composeBounded(text, fail: fail)
        guard let root, case .mapping = root else { throw fail("is not a mapping of device keys (name, peak_tflops, …)") }
        try refuseDuplicateKeys(root, path: ["device"]).map { throw fail($0) }
        let device = try decodeFilled(DeviceProfile.self, fail: fail) {
            var filled = root
            for section in sections where section.path.first == "device" { filled = try section.fill(filled, at: section.path.dropFirst()) }
            return filled
        }
        do { try device.validate() } catch { throw fail("\(error)") }
        return device
    }

    /// A device's figures as a device file (the inverse of `loadDevice`), written by the serializer.
    public static func deviceFile(_ device: DeviceProfile) throws -> String { try YAMLEncoder().encode(device) }

    /// The config as YAML, written by the serializer.
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    public func validate() throws {
        guard RunConfig.isValidName(name) else {
            throw ConfigError("name: '\(name.debugDescription.dropFirst().dropLast())' is not a run name: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-' (it names the run's directory)")
        }
        if model.layers.isEmpty { throw ModelSpecError("model.layers: the model has no layers") }
        _ = try model.plan()
        try train.validate()
        try data.validate()
        try device.validate()
        guard train.batch % model.replicas == 0 else {
            throw ConfigError("train.batch: \(train.batch) does not divide into \(model.replicas) replicas (model.replicas): each replica computes an equal slice")
        }
        guard data.crop == model.inputHeight, data.crop == model.inputWidth else {
            throw ConfigError("data.crop: \(data.crop) but model.input is \(model.inputHeight)×\(model.inputWidth)")
        }
        for (id, reason) in departures.sorted(by: { $0.key < $1.key }) {
            let key = "departures.\(id.debugDescription.dropFirst().dropLast())"
            guard Departure.ID(rawValue: id) != nil else {
                throw ConfigError("\(key): unknown departure (expected one of: \(Departure.ID.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw ConfigError("\(key): give the reason for this departure on one line of text")
            }
        }
    }

    /// A name that is safe as a directory name: no path separators, no `..`, no control characters.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...64).contains(name.count), let first = name.unicodeScalars.first, first != ".", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    /// How the images are prepared before the first layer (for the PyTorch module description).
    public var preprocess: PyTorchExport.Preprocess {
        PyTorchExport.Preprocess(scale: data.scale, meanImage: data.meanImage, crop: data.crop)
    }
}

/// The `train:` section: the paper's SGD and its schedule.
public struct TrainConfig: Codable, Equatable, Sendable {
    public var batch = 128
    public var epochs = 90
    public var seed: UInt64 = 1
    public var lr = 0.01
    public var momentum = 0.9
    public var weightDecay = 0.0005
    public var schedule = ScheduleConfig()

    enum CodingKeys: String, CodingKey { case batch, epochs, seed, lr, momentum, weightDecay = "weight_decay", schedule }
    public init() {}

    /// The largest minibatch accepted (whether it fits in memory is checked where the network is built).
    public static let largestBatch = 1 << 20

    func validate() throws {
        try checkRange("train.batch", batch, 1...TrainConfig.largestBatch)
        try checkRange("train.epochs", epochs, 1...100_000)
        try checkRange("train.lr", lr, above: 0, atMost: 10)
        try checkRange("train.momentum", momentum, from: 0, below: 1)
        try checkRange("train.weight_decay", weightDecay, from: 0, below: 1)
        try schedule.validate()
    }
}

/// `train.schedule`: when the learning rate is divided.
public struct ScheduleConfig: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case plateau, step, fixed }
    public var type: Kind = .plateau
    /// plateau: epochs without a better validation top-1 error before the rate drops.
    public var patience = 3
    /// step: drop every this many epochs.
    public var every = 30
    public var factor = 0.1
    /// The paper divided the rate by 10 three times.
    public var maxDrops = 3

    enum CodingKeys: String, CodingKey { case type, patience, every, factor, maxDrops = "max_drops" }
    public init() {}

    public func validate() throws {
        try checkRange("train.schedule.patience", patience, 1...100_000)
        try checkRange("train.schedule.every", every, 1...100_000)
        try checkRange("train.schedule.factor", factor, above: 0, below: 1)
        try checkRange("train.schedule.max_drops", maxDrops, 0...1000)
    }
}
