// swift-tools-version:5.10
// alexnet-mp: AlexNet (Krizhevsky, Sutskever, Hinton 2012) trained on CPUs, one MPI rank per "GPU".
// One module per concept; dependencies point one way (docs/ARCHITECTURE.md draws the graph):
// C edges -> Core -> Layers, Data -> Parallel -> Formats, Simulator -> Training -> Report -> Commands -> alexnet-mp.
import PackageDescription

let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "alexnet-mp",
    products: [
        .executable(name: "alexnet-mp", targets: ["alexnet-mp"]),
        // Preloaded by `bench` measurements to count heap allocations per step (never linked in).
        .library(name: "AllocCounter", type: .dynamic, targets: ["CAllocCounter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // MARK: C at the edges (system libraries found through pkg-config)
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // libjpeg-turbo and libpng through a C shim: libjpeg's error_exit must longjmp, which Swift cannot.
        .target(name: "CImage", path: "Sources/CImage",
                linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),

        .target(name: "CAllocCounter", path: "Sources/CAllocCounter"),
        // oneDNN's direct convolutions (libdnnl-dev, built on OpenMP): the forward pass and the
        // input gradient of the convolutions, 1.1-2x faster than im2col + OpenBLAS at our shapes.
        .target(name: "CDNNL", path: "Sources/CDNNL", cSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]),
        // Vector kernels for the element-wise loops; -fno-math-errno lets sqrtf vectorise, -fno-builtin
        // keeps short row copies inline instead of a memcpy/memset call per row.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fno-builtin"])]),

        // MARK: The library modules, lowest first
        .target(name: "AlexNetCore", dependencies: ["CBLAS", "CZlib", "CKernels", "CDNNL"], swiftSettings: release),
        .target(name: "AlexNetLayers", dependencies: ["AlexNetCore", "CKernels", "CDNNL"], swiftSettings: release),
        .target(name: "AlexNetData", dependencies: ["AlexNetCore", "CImage"], swiftSettings: release),
        .target(name: "AlexNetParallel", dependencies: ["AlexNetCore", "AlexNetLayers", "CMPI"], swiftSettings: release),
        .target(name: "AlexNetFormats", dependencies: ["AlexNetCore", "AlexNetLayers"], swiftSettings: release),
        .target(name: "AlexNetSimulator", dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetParallel"], swiftSettings: release),
        .target(name: "AlexNetTraining",
                dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetData", "AlexNetParallel", "AlexNetFormats",
                               "AlexNetSimulator", .product(name: "Yams", package: "Yams")],
                swiftSettings: release),
        .target(name: "AlexNetReport",
                dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetData", "AlexNetParallel", "AlexNetFormats",
                               "AlexNetSimulator", "AlexNetTraining", "CZlib"],
                swiftSettings: release),

        // MARK: The command tree
        .target(name: "AlexNetCommands",
                dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetData", "AlexNetParallel", "AlexNetFormats",
                               "AlexNetSimulator", "AlexNetTraining", "AlexNetReport",
                               .product(name: "ArgumentParser", package: "swift-argument-parser")],
                swiftSettings: release),
        .executableTarget(name: "alexnet-mp", dependencies: ["AlexNetCommands", "AlexNetCore", "AlexNetParallel"],
                          swiftSettings: release),

        // MARK: Tests: one bundle per module; IntegrationTests start the release binary under mpirun
        .target(name: "_TestSupport", dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetParallel"], path: "Tests/_TestSupport"),
        .testTarget(name: "AlexNetCoreTests", dependencies: ["AlexNetCore", "_TestSupport"]),
        .testTarget(name: "AlexNetLayersTests", dependencies: ["AlexNetLayers", "_TestSupport"]),
        .testTarget(name: "AlexNetDataTests", dependencies: ["AlexNetData", "_TestSupport"]),
        .testTarget(name: "AlexNetParallelTests", dependencies: ["AlexNetParallel", "_TestSupport"]),
        .testTarget(name: "AlexNetFormatsTests", dependencies: ["AlexNetFormats", "AlexNetParallel", "_TestSupport"]),
        .testTarget(name: "AlexNetSimulatorTests", dependencies: ["AlexNetSimulator", "_TestSupport"]),
        .testTarget(name: "AlexNetTrainingTests", dependencies: ["AlexNetTraining", "_TestSupport"]),
        .testTarget(name: "AlexNetReportTests", dependencies: ["AlexNetReport", "AlexNetTraining", "_TestSupport"]),
        .testTarget(name: "AlexNetCommandsTests", dependencies: ["AlexNetCommands", "AlexNetTraining", "_TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["_TestSupport", "AlexNetData"], exclude: ["Fixtures"]),
    ]
)
