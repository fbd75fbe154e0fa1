import _TestSupport
@testable import AlexNetCommands
import AlexNetTraining
import Foundation
import XCTest

/// What `alexnet-mp lint` prints: a line per departure, notes, and a summary; its errors.
final class LintTests: XCTestCase {
    /// Every shipped config prints only declared departures (and notes): no error, no undeclared
    /// choice. Every config in configs/ is checked, so a new one cannot ship without its
    /// `departures:`; the counts are those each declares.
    func testShippedConfigsPrintOnlyDeclaredDepartures() throws {
        let declared = ["alexnet": 0, "alexnet-onegroup": 0, "fashion-mnist": 4, "fashion-mnist-onegroup": 4, "cifar10": 5,
                        "owt": 10, "alexnet-torch-2branch": 10]
        let shipped = try FileManager.default.contentsOfDirectory(atPath: (packageRoot as NSString).appendingPathComponent("configs"))
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        XCTAssertEqual(Set(shipped), Set(declared.keys), "a config in configs/ without its expected count here")
        for (name, count) in declared {
            let path = configPath(name)
            let (text, errors) = try lint(configPath: path)
            XCTAssertEqual(errors, 0, text)
            var lines = text.split(separator: "\n").map(String.init)
            let summary = lines.removeLast()
            XCTAssertEqual(summary, count == 0 ? "\(path): no departures from the paper"
                           : "\(path): \(count) departures from the paper: 0 errors, 0 undeclared choices, \(count) declared")
            XCTAssertEqual(lines.filter { $0.hasPrefix("declared [") }.count, count, text)
            for line in lines { XCTAssertTrue(line.hasPrefix("declared [") || line.hasPrefix("note: "), line) }
        }
    }

    /// The paper's net: nothing departs; the one interpretation the config cannot state is a note.
    func testThePapersNetPrintsNoDeparture() throws {
        let path = configPath("alexnet")
        XCTAssertEqual(try lint(configPath: path).text, """
            note: LRN normalises over the maps of each layer's own group: this project's reading of the paper's N (README, "LRN within a group")
            \(path): no departures from the paper

            """)
        let one = configPath("alexnet-onegroup")
        XCTAssertEqual(try lint(configPath: one).text, """
            note: the one-group rule is checked against \(configPath("alexnet")), the two-group net of this comparison net
            \(one): no departures from the paper

            """)
    }

    func testErrorsChoicesAndNotes() throws {
        let dir = try makeScratchDirectory(self)
        var text = try String(contentsOfFile: configPath("alexnet"), encoding: .utf8)
            .replacingOccurrences(of: "height: 227, width: 227", with: "height: 224, width: 224")
            .replacingOccurrences(of: "crop: 227 ", with: "crop: 224 ")
            .replacingOccurrences(of: "init: paper", with: "init: he")
        text += "departures:\n  flip: \"not flipped, but it is\"\n"
        try text.write(toFile: dir + "/a224.yaml", atomically: true, encoding: .utf8)
        let (out, errors) = try lint(configPath: dir + "/a224.yaml")
        XCTAssertEqual(errors, 4, out)
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.map { String($0.prefix(while: { $0 != "]" })) },
                       ["error [untiled", "error [untiled", "error [untiled", "error [untiled", "choice [init",
                        "note: departures.flip is declared, but the config does not depart from the paper there",
                        "note: LRN normalises over the maps of each layer's own group: this project's reading of the paper's N (README, \"LRN within a group\")",
                        "\(dir)/a224.yaml: 5 departures from the paper: 4 errors, 1 undeclared choice, 0 declared"])
        // A comparison net whose two-group net is not beside it: said, not checked.
        let one = try String(contentsOfFile: configPath("alexnet-onegroup"), encoding: .utf8)
        try one.write(toFile: dir + "/alexnet-onegroup.yaml", atomically: true, encoding: .utf8)
        XCTAssertEqual(try lint(configPath: dir + "/alexnet-onegroup.yaml").text.split(separator: "\n").first.map(String.init),
                       "note: the one-group rule is not checked: config \(dir)/alexnet.yaml: no such file or directory")
    }

    /// A config that does not load is the usual one-line error, not a lint.
    func testAConfigThatDoesNotLoadThrows() throws {
        let dir = try makeScratchDirectory(self)
        let text = try String(contentsOfFile: configPath("fashion-mnist"), encoding: .utf8) + "  colour: \"why not\"\n"
        try text.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try lint(configPath: dir + "/c.yaml")) {
            XCTAssertTrue("\($0)".hasPrefix("config \(dir)/c.yaml: departures.colour: unknown departure (expected one of: untiled, "), "\($0)")
        }
    }
}
