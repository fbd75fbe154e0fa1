/// How a rank spends its cores: threads that each run one local group, and BLAS threads per group.
///
/// A group always computes with the same number of BLAS threads wherever it is placed, because
/// OpenBLAS sums in a different order with a different thread count (the last bits of sgemm
/// change, and SGD amplifies them within a few dozen steps). So with `cores` per rank:
/// - one group per rank: that group gets `cores` BLAS threads;
/// - G groups on one rank with at least G cores: one thread per group, each with cores/G BLAS
///   threads — exactly what G ranks on the same cores would do, so both placements give
///   bit-identical results, and the non-BLAS work (im2col, LRN, pooling) runs in parallel too.
/// - fewer cores than local groups: the groups run one after another with all the cores.
public struct ThreadPlan: Equatable, Sendable {
    public let concurrentGroups: Bool
    public let blasThreads: Int

    public init(cores: Int, localGroups: Int) {
        let cores = max(1, cores)
        if localGroups > 1 && cores >= localGroups {
            concurrentGroups = true
            blasThreads = cores / localGroups
        } else {
            concurrentGroups = false
            blasThreads = cores
        }
    }
}
