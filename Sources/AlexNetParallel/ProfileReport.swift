import AlexNetCore
import AlexNetLayers
import Foundation

/// Every rank's profile, gathered on rank 0: what `profile` prints and `train --profile` writes.
public struct ProfileReport: Codable, Sendable {
    public var config: String
    public var batch: Int
    public var groups: Int
    public var ranks: [Profile.Record]
    /// Same-size MPI_Allgather timed alone in the same run: bytes per rank → seconds per call.
    public var allgatherAlone: [AloneTiming]

    public struct AloneTiming: Codable, Sendable {
        public var blockBytes: Int
        public var secondsPerCall: Double
    }

    /// Gathers `profile` from every rank onto rank 0 (nil elsewhere).
    public static func gather(_ profile: Profile, comm: Communicator, config: String, batch: Int, groups: Int,
                              alone: [AloneTiming]) throws -> ProfileReport? {
        let mine = try JSONEncoder().encode(profile.record)
        let all = try comm.gather(Array(mine), root: 0)
        guard comm.rank == 0 else { return nil }
        let records = try all.map { try JSONDecoder().decode(Profile.Record.self, from: Data($0)) }
        return ProfileReport(config: config, batch: batch, groups: groups, ranks: records, allgatherAlone: alone)
    }

    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }
}

/// Times `MPI_Allgather` alone for each block size (bytes per rank); median of `repeats` calls.
public func timeAllgatherAlone(comm: Communicator, blockBytes: [Int], repeats: Int = 20) throws -> [ProfileReport.AloneTiming] {
    var out: [ProfileReport.AloneTiming] = []
    for b in Set(blockBytes).sorted() where b > 0 {
        let buffer = Tensor("allgather.alone", [b / 4 * comm.size])
        var samples: [Double] = []
        try comm.barrier()
        for _ in 0..<repeats {
            let t = now()
            try comm.allgatherInPlace(buffer.data, countPerRank: b / 4)
            samples.append(now() - t)
        }
        var med = [samples.sorted()[repeats / 2]]
        try comm.allreduceSum(&med)  // the mean over ranks of each rank's median
        out.append(.init(blockBytes: b, secondsPerCall: med[0] / Double(comm.size)))
    }
    return out
}

/// Writes every rank's trace spans as one Chrome trace-event JSON file (rank 0 writes it).
public func writeTrace(_ profile: Profile, comm: Communicator, label: String, to path: String) throws {
    let mine = try JSONSerialization.data(withJSONObject: profile.traceEvents(rank: comm.rank, label: label))
    let all = try comm.gather(Array(mine), root: 0)
    guard comm.rank == 0 else { return }
    var events: [Any] = []
    for part in all {
        if let list = try JSONSerialization.jsonObject(with: Data(part)) as? [Any] { events += list }
    }
    let doc: [String: Any] = ["traceEvents": events, "displayTimeUnit": "ms",
                              "otherData": ["tool": "alexnet-mp", "ranks": comm.size]]
    let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
    try writeAtomically(Array(data), to: path)
}
