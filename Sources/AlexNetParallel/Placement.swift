import AlexNetLayers

/// Where the model runs. The groups (the paper's GPUs) and the replicas (how many equal slices
/// each minibatch is cut into, each slice's gradient computed apart and the slices' gradients
/// summed in replica order) are the model's; the ranks are the launch's. A replica's groups run
/// on 1 rank or on G ranks (one per group); the replicas run in turn on the same ranks, or each
/// on its own ranks. So, supported:
/// - 1 rank: every group of every replica on it (the replicas computed in turn);
/// - G ranks: one group per rank (the replicas computed in turn);
/// - R ranks: one whole replica per rank, every group on it (pure data parallelism);
/// - G×R ranks: one group of one replica per rank.
/// Rank = replica·(ranks per replica) + place in the replica, so that a replica's groups are next
/// to each other (with by-slot mapping, on one node: the exchange-heavy group communicator stays
/// inside a node and only the gradient sums cross). When G = R, G ranks could mean either of the
/// two middle rows: the paper's split (one group per rank) is taken unless `ranksPerReplica` says 1.
public struct Placement: Equatable, Sendable {
    public let groups: Int
    public let replicas: Int
    public let ranks: Int
    public let rank: Int
    /// Ranks per replica (1 or G): the size of the group communicator.
    public let ranksPerReplica: Int

    public init(groups: Int, replicas: Int = 1, ranks: Int, rank: Int, ranksPerReplica wanted: Int? = nil) throws {
        // (ranks per replica, replicas apart) pairs, the paper's split first.
        var layouts: [(perReplica: Int, apart: Int)] = []
        for g in Set([groups, 1]).sorted(by: >) {
            for r in Set([1, replicas]).sorted() where g * r == ranks { layouts.append((g, r)) }
        }
        let model = "\(groups)-group" + (replicas > 1 ? ", \(replicas)-replica" : "")
        guard !layouts.isEmpty else {
            var choices = ["1 rank (every group\(replicas > 1 ? " and replica" : "") on one device)"]
            if groups > 1 {
                let whole = replicas == groups ? "; or, with --ranks-per-replica 1, one whole replica each" : ""
                choices.append("\(groups) ranks (one per group\(replicas > 1 ? ", the replicas in turn" : "")\(whole))")
            }
            if replicas > 1 && replicas != groups { choices.append("\(replicas) ranks (one whole replica each)") }
            if replicas > 1 && groups > 1 { choices.append("\(groups * replicas) ranks (one per group per replica)") }
            throw PlacementError("a \(model) model cannot run on \(ranks) ranks: run it on "
                                 + (choices.count > 1 ? choices.dropLast().joined(separator: ", ") + " or " + choices.last! : choices[0]))
        }
        var layout = layouts[0]
        if let wanted {
            guard let chosen = layouts.first(where: { $0.perReplica == wanted }) else {
                let can = layouts.map { "\($0.perReplica)" }.joined(separator: " or ")
                throw PlacementError("--ranks-per-replica \(wanted): a \(model) model on \(ranks) ranks has \(can) rank\(layouts.count == 1 && layouts[0].perReplica == 1 ? "" : "s") per replica")
            }
            layout = chosen
        }
        self.groups = groups; self.replicas = replicas; self.ranks = ranks; self.rank = rank
        ranksPerReplica = layout.perReplica
    }

    public var groupsPerRank: Int { groups / ranksPerReplica }
    /// The replica this rank computes, when the replicas are apart; nil when it computes them all in turn.
    public var replica: Int? { replicas > 1 && ranks == ranksPerReplica * replicas ? rank / ranksPerReplica : nil }
    /// The replicas this rank computes, in turn, in replica order.
    public var localReplicas: [Int] { replica.map { [$0] } ?? Array(0..<replicas) }
    /// This rank's place within its replica (its rank in the group communicator).
    public var rankInReplica: Int { rank % ranksPerReplica }
    /// The groups this rank holds, in group order.
    public var localGroups: [Int] { groups(ofRank: rank) }
    /// The groups rank `r` holds, in group order.
    public func groups(ofRank r: Int) -> [Int] {
        let i = r % ranksPerReplica
        return Array((i * groupsPerRank)..<((i + 1) * groupsPerRank))
    }
    /// The rank that holds `group` in replica `replica` (replica 0: the one that writes the shards).
    public func rank(of group: Int, replica: Int = 0) -> Int {
        (self.replica == nil ? 0 : replica * ranksPerReplica) + group / groupsPerRank
    }
    /// Whether this rank writes its groups' shards (replica 0's ranks: every replica holds the same weights).
    public var writesShards: Bool { (replica ?? 0) == 0 }
}

public struct PlacementError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The bytes one rank sends in one training step (and receives: every collective here is
/// symmetric), by communicator: the exchanges and the logits' gather go to the ranks of its
/// replica; the gradient sums to the ranks that hold its groups in the other replicas. The
/// profile counts the same bytes as they move (`Profile.bytesPerRank`).
public struct StepTraffic: Equatable, Sendable {
    /// To the other ranks of this rank's replica: all-gathers forward, reduce-scatters backward, the logits.
    public var exchanges = 0
    /// To the other replicas: each layer's gradient sum (a reduce-scatter and an all-gather).
    public var gradientSums = 0

    public init(exchanges: Int, gradientSums: Int) { self.exchanges = exchanges; self.gradientSums = gradientSums }

    /// For rank `placement.rank`, with `batch` images in the whole minibatch.
    public init(spec: ModelSpec, plans: [LayerPlan], placement p: Placement, batch N: Int) {
        let slice = N / p.replicas, peers = p.ranksPerReplica - 1, turns = p.localReplicas.count
        for l in plans where l.exchange {
            let block = 4 * plans[l.index - 1].outputPerImage * slice * p.groupsPerRank
            exchanges += 2 * block * peers * turns
        }
        exchanges += 4 * spec.classes / spec.groups * slice * p.groupsPerRank * peers * turns
        if p.replica != nil {
            for l in plans {
                let block = 4 * BufferPlan.gradientBlock(weights: l.weightsPerGroup, biases: l.outChannels, replicas: p.replicas)
                gradientSums += 2 * block * (p.replicas - 1) * p.groupsPerRank
            }
        }
    }
}
