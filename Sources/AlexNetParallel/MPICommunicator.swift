import CMPI
import Foundation

/// The MPI communicator: one rank per device. The only file that imports `CMPI`.
/// Every call is checked; a failure names the call and aborts the whole job, so no rank is
/// left waiting in a collective.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm?
    /// The MPI communicator, for the collectives of this file.
    fileprivate var handle: MPI_Comm? { comm }
    /// Whether this object made the communicator (a split) and frees it.
    private let owned: Bool

    /// Starts MPI. Call once, after any re-exec and before anything else talks to MPI.
    public init() throws {
        comm = cmpi_comm_world()
        owned = false
        var provided: Int32 = 0
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        guard MPI_Init_thread(&argc, &argv, Int32(MPI_THREAD_FUNNELED), &provided) == cmpi_success() else {
            throw CommunicatorError("MPI_Init_thread failed")
        }
        MPI_Comm_set_errhandler(comm, cmpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r); size = Int(s)
    }

    private init(split: MPI_Comm?) {
        comm = split
        owned = true
        MPI_Comm_set_errhandler(comm, cmpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r); size = Int(s)
    }

    deinit {
        if owned { var c = comm; MPI_Comm_free(&c) }
    }

    public func split(color: Int, key: Int) throws -> Communicator {
        var out: MPI_Comm?
        try check(MPI_Comm_split(comm, Int32(color), Int32(key), &out), "MPI_Comm_split")
        return MPICommunicator(split: out)
    }

    /// True when this process was started by mpirun (Open MPI sets these variables).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// This process's rank as mpirun set it in the environment (nil outside mpirun): known
    /// before MPI starts, e.g. to print a command-line mistake once.
    public static var rankInEnvironment: Int? {
        let env = ProcessInfo.processInfo.environment
        return (env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"]).flatMap { Int($0) }
    }

    /// Ranks of this job on this node (for sharing the cores between them), 1 outside mpirun.
    public static var localRanks: Int {
        Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
    }

    fileprivate func check(_ code: Int32, _ call: String) throws {
        guard code != cmpi_success() else { return }
        var len: Int32 = 0
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        MPI_Error_string(code, &text, &len)
        throw CommunicatorError("rank \(rank): \(call) failed: \(String(cString: text))")
    }

    public func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) throws {
        try check(MPI_Allgather(cmpi_in_place(), 0, cmpi_float(), buffer, Int32(countPerRank), cmpi_float(), comm), "MPI_Allgather")
    }

    public func makeReduceScatter(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                                  scratch: UnsafeMutablePointer<Float>?, tag: Int) -> ReduceScatter {
        precondition(size == 1 || scratch != nil, "a reduce-scatter over several ranks needs scratch space")
        return MPIReduceScatter(self, send: send, recv: recv, count: countPerRank, scratch: scratch, tag: Int32(tag))
    }

    public func anyRank(_ flag: Bool) throws -> Bool {
        var v: Int32 = flag ? 1 : 0
        try check(MPI_Allreduce(cmpi_in_place(), &v, 1, cmpi_int32(), cmpi_op_max(), comm), "MPI_Allreduce")
        return v != 0
    }

    public func allgather(_ value: Double) throws -> [Double] {
        var mine = value
        var all = [Double](repeating: 0, count: size)
        try check(MPI_Allgather(&mine, 1, cmpi_double(), &all, 1, cmpi_double(), comm), "MPI_Allgather")
        return all
    }

    public func allreduceSum(_ values: inout [Double]) throws {
        let n = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { buf in
            try check(MPI_Allreduce(cmpi_in_place(), buf.baseAddress, n, cmpi_double(), cmpi_op_sum(), comm), "MPI_Allreduce")
        }
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        var n = Int64(bytes.count)
        try check(MPI_Bcast(&n, 1, cmpi_int64(), Int32(root), comm), "MPI_Bcast")
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(n)) }
        try bytes.withUnsafeMutableBytes { buf in
            try check(MPI_Bcast(buf.baseAddress, Int32(n), cmpi_byte(), Int32(root), comm), "MPI_Bcast")
        }
    }

    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        var mine = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: size)
        try check(MPI_Gather(&mine, 1, cmpi_int32(), &counts, 1, cmpi_int32(), Int32(root), comm), "MPI_Gather")
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        let total = rank == root ? Int(counts.reduce(0, +)) : 0
        var all = [UInt8](repeating: 0, count: max(total, 1))
        try bytes.withUnsafeBytes { send in
            try check(MPI_Gatherv(send.baseAddress, mine, cmpi_byte(), &all, counts, offsets, cmpi_byte(), Int32(root), comm), "MPI_Gatherv")
        }
        guard rank == root else { return [] }
        return (0..<size).map { Array(all[Int(offsets[$0])..<Int(offsets[$0] + counts[$0])]) }
    }

    public func barrier() throws { try check(MPI_Barrier(comm), "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    public func finalize() { MPI_Finalize() }
}

/// Point to point rather than `MPI_Reduce_scatter_block`: that call blocks (nothing to compute
/// while it runs), allocates temporary buffers inside Open MPI on every call, and leaves the
/// order of the sum to the library. Here each rank receives the other ranks' blocks into
/// `scratch` while it computes, then adds them in rank order. The requests are allocated once,
/// so a step allocates nothing, and each reduce-scatter has its own: several may be in flight.
final class MPIReduceScatter: ReduceScatter {
    private unowned let mpi: MPICommunicator
    private let send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, count: Int
    private let scratch: UnsafeMutablePointer<Float>?
    private let tag: Int32
    private let requests: UnsafeMutablePointer<MPI_Request?>
    private var inFlight = false

    init(_ mpi: MPICommunicator, send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, count: Int,
         scratch: UnsafeMutablePointer<Float>?, tag: Int32) {
        self.mpi = mpi; self.send = send; self.recv = recv; self.count = count; self.scratch = scratch; self.tag = tag
        requests = .allocate(capacity: max(1, 2 * (mpi.size - 1)))
        requests.initialize(repeating: nil, count: max(1, 2 * (mpi.size - 1)))
    }

    deinit { requests.deallocate() }

    func start() throws -> PendingReduceScatter {
        precondition(!inFlight, "this reduce-scatter is already under way")
        let n = Int32(count)
        var k = 0
        for r in 0..<mpi.size where r != mpi.rank {
            let slot = r < mpi.rank ? r : r - 1
            try mpi.check(MPI_Irecv(scratch! + slot * count, n, cmpi_float(), Int32(r), tag, mpi.handle, requests + k), "MPI_Irecv")
            try mpi.check(MPI_Isend(send + r * count, n, cmpi_float(), Int32(r), tag, mpi.handle, requests + k + 1), "MPI_Isend")
            k += 2
        }
        inFlight = true
        return PendingReduceScatter(self)
    }

    func finish() throws {
        guard inFlight else { return }
        inFlight = false
        try mpi.check(MPI_Waitall(Int32(2 * (mpi.size - 1)), requests, cmpi_statuses_ignore()), "MPI_Waitall")
        // recv = block 0 + block 1 + … in rank order; this rank's own block comes from `send`.
        func block(_ r: Int) -> UnsafePointer<Float> {
            r == mpi.rank ? send + mpi.rank * count : UnsafePointer(scratch! + (r < mpi.rank ? r : r - 1) * count)
        }
        recv.update(from: block(0), count: count)
        for r in 1..<mpi.size {
            let b = block(r)
            for i in 0..<count { recv[i] += b[i] }
        }
    }
}
