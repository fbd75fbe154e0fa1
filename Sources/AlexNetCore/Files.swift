import AlexNetCore
import Foundation

// Files, read and written through POSIX calls, with errors of one line that name the file and
// say what is wrong in words. Every reader of a file that comes from the user goes through
// `readFile` / `openRegularFile`: a FIFO, a device or a directory given where a file is expected
// is refused at once (reading a FIFO would block forever). Writers go through `writeAtomically`
// and `AppendFile`: Foundation's `FileHandle.write(_:)` traps on Linux when a write fails (a full
// disk would end the process with no message).

/// A file that cannot be read or written: `"<path>: <problem>"`.
public struct FileError: Error, CustomStringConvertible {
    public let path: String, problem: String
    public init(_ path: String, _ problem: String) { self.path = path; self.problem = problem }
    public var description: String { "\(path): \(problem)" }
}

/// What an `errno` from opening or reading a path means, in words.
public func describeErrno(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file or directory"
    case EISDIR: return "is a directory"
    case ENOTDIR: return "a part of the path is not a directory"
    case ELOOP: return "too many levels of symbolic links"
    case EACCES, EPERM: return "permission denied"
    case ENAMETOOLONG: return "the name is too long"
    case ENOSPC, EDQUOT: return "the disk is full"
    case EROFS: return "the file system is read-only"
    default: return String(cString: strerror(code))
    }
}

/// The kind of a `stat` mode that is not a regular file, in words ("a FIFO", "a directory").
public func describeFileType(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFDIR: return "is a directory"
    case S_IFIFO: return "is a FIFO (a named pipe), not a regular file"
    case S_IFSOCK: return "is a socket, not a regular file"
    case S_IFCHR: return "is a character device, not a regular file"
    case S_IFBLK: return "is a block device, not a regular file"
    default: return "is not a regular file"
    }
}

/// Opens `path` for reading only if it is a regular file: the open itself does not block on a
/// FIFO (O_NONBLOCK), and `fstat` of the opened file (not of the name, which could change in
/// between) decides. Returns the descriptor (the caller closes it) and the file's size.
public func openRegularFile(_ path: String) throws -> (fd: Int32, size: Int) {
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(path, describeErrno(errno)) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
        let e = errno
        close(fd)
        throw FileError(path, describeErrno(e))
    }
    guard st.st_mode & S_IFMT == S_IFREG else {
        close(fd)
        throw FileError(path, describeFileType(st.st_mode))
    }
    // Back to blocking reads (a regular file never blocks for long; EAGAIN would only confuse).
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return (fd, Int(st.st_size))
}

/// The whole of a regular file, refusing one larger than `limit` bytes (before reading it, by its
/// size, and while reading it: files of /proc say they are empty, and a file may grow).
public func readFile(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
    let (fd, size) = try openRegularFile(path)
    defer { close(fd) }
    func tooLarge(_ n: Int) -> FileError { FileError(path, "is \(byteCount(n)), more than the \(byteCount(limit)) this file may have") }
    guard size <= limit else { throw tooLarge(size) }
    // One byte more than the file says, to see its end (or that it grew).
    var out = [UInt8](repeating: 0, count: min(max(size, 4095), limit) + 1)
    var got = 0
    while true {
        if got == out.count {
            guard got <= limit else { throw tooLarge(got) }
            out.append(contentsOf: repeatElement(0, count: min(out.count, limit - out.count + 1)))
        }
        let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw FileError(path, "cannot be read: \(describeErrno(errno))") }
        if n == 0 { break }
        got += n
    }
    guard got <= limit else { throw tooLarge(got) }
    out.removeLast(out.count - got)
    return out
}

/// A regular file of UTF-8 text, at most `limit` bytes; an empty one is refused when `allowEmpty` is false.
public func readText(_ path: String, limit: Int = 16 << 20, allowEmpty: Bool = true) throws -> String {
    let bytes = try readFile(path, limit: limit)
    guard allowEmpty || !bytes.isEmpty else { throw FileError(path, "is empty") }
    guard let text = String(validating: bytes, as: UTF8.self) else { throw FileError(path, "is not UTF-8 text") }
    return text
}

/// Whether `path` names an existing directory (following symbolic links); the error, when it
/// does not, says what it is instead.
public func checkDirectory(_ path: String) throws {
    var st = stat()
    guard stat(path, &st) == 0 else { throw FileError(path, errno == ENOENT ? "no such directory" : describeErrno(errno)) }
    guard st.st_mode & S_IFMT == S_IFDIR else {
        throw FileError(path, st.st_mode & S_IFMT == S_IFREG ? "is a file, not a directory" : describeFileType(st.st_mode).replacingOccurrences(of: "regular file", with: "directory"))
    }
}

/// What is at `path`, without following a final symbolic link: nil when nothing is.
public func fileType(_ path: String) -> mode_t? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return st.st_mode & S_IFMT
}

/// "1.5 MiB", "3 bytes".
public func byteCount(_ n: Int) -> String {
    if n < 1024 { return "\(n) bytes" }
    if n < 1 << 20 { return String(format: "%.1f KiB", Double(n) / 1024) }
    if n < 1 << 30 { return String(format: "%.1f MiB", Double(n) / 1_048_576) }
    return String(format: "%.1f GiB", Double(n) / 1_073_741_824)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, renames it over `path`
/// and flushes the directory, so that `path` is either the old file or the whole new one, also
/// after a crash or a power cut.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let tmp = path + ".tmp.\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError(path, "cannot be written: \(describeErrno(errno))") }
    var failure = bytes.withUnsafeBytes { writeAll(fd, $0) }
    if failure == nil, fsync(fd) != 0 { failure = (errno, bytes.count) }
    close(fd)
    if let failure {
        unlink(tmp)
        if failure.errno == ENOSPC || failure.errno == EDQUOT {
            throw FileError(path, "the disk is full: the file needs \(mebibytes(bytes.count)), \(freeSpaceText(path)) (nothing was replaced)")
        }
        throw FileError(path, "write failed after \(failure.written) of \(bytes.count) bytes: \(describeErrno(failure.errno))")
    }
    guard rename(tmp, path) == 0 else {
        let err = errno
        unlink(tmp)
        throw FileError(path, "cannot rename into place: \(describeErrno(err))")
    }
    try syncDirectory(parentDirectory(of: path))
}

public func writeAtomically(_ text: String, to path: String) throws { try writeAtomically(Array(text.utf8), to: path) }

/// Flushes a directory's entries to disk: the names of the files created, renamed or removed in
/// it (`fsync` of a file does not make its name durable).
public func syncDirectory(_ path: String) throws {
    let dir = path.isEmpty ? "." : path
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(dir, "cannot be opened to flush it to disk: \(describeErrno(errno))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw FileError(dir, "cannot be flushed to disk: \(describeErrno(errno))") }
}

/// A file that rows are appended to while a run goes on (`metrics.csv`, `steps.csv`). A row
/// that does not fit is taken back whole (the file is truncated to where it was), so the file
/// never ends in half a row, and the error names the file.
public final class AppendFile {
    public let path: String
    private let fd: Int32

    /// Opens the existing file `path` for appending.
    public init(_ path: String) throws {
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path, "cannot be opened for appending: \(describeErrno(errno))") }
        self.path = path
    }

    deinit { close(fd) }

    public func append(_ text: String) throws {
        let end = lseek(fd, 0, SEEK_END)
        let bytes = Array(text.utf8)
        guard let err = bytes.withUnsafeBytes({ writeAll(fd, $0) })?.errno else { return }
        if end >= 0 { _ = ftruncate(fd, end) }
        if err == ENOSPC || err == EDQUOT {
            throw FileError(path, "the disk is full: a row of \(bytes.count) bytes could not be appended, \(freeSpaceText(path))")
        }
        throw FileError(path, "cannot append a row: \(describeErrno(err))")
    }
}

/// Writes all of `bytes` to `fd`, again after an interruption; on a failure, its errno and how
/// many bytes were written.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (errno: Int32, written: Int)? {
    var written = 0
    while written < bytes.count {
        let n = Foundation.write(fd, bytes.baseAddress! + written, bytes.count - written)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return (n < 0 ? errno : EIO, written) }
        written += n
    }
    return nil
}

/// Writes `text` to standard error. A closed or broken standard error is ignored (Foundation's
/// `FileHandle.standardError.write(_:)` would trap).
public func writeStandardError(_ text: String) {
    _ = Array(text.utf8).withUnsafeBytes { writeAll(STDERR_FILENO, $0) }
}

/// The directory that holds `path`: "." for a bare name, "/" for a name in the root, and the
/// path up to its last component otherwise (trailing slashes ignored; the parent of "." or ".."
/// is that followed by "/.."). Foundation's `NSString.deletingLastPathComponent` traps on a
/// one-character name ("r", "r/", ".") on Linux, so every caller here uses this instead.
public func parentDirectory(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    if p == "/" { return "/" }
    let last = p.split(separator: "/", omittingEmptySubsequences: true).last ?? ""
    if last == "." || last == ".." { return String(p) + "/.." }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    var head = p[..<slash]
    while head.hasSuffix("/") { head = head.dropLast() }
    return head.isEmpty ? "/" : String(head)
}

/// `path` without its trailing slashes ("r/" is "r"; "/" stays "/"): the name that a suffix
/// such as ".tmp" can be added to.
public func withoutTrailingSlashes(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    return String(p)
}

/// Bytes free for this user on the file system that holds `path` (or its directory).
public func freeDiskBytes(_ path: String) -> Int? {
    var st = statvfs()
    var dir = path
    while !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) { dir = parentDirectory(of: dir) }
    guard statvfs(dir.isEmpty ? "." : dir, &st) == 0 else { return nil }
    return Int(st.f_bavail) * Int(st.f_frsize)
}

public func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func freeSpaceText(_ path: String) -> String {
    freeDiskBytes(path).map { "\(mebibytes($0)) are free there" } ?? "the free space is unknown"
}

/// A file a command writes that the user names (`--trace`, `--json`, `--logits`, `export --out`,
/// `report --out`). Checked before any work: its directory must exist, and a file already there
/// is replaced only if it is of the kind this command writes and carries alexnet-mp's mark (a
/// tool may overwrite only what it can prove it wrote).
public enum OutputFile {
    public enum Kind: String, Sendable {
        case trace = "a trace", profile = "a profile", logits = "a logits file", safetensors = "an exported model",
             report = "a report", device = "a device file"

        /// Whether the first bytes of an existing file show it is one alexnet-mp wrote.
        func isOurs(_ head: [UInt8]) -> Bool {
            let text = String(decoding: head, as: UTF8.self)
            switch self {
            case .trace: return text.contains("\"tool\":\"alexnet-mp\"")
            case .profile: return text.contains("\"allgatherAlone\"")
            case .logits: return head.starts(with: [0x93] + Array("NUMPY".utf8)) && text.contains("'descr': '<f4'")
            case .safetensors: return head.count > 8 && text.contains("\"alexnet_mp.config\"")
            case .report: return text.contains(reportMark)
            case .device: return text.hasPrefix("# alexnet-mp calibrate")
            }
        }
    }

    /// What every report page carries in its head.
    public static let reportMark = "<meta name=\"generator\" content=\"alexnet-mp\">"

    /// Refuses an output path that cannot be written, or that holds what alexnet-mp did not write.
    public static func check(_ path: String, as kind: Kind) throws {
        let dir = parentDirectory(of: path)
        if !dir.isEmpty {
            do { try checkDirectory(dir) } catch let e as FileError {
                throw FileError(path, "cannot be written: its directory \(e.path) \(e.problem == "no such directory" ? "does not exist" : e.problem)")
            }
            guard access(dir, W_OK) == 0 else { throw FileError(path, "cannot be written: its directory \(dir): \(describeErrno(errno))") }
        }
        guard let type = fileType(path) else { return }
        if type == S_IFDIR { throw FileError(path, "is a directory; give a file name") }
        guard type == S_IFREG else { throw FileError(path, "exists and \(describeFileType(type)); choose another name") }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        var head = [UInt8](repeating: 0, count: 1 << 16)
        let n = fd >= 0 ? head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } : -1
        if fd >= 0 { close(fd) }
        guard n >= 0, kind.isOurs(Array(head.prefix(n))) else {
            throw FileError(path, "exists and is not \(kind.rawValue) that alexnet-mp wrote: choose another name, or move it away yourself")
        }
    }
}
