import AlexNetCommands
import AlexNetCore

// OpenBLAS reads OPENBLAS_CORETYPE when it loads: pick the right kernels before anything else
// (and before MPI starts), re-executing this binary if needed.
BLAS.reexecWithBestKernelsIfNeeded()
runCommandLine()
