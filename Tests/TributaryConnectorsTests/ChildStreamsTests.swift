import Foundation
import Testing

@testable import TributaryConnectors

@Suite("Child streams: order, keys, paths and checkpoints")
struct ChildStreamsTests {
    @Test("parents are read in byte order, each once, and a pass resumes at its parent (or the next one after it)")
    func order() {
        let ids = ["b", "a", "B", "c", "a", "é"]
        #expect(ChildStreams.order(ids) == ["B", "a", "b", "c", "é"])
        #expect(ChildStreams.order(ids, from: "b") == ["b", "c", "é"])
        #expect(ChildStreams.order(ids, from: "bb") == ["c", "é"])  // "bb" is gone: the next one after it
        #expect(ChildStreams.order(ids, from: "z") == ["é"])
    }

    @Test("a key joins parent and child so that no two pairs share one")
    func keys() {
        #expect(ChildStreams.key(parent: "L1", child: "P1") == "L1:P1")
        #expect(ChildStreams.key(parent: "a:b", child: "c") != ChildStreams.key(parent: "a", child: "b:c"))
        #expect(ChildStreams.key(parent: "a%3A", child: "b") != ChildStreams.key(parent: "a:", child: "b"))
    }

    @Test("a hostile id stays one path segment", arguments: ["../admin", "a?b=1", "c#d", "e/f", "..", ".", "%2e%2e", "x y"])
    func hostilePaths(id: String) {
        let path = ChildStreams.path("/items/{id}/children", id: id)
        #expect(path.hasPrefix("/items/"))
        #expect(path.hasSuffix("/children"))
        let segment = path.dropFirst("/items/".count).dropLast("/children".count)
        #expect(!segment.contains("/") && !segment.contains("?") && !segment.contains("#") && !segment.contains("."))
        #expect(String(segment).removingPercentEncoding == id)
    }

    @Test("a checkpoint keeps its parent beside the connector's fields; anything but an object starts a pass")
    func checkpoint() {
        let checkpoint = ChildCheckpoint(parent: "L2", fields: ["cursors": ["L1": "2026-01-01T00:00:00Z"]])
        #expect(ChildCheckpoint(checkpoint.json) == checkpoint)
        #expect(!checkpoint.startsPass)
        #expect(ChildCheckpoint(.string("2026-01-01T00:00:00Z")).startsPass)
        #expect(ChildCheckpoint(nil).startsPass)
        #expect(ChildCheckpoint(["cursors": [:]]).startsPass)
    }

    @Test("a read emits each parent's batches naming it, then one batch naming none, from the checkpoint's parent on")
    func read() async throws {
        let collected = Collected()
        var visited: [String] = []
        try await ChildStreams.read(
            parents: ["p3", "p1", "p2"],
            from: ChildCheckpoint(parent: "p2", fields: ["n": 0]),
            emit: { await collected.add($0) },
            children: { parent, fields, emit in
                visited.append(parent)
                var fields = fields
                fields["n"] = .number((fields["n"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? 0) + 1)
                try await emit([SourceRecord(id: parent, json: "{}")], fields)
                return fields
            },
            finished: { fields in fields.merging(["done": true]) { _, new in new } }
        )
        #expect(visited == ["p2", "p3"])
        let checkpoints = await collected.checkpoints
        #expect(checkpoints == [["parent": "p2", "n": 1], ["parent": "p3", "n": 2], ["n": 2, "done": true]])
    }
}
