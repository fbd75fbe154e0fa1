import AlexNetCore
import AlexNetParallel
import Foundation

// OpenBLAS reads OPENBLAS_CORETYPE when it loads: pick the right kernels before anything else
// (and before MPI starts), re-executing this binary if needed.
BLAS.reexecWithBestKernelsIfNeeded()

// Under mpirun every rank parses the same command line: a mistake in it (and --help) is printed
// once, by rank 0; every rank exits with the same status.
do {
    var command = try AlexNetMP.parseAsRoot()
    try command.run()
} catch {
    if let rank = MPICommunicator.rankInEnvironment, rank != 0 { exit(AlexNetMP.exitCode(for: error).rawValue) }
    AlexNetMP.exit(withError: error)
}
