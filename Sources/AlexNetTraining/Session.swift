import AlexNetCore
import AlexNetLayers
import AlexNetParallel
import AlexNetSimulator
import Foundation

/// A config on this placement: the checks that come before any allocation, the BLAS threads
/// of the thread plan, and the network built for this rank. Every command that computes
/// (`train`, `eval`, `bench`, `profile`, `export`, `report`) builds its network here, so every one
/// refuses a batch that cannot fit in memory the same way, with the figure and the limit.
public final class Session {
    public let config: RunConfig
    public let comm: Communicator
    public let placement: Placement
    public let threads: ThreadPlan
    public let network: Network
    /// Cores this rank uses (threads of its groups × BLAS threads of each).
    public let cores: Int

    /// `batch` replaces the config's minibatch (bench, profile, export); `deviceMemory` also
    /// refuses a placement whose modelled device (the config's `device:`) would run out;
    /// `ranksPerReplica` picks the placement when two fit the ranks (see `Placement`).
    public init(config: RunConfig, comm: Communicator, cores: Int, batch: Int? = nil, deviceMemory: Bool = false,
                ranksPerReplica: Int? = nil) throws {
        self.config = config; self.comm = comm; self.cores = cores
        let spec = config.model
        placement = try Placement(groups: spec.groups, replicas: spec.replicas, ranks: comm.size, rank: comm.rank,
                                  ranksPerReplica: ranksPerReplica)
        let N = batch ?? config.train.batch
        try checkRange("the minibatch (train.batch or --batch)", N, 1...TrainConfig.largestBatch)
        let slice = try Session.replicaSlice(of: N, replicas: spec.replicas)
        if deviceMemory { try checkDeviceMemory(spec, batch: slice, device: config.device, devices: placement.ranksPerReplica) }
        let plans = try spec.plan()
        // The threads first: oneDNN's convolutions, which the plan sizes, are made for them.
        threads = ThreadPlan(cores: cores, localGroups: placement.groupsPerRank, localReplicas: placement.localReplicas.count)
        BLAS.setThreads(threads.blasThreads)
        let buffers = BufferPlan(spec: spec, plans: plans, batch: slice, localGroups: placement.localGroups,
                                 ranks: placement.ranksPerReplica, replicas: spec.replicas, replicasApart: placement.replica != nil)
        try Session.checkHostMemory(needed: buffers.bytes, batch: N, comm: comm)
        network = try Network(spec: spec, batch: slice, placement: placement, comm: comm, seed: config.train.seed,
                              concurrentGroups: threads.concurrentGroups)
    }

    /// The images of one replica's slice of a minibatch of `N`: one forward pass computes one
    /// slice. Refused when the slices would not be equal.
    public static func replicaSlice(of N: Int, replicas: Int) throws -> Int {
        guard N % replicas == 0 else {
            throw ConfigError("the minibatch: \(N) does not divide into \(replicas) replicas (model.replicas)")
        }
        return N / replicas
    }

    /// Refuses, on every rank alike, a network that would not fit in the memory this rank can
    /// have: what the machine has available, shared by the ranks on it. Every rank learns every
    /// rank's figures, so they all stop with the same line (naming the worst rank).
    static func checkHostMemory(needed: Int, batch: Int, comm: Communicator) throws {
        let limit = Double(availableMemoryBytes() ?? Int.max) / Double(max(1, MPICommunicator.localRanks))
        let needs = try comm.allgather(Double(needed)), limits = try comm.allgather(limit)
        guard let worst = needs.indices.filter({ needs[$0] > limits[$0] }).max(by: { needs[$0] / limits[$0] < needs[$1] / limits[$1] }) else { return }
        let who = comm.size > 1 ? "rank \(worst)" : "this process"
        throw ConfigError("memory: a minibatch of \(batch) needs \(byteCount(Int(needs[worst]))) of buffers on \(who), more than the \(byteCount(Int(limits[worst]))) it can have (the memory available on its machine, shared by the ranks there); use a smaller train.batch or --batch")
    }
}

/// Bytes of memory available to new allocations on this machine (MemAvailable), or nil.
public func availableMemoryBytes() -> Int? {
    guard let text = try? readText("/proc/meminfo", limit: 1 << 20) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        return kb.map { $0 * 1024 }
    }
    return nil
}
