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

struct AlexNetMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alexnet-mp",
        abstract: "AlexNet (Krizhevsky, Sutskever, Hinton 2012) on CPUs, one MPI rank per GPU of the paper.",
        discussion: """
        Run under mpirun for one rank per group: mpirun -np 2 alexnet-mp train.
        As root add --allow-run-as-root; with more ranks than cores add --oversubscribe.
        """,
        subcommands: [Train.self, Eval.self, Export.self, Prepare.self, Summary.self, Lint.self, Bench.self, ProfileCommand.self, Simulate.self, Compare.self, Report.self, Ablate.self, Calibrate.self],
        defaultSubcommand: nil)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The run's YAML config (default: configs/fashion-mnist.yaml).")
    var config: String?

    /// The config to read.
    var path: String { config ?? "configs/fashion-mnist.yaml" }
}

struct EpochsOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "Epochs (default: the config's train.epochs).") var epochs: Int?

    func validate() throws {
        if let epochs, epochs < 1 || epochs > 100_000 { throw ValidationError("--epochs must be from 1 to 100000, got \(epochs).") }
    }
}

struct ThreadOption: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Cores this rank uses: one thread per local group when it holds several, the rest as BLAS threads (default: the node's cores divided by the ranks on it).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 || threads > 1024 { throw ValidationError("--threads must be from 1 to 1024, got \(threads).") }
    }
}

/// The replicas of the model (the model's: each minibatch cut into R slices whose gradients are
/// summed) and how they are placed on the ranks (the launch's).
struct ReplicaOption: ParsableArguments {
    @Option(parsing: .unconditional, help: "Replicas of the model: each minibatch cut into this many equal slices whose gradients are summed (default: the config's model.replicas, 1). Run on 1 rank, one rank per group, one rank per replica, or groups × replicas ranks.")
    var replicas: Int?
    @Option(name: .customLong("ranks-per-replica"), parsing: .unconditional, help: "1 (each rank a whole replica: pure data parallelism) or the model's groups (the paper's split); needed only when both fit the ranks (default: the paper's split).")
    var ranksPerReplica: Int?

    func validate() throws {
        if let replicas, replicas < 1 || replicas > 1024 { throw ValidationError("--replicas must be from 1 to 1024, got \(replicas).") }
        if let ranksPerReplica, ranksPerReplica < 1 || ranksPerReplica > 1024 {
            throw ValidationError("--ranks-per-replica must be from 1 to 1024, got \(ranksPerReplica).")
        }
    }

    /// The config with --replicas applied, checked again (the minibatch must divide).
    func apply(to config: RunConfig) throws -> RunConfig {
        guard let replicas else { return config }
        var c = config
        c.model.replicas = replicas
        try c.validate()
        return c
    }
}

/// Parses the command line and runs the command. Under mpirun every rank parses the same
/// command line: a mistake in it (and --help) is printed once, by rank 0; every rank exits with
/// the same status.
public func runCommandLine() -> Never {
    do {
        var command = try AlexNetMP.parseAsRoot()
        try command.run()
        exit(0)
    } catch {
        let code = AlexNetMP.exitCode(for: error)
        if let rank = MPICommunicator.rankInEnvironment, rank != 0 { exit(code.rawValue) }
        // A command-line mistake is one line, which says where the usage is; help and errors
        // already printed by the command go the usual way.
        if code == .validationFailure {
            let command = CommandLine.arguments.dropFirst().first { a in AlexNetMP.configuration.subcommands.contains { $0._commandName == a } }
            writeStandardError("alexnet-mp: error: \(AlexNetMP.message(for: error)) (alexnet-mp \(command.map { $0 + " " } ?? "")--help lists the options)\n")
            exit(code.rawValue)
        }
        AlexNetMP.exit(withError: error)
    }
}
