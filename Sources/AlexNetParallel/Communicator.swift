import Foundation

/// How the devices (groups placed on ranks) exchange data. Layers never see it; the network
/// calls it at the exchanges. A communicator of size 1 runs the same code path as many.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Every rank contributes the `countPerRank` floats already at `buffer + rank·countPerRank`;
    /// afterwards every rank holds all blocks, in rank order (MPI_Allgather with MPI_IN_PLACE).
    func allgatherInPlace(_ buffer: UnsafeMutablePointer<Float>, countPerRank: Int) throws
    /// Starts a reduce-scatter: summing `send` (`size·countPerRank` floats) over the ranks so
    /// that `recv` holds block `rank` of the sum once `finishReduceScatterSum()` has returned.
    /// The blocks are added in rank order (the sum of the groups in group order, whatever the
    /// placement). Until then the caller may compute, but must not touch `send`, `recv` or
    /// `scratch` (`(size − 1)·countPerRank` floats for the other ranks' blocks; nil on one rank).
    /// One at a time.
    func startReduceScatterSum(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                               scratch: UnsafeMutablePointer<Float>?) throws
    func finishReduceScatterSum() throws
    /// Element-wise sum over the ranks, result on every rank.
    func allreduceSum(_ values: inout [Double]) throws
    /// Rank `root`'s bytes on every rank (lengths may differ before the call).
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
    /// Every rank's bytes, in rank order, on `root` (an empty array elsewhere).
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]
    func barrier() throws
    /// Ends every rank of the job now, with a non-zero exit code.
    func abort(code: Int32) -> Never
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
    public func startReduceScatterSum(send: UnsafePointer<Float>, recv: UnsafeMutablePointer<Float>, countPerRank: Int,
                                      scratch: UnsafeMutablePointer<Float>?) {
        if UnsafePointer(recv) != send { recv.update(from: send, count: countPerRank) }
    }
    public func finishReduceScatterSum() {}
    public func allreduceSum(_ values: inout [Double]) {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) {}
    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]] { [bytes] }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
}

