import ArgumentParser

struct AlexNetMP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alexnet-mp",
        abstract: "AlexNet (Krizhevsky, Sutskever, Hinton 2012) on CPUs, one MPI rank per GPU of the paper.",
        discussion: """
        Run under mpirun for one rank per group: mpirun -np 2 alexnet-mp train.
        As root add --allow-run-as-root; with more ranks than cores add --oversubscribe.
        """,
        subcommands: [Train.self, Eval.self, Export.self, Prepare.self, Summary.self, Bench.self, ProfileCommand.self, Simulate.self, Compare.self, Report.self],
        defaultSubcommand: nil)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The run's YAML config.")
    var config: String = "configs/fashion-mnist.yaml"
}

struct ThreadOption: ParsableArguments {
    @Option(name: .long, help: "Cores this rank uses: one thread per local group when it holds several, the rest as BLAS threads (default: the node's cores divided by the ranks on it).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads).") }
    }
}
