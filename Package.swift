// swift-tools-version:5.10
// alexnet-mp: AlexNet (Krizhevsky, Sutskever, Hinton 2012) trained on CPUs, one MPI rank per "GPU".
// Dependencies point one way: C edges -> Core -> Layers -> Parallel -> Training -> Report -> CLI; Data depends on Core only.
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
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
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
        // Vector kernels for the element-wise loops; -fno-math-errno lets sqrtf vectorise, -fno-builtin
        // keeps short row copies inline instead of a memcpy/memset call per row.
        .target(name: "CKernels", path: "Sources/CKernels",
                cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fno-builtin"])]),

        // MARK: The library layers
        .target(name: "AlexNetCore", dependencies: ["CBLAS", "CZlib", "CKernels"], swiftSettings: release),
        .target(name: "AlexNetLayers", dependencies: ["AlexNetCore", "CKernels"], swiftSettings: release),
        .target(name: "AlexNetParallel", dependencies: ["AlexNetCore", "AlexNetLayers", "CMPI"], swiftSettings: release),
        .target(name: "AlexNetData", dependencies: ["AlexNetCore", "CImage"], swiftSettings: release),
        .target(name: "AlexNetTraining",
                dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetParallel", "AlexNetData",
                               .product(name: "Yams", package: "Yams"),
                               .product(name: "Logging", package: "swift-log")],
                swiftSettings: release),
        .target(name: "AlexNetReport",
                dependencies: ["AlexNetCore", "AlexNetLayers", "AlexNetParallel", "AlexNetData", "AlexNetTraining", "CZlib"],
                swiftSettings: release),

        // MARK: The command tree
        .executableTarget(name: "alexnet-mp",
                          dependencies: ["AlexNetTraining", "AlexNetReport",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: release),

        // MARK: Tests
        .target(name: "_TestSupport", dependencies: ["AlexNetCore"], path: "Tests/_TestSupport"),
        .testTarget(name: "AlexNetCoreTests", dependencies: ["AlexNetCore", "_TestSupport"]),
        .testTarget(name: "AlexNetLayersTests", dependencies: ["AlexNetLayers", "_TestSupport"]),
        .testTarget(name: "AlexNetDataTests", dependencies: ["AlexNetData", "_TestSupport"]),
        .testTarget(name: "AlexNetTrainingTests", dependencies: ["AlexNetTraining", "_TestSupport"]),
        .testTarget(name: "AlexNetReportTests", dependencies: ["AlexNetReport", "AlexNetTraining", "_TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["_TestSupport", "AlexNetData"], exclude: ["Fixtures"]),
    ]
)
