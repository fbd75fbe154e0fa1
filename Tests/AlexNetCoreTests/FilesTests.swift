import AlexNetCore
import XCTest

/// Path helpers that stand in for Foundation's on Linux.
final class FilesTests: XCTestCase {
    /// The parent directory of every shape of path, including the one-character names on which
    /// `NSString.deletingLastPathComponent` traps ("r", "r/", ".").
    func testParentDirectory() {
        let cases: [(String, String)] = [("r", "."), ("r/", "."), ("r//", "."), ("ab", "."), ("./o", "."), ("a/b", "a"), ("a/b/", "a"),
                                         ("a//b", "a"), ("/r", "/"), ("/", "/"), ("//", "/"), ("/a/b/c", "/a/b"), (".", "./.."),
                                         ("..", "../.."), ("a/..", "a/../.."), ("", ".")]
        for (path, parent) in cases { XCTAssertEqual(parentDirectory(of: path), parent, "parent of \"\(path)\"") }
        for (path, bare) in [("r/", "r"), ("r//", "r"), ("/", "/"), ("a/b/", "a/b"), ("a", "a")] { XCTAssertEqual(withoutTrailingSlashes(path), bare) }
    }
}
