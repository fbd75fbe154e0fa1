/// Where the model's groups run: the number of groups is the model's, the number of ranks is
/// the launch's. Supported: every group on one rank (1 rank), or one group per rank.
public struct Placement: Equatable, Sendable {
    public let groups: Int
    public let ranks: Int
    public let rank: Int

    public init(groups: Int, ranks: Int, rank: Int) throws {
        guard ranks == 1 || ranks == groups else {
            throw PlacementError(
                "a \(groups)-group model cannot run on \(ranks) ranks: run it on 1 rank (all groups on one device)"
                + (groups > 1 ? " or on \(groups) ranks (one group per device)" : ""))
        }
        self.groups = groups; self.ranks = ranks; self.rank = rank
    }

    public var groupsPerRank: Int { groups / ranks }
    /// The groups this rank holds, in group order.
    public var localGroups: [Int] { Array((rank * groupsPerRank)..<((rank + 1) * groupsPerRank)) }
    /// The groups rank `r` holds, in group order.
    public func groups(ofRank r: Int) -> [Int] { Array((r * groupsPerRank)..<((r + 1) * groupsPerRank)) }
    /// The rank that holds `group`.
    public func rank(of group: Int) -> Int { group / groupsPerRank }
}

public struct PlacementError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
