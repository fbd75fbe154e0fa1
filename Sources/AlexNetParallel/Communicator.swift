import Foundation

/// How the devices (groups placed on ranks) exchange data. Layers never see it; the network's
/// exchanges call it. A communicator of size 1 runs the same code path as many.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Every rank contributes the `countPerRank` floats already at `buffer + rank·countPerRank`;
    /// afterwards every rank holds all blocks, in rank order (MPI_Allgather with MPI_IN_PLACE).
    func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) throws
    /// A reduce-scatter over buffers fixed once, to be started and finished every step (as MPI's
    /// persistent requests are): summing `send` (`size·countPerRank` floats) over the ranks so that
    /// `recv` holds block `rank` of the sum. `scratch` holds the other ranks' blocks while the sum
    /// is under way (`(size − 1)·countPerRank` floats; nil on one rank). `tag` tells concurrent
    /// ones apart: each may be in flight at the same time as the others.
    func makeReduceScatter(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                           scratch: UnsafeMutablePointer<Float>?, tag: Int) -> ReduceScatter
    /// Element-wise sum over the ranks, result on every rank.
    func allreduceSum(_ values: inout [Double]) throws
    /// Whether `flag` is true on any rank (every rank gets the same answer; allocates nothing).
    func anyRank(_ flag: Bool) throws -> Bool
    /// Every rank's `value`, in rank order, on every rank.
    func allgather(_ value: Double) throws -> [Double]
    /// Rank `root`'s bytes on every rank (lengths may differ before the call).
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
    /// Every rank's bytes, in rank order, on `root` (an empty array elsewhere).
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]
    func barrier() throws
    /// The ranks with the same `color`, ordered by `key` (MPI_Comm_split): a collective.
    func split(color: Int, key: Int) throws -> Communicator
    /// Ends every rank of the job now, with a non-zero exit code.
    func abort(code: Int32) -> Never
}

/// A reduce-scatter over fixed buffers (`Communicator.makeReduceScatter`). `start` returns the
/// handle that finishes it; until then the caller may compute, but must not touch its buffers.
/// The ranks' blocks are added in rank order, so the sum is the same on every placement.
public protocol ReduceScatter: AnyObject {
    func start() throws -> PendingReduceScatter
    /// Waits for the other ranks' blocks and adds them in rank order (called through the handle).
    func finish() throws
}

/// A reduce-scatter in flight: `finish()` waits for it and leaves the sum in place.
public struct PendingReduceScatter {
    let operation: ReduceScatter
    public init(_ operation: ReduceScatter) { self.operation = operation }
    public func finish() throws { try operation.finish() }
}

public struct CommunicatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The in-process communicator: one rank that holds every group.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) {}
    public func makeReduceScatter(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                                  scratch: UnsafeMutablePointer<Float>?, tag: Int) -> ReduceScatter {
        LocalReduceScatter(send: send, recv: recv, count: countPerRank)
    }
    public func allreduceSum(_ values: inout [Double]) {}
    public func anyRank(_ flag: Bool) -> Bool { flag }
    public func allgather(_ value: Double) -> [Double] { [value] }
    public func broadcast(_ bytes: inout [UInt8], root: Int) {}
    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]] { [bytes] }
    public func barrier() {}
    public func split(color: Int, key: Int) -> Communicator { LocalCommunicator() }
    public func abort(code: Int32) -> Never { exit(code) }
}

/// One rank's reduce-scatter: the sum is its own block, copied into place.
final class LocalReduceScatter: ReduceScatter {
    let send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, count: Int
    init(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, count: Int) { self.send = send; self.recv = recv; self.count = count }
    func start() -> PendingReduceScatter {
        if UnsafePointer(recv) != send { recv.update(from: send, count: count) }
        return PendingReduceScatter(self)
    }
    func finish() {}
}

/// Runs `body` on every rank and agrees on whether it worked (a collective): when it failed on
/// any rank, every rank stops together — a failing rank with `RankFailure` (its error), the
/// others with `PeerFailure` — instead of one rank aborting the job while the others wait in a
/// collective or go on as if nothing happened.
public func collectively<T>(_ comm: Communicator, _ body: () throws -> T) throws -> T {
    let outcome: Result<T, Error>
    do { outcome = .success(try body()) } catch { outcome = .failure(error) }
    guard comm.size > 1 else { return try outcome.get() }
    var failed = false
    if case .failure = outcome { failed = true }
    let failures = try comm.allgather(failed ? 1 : 0)
    let failing = failures.indices.filter { failures[$0] > 0 }
    guard !failing.isEmpty else { return try outcome.get() }
    if case .failure(let e) = outcome { throw RankFailure(error: e, rank: comm.rank, failing: failing, ranks: comm.size) }
    throw PeerFailure("rank\(failing.count == 1 ? "" : "s") \(failing.map(String.init).joined(separator: ", ")) failed")
}

/// An error that `collectively` found on this rank; every rank knows which ranks failed.
public struct RankFailure: Error, CustomStringConvertible {
    public let error: Error
    public let rank: Int
    public let failing: [Int]
    public let ranks: Int
    public var description: String { "\(error)" }
}

/// An error another rank met (and prints itself): this rank only stops.
public struct PeerFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
