import Foundation

// Writing files that a crash or a full disk must not damage, through POSIX calls: Foundation's
// `FileHandle.write(_:)` traps on Linux when a write fails (a full disk would end the process
// with no message). Every failure here is an error of one line that names the file.

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk, renames it over `path`
/// and flushes the directory, so that `path` is either the old file or the whole new one, also
/// after a crash or a power cut.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let tmp = path + ".tmp.\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ModelFileError(path, "cannot be written: \(String(cString: strerror(errno)))") }
    var failure = bytes.withUnsafeBytes { writeAll(fd, $0) }
    if failure == nil, fsync(fd) != 0 { failure = (errno, bytes.count) }
    close(fd)
    if let failure {
        unlink(tmp)
        if failure.errno == ENOSPC || failure.errno == EDQUOT {
            throw ModelFileError(path, "the disk is full: the file needs \(mebibytes(bytes.count)), \(freeSpaceText(path)) (nothing was replaced)")
        }
        throw ModelFileError(path, "write failed after \(failure.written) of \(bytes.count) bytes: \(String(cString: strerror(failure.errno)))")
    }
    guard rename(tmp, path) == 0 else {
        let err = errno
        unlink(tmp)
        throw ModelFileError(path, "cannot rename into place: \(String(cString: strerror(err)))")
    }
    try syncDirectory((path as NSString).deletingLastPathComponent)
}

public func writeAtomically(_ text: String, to path: String) throws { try writeAtomically(Array(text.utf8), to: path) }

/// Flushes a directory's entries to disk: the names of the files created, renamed or removed in
/// it (`fsync` of a file does not make its name durable).
public func syncDirectory(_ path: String) throws {
    let dir = path.isEmpty ? "." : path
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw ModelFileError(dir, "cannot be opened to flush it to disk: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw ModelFileError(dir, "cannot be flushed to disk: \(String(cString: strerror(errno)))") }
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
        guard fd >= 0 else { throw ModelFileError(path, "cannot be opened for appending: \(String(cString: strerror(errno)))") }
        self.path = path
    }

    deinit { close(fd) }

    public func append(_ text: String) throws {
        let end = lseek(fd, 0, SEEK_END)
        let bytes = Array(text.utf8)
        guard let err = bytes.withUnsafeBytes({ writeAll(fd, $0) })?.errno else { return }
        if end >= 0 { _ = ftruncate(fd, end) }
        if err == ENOSPC || err == EDQUOT {
            throw ModelFileError(path, "the disk is full: a row of \(bytes.count) bytes could not be appended, \(freeSpaceText(path))")
        }
        throw ModelFileError(path, "cannot append a row: \(String(cString: strerror(err)))")
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

/// Bytes free for this user on the file system that holds `path` (or its directory).
public func freeDiskBytes(_ path: String) -> Int? {
    var st = statvfs()
    var dir = path
    while !dir.isEmpty, !FileManager.default.fileExists(atPath: dir) { dir = (dir as NSString).deletingLastPathComponent }
    guard statvfs(dir.isEmpty ? "." : dir, &st) == 0 else { return nil }
    return Int(st.f_bavail) * Int(st.f_frsize)
}

func mebibytes(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

func freeSpaceText(_ path: String) -> String {
    freeDiskBytes(path).map { "\(mebibytes($0)) are free there" } ?? "the free space is unknown"
}
