import AlexNetCore
import AlexNetData
import AlexNetFormats
import AlexNetLayers
import AlexNetParallel
import AlexNetReport
import AlexNetSimulator
import AlexNetTraining
import ArgumentParser
import Foundation

/// Where this process runs: its communicator (MPI under mpirun, in-process otherwise), its
/// console, and how errors end the job.
final class Launch {
    let comm: Communicator
    let console: Console
    private let mpi: MPICommunicator?
    /// Cores this rank may use: --threads, or the node's cores divided by the ranks on it.
    let cores: Int

    init(threads: Int?) throws {
        if MPICommunicator.launchedByMPI {
            let m = try MPICommunicator()
            mpi = m; comm = m
        } else {
            mpi = nil; comm = LocalCommunicator()
        }
        console = Console(rank: comm.rank)
        cores = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, MPICommunicator.localRanks))
        BLAS.setThreads(cores)
    }

    /// Checks the output files a command will write before any work: every rank checks the same
    /// paths, so a refusal is met alike (printed once).
    func checkOutputs(_ outputs: [(path: String?, kind: OutputFile.Kind)]) throws {
        for o in outputs {
            guard let path = o.path else { continue }
            do { try OutputFile.check(path, as: o.kind) } catch let e as FileError { throw ConfigError(e.description) }
        }
    }

    /// The config's network on this placement (see `Session`: the memory checks come first).
    func session(_ config: RunConfig, batch: Int? = nil, deviceMemory: Bool = false, ranksPerReplica: Int? = nil) throws -> Session {
        try Session(config: config, comm: comm, cores: cores, batch: batch, deviceMemory: deviceMemory, ranksPerReplica: ranksPerReplica)
    }

    /// The first log line: which BLAS kernels run, and what sgemm reaches with them here.
    func announceBLAS() {
        let gflops = BLAS.measureSgemm(n: 512, repeats: 3)
        console.print(String(format: "alexnet-mp: %@, %d core%@ per rank, %d rank%@; sgemm 512³ %.0f GFLOP/s with %d thread%@; %@ element-wise kernels; %@",
                             BLAS.kernelsDescription,
                             cores, cores == 1 ? "" : "s", comm.size, comm.size == 1 ? "" : "s", gflops,
                             BLAS.threads, BLAS.threads == 1 ? "" : "s", ElementwiseKernels.isa,
                             ConvolutionAlgorithm.chosen.description))
    }

    func placement(groups: Int) throws -> Placement {
        try Placement(groups: groups, ranks: comm.size, rank: comm.rank)
    }

    func finish() { mpi?.finalize() }

    /// Ends MPI after an error that every rank met alike. Every rank is then on its way here, but
    /// should one not be (an error taken for shared that was not), MPI_Finalize would wait for it
    /// forever: after `seconds` the process exits without it, and mpirun ends the job.
    func finishAfterSharedError(within seconds: Double = 30) {
        guard let mpi else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { _exit(1) }
        mpi.finalize()
    }

    /// Runs `body`; on an error prints one line and ends every rank with a non-zero status.
    /// Errors that every rank meets alike (a bad config, data file or placement; a
    /// `TrainingError` marked `onEveryRank`, such as a run with no checkpoint to resume) are
    /// printed once, by rank 0, and every rank ends MPI and exits 1. Any other error is printed by
    /// the rank that met it, and the job is aborted so that no rank waits forever in a collective.
    static func run(threads: Int?, _ body: (Launch) throws -> Void) throws {
        let launch: Launch
        do { launch = try Launch(threads: threads) } catch {
            writeStandardError("alexnet-mp: error: \(error)\n")
            throw ExitCode(1)
        }
        do {
            try body(launch)
            launch.finish()
        } catch let e as PeerFailure {
            // Another rank met an error and prints it; every rank agreed to stop (`collectively`).
            _ = e
            launch.finishAfterSharedError()
            throw ExitCode(1)
        } catch let e as RankFailure {
            // Agreed by every rank: a failing rank prints its line (once in all when every rank
            // met the same kind of error that every rank meets alike); nobody needs MPI_Abort.
            let alike = e.failing.count == e.ranks && isAlike(e.error)
            if !alike || e.rank == 0 {
                writeStandardError("alexnet-mp: error: \(alike || e.ranks == 1 ? "" : "rank \(e.rank): ")\(e.error)\n")
            }
            launch.finishAfterSharedError()
            throw ExitCode(1)
        } catch {
            if isAlike(error) {
                if launch.comm.rank == 0 { writeStandardError("alexnet-mp: error: \(error)\n") }
                launch.finishAfterSharedError()
                throw ExitCode(1)
            }
            let who = launch.comm.size > 1 ? "rank \(launch.comm.rank): " : ""
            writeStandardError("alexnet-mp: error: \(who)\(error)\n")
            if launch.comm.size > 1 { launch.comm.abort(code: 1) }
            throw ExitCode(1)
        }
    }
}

/// Errors that every rank meets alike (a bad config, data file or placement; a `TrainingError`
/// marked `onEveryRank`): printed once, by rank 0.
func isAlike(_ error: Error) -> Bool {
    error is ConfigError || error is PlacementError || error is DataError || error is ModelSpecError
        || (error as? TrainingError)?.onEveryRank == true
}

/// Runs a command that needs no MPI (summary, compare, simulate): an error is one line and exit 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch {
        writeStandardError("alexnet-mp: error: \(error)\n")
        throw ExitCode(1)
    }
}
