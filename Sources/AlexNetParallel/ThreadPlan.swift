/// How a rank spends its cores: threads that each run one local group, and BLAS threads per group.
///
/// A group always computes with the same number of BLAS threads wherever it is placed, because
/// OpenBLAS sums in a different order with a different thread count (the last bits of sgemm
/// change, and SGD amplifies them within a few dozen steps). A device is one group of one
/// replica; with `cores` per rank and the rank's devices (local groups × local replicas):
/// - one device per rank: its group gets `cores` BLAS threads;
/// - G groups on one rank with at least G cores: one thread per group, each with
///   cores/(G·replicas in turn) BLAS threads — what the ranks of the other placements on the same
///   cores would do, so every placement gives bit-identical results, and the non-BLAS work
///   (im2col, LRN, pooling) runs in parallel too;
/// - replicas computed in turn share the cores as their ranks would (so one replica at a time
///   leaves some idle: the placement with a rank per replica is the fast one);
/// - fewer cores than local groups: the groups run one after another with all the cores.
public struct ThreadPlan: Equatable, Sendable {
    public let concurrentGroups: Bool
    public let blasThreads: Int
    /// The cores the rank was given.
    public let cores: Int

    public init(cores: Int, localGroups: Int, localReplicas: Int = 1) {
        let cores = max(1, cores), replicas = max(1, localReplicas)
        self.cores = cores
        if localGroups > 1 && cores >= localGroups {
            concurrentGroups = true
            blasThreads = max(1, cores / (localGroups * replicas))
        } else {
            concurrentGroups = false
            blasThreads = max(1, cores / replicas)
        }
    }
}
