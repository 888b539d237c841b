import Foundation
import Logging
import Testing

@testable import TributaryConnectors

@Suite("Demo connector")
struct DemoConnectorTests {
    func connector(_ config: [String: JSONValue]) -> DemoConnector {
        DemoConnector(context: ConnectorContext(config: config, credential: .none, logger: Logger(label: "test")))
    }

    @Test("timestamps are RFC 3339 UTC, as Foundation formats them")
    func timestamps() {
        for seconds in [0, 951_782_400, 1_767_225_600, 1_767_225_600 + 86_399, 4_102_444_800, 1_709_164_800] {
            #expect(DemoGenerator.timestamp(seconds) == Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601))
        }
    }

    @Test("records are valid JSON of about 700 bytes, the same for the same run")
    func records() throws {
        let record = DemoGenerator.contact(run: 1, index: 42, pool: 1000, seed: 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(record.json.utf8)) as? [String: Any])
        #expect(object["id"] as? String == record.id)
        #expect((600...800).contains(record.json.utf8.count))
        #expect(DemoGenerator.contact(run: 1, index: 42, pool: 1000, seed: 1) == record)
        #expect(DemoGenerator.contact(run: 2, index: 42, pool: 1000, seed: 1) != record)
        _ = try JSONSerialization.jsonObject(with: Data(DemoGenerator.event(run: 3, index: 7, seed: 1).json.utf8))
    }

    @Test("a read resumes from its checkpoint and yields each record once; the last checkpoint moves to the next run")
    func checkpoints() async throws {
        let demo = connector(["records_per_run": 25, "batch_size": 10])
        let stream = DemoProvider.descriptor.streams[0]
        var seen: [String] = []
        var checkpoints: [JSONValue?] = []
        try await demo.read(StreamRequest(stream: stream, cursor: ["run": 1, "offset": 10], historicalSyncDays: 90)) { batch in
            seen += batch.records.map(\.id)
            checkpoints.append(batch.checkpoint)
        }
        #expect(seen == (10..<25).map { "c_\($0)" })
        #expect(checkpoints == [["run": 1, "offset": 20], ["run": 2, "offset": 0]])
    }

    @Test("the spike run yields its multiple; fail_on_run fails after the first batch")
    func knobs() async throws {
        let stream = DemoProvider.descriptor.streams[1]
        var count = 0
        try await connector(["records_per_run": 10, "spike_run": 2, "spike_multiplier": 5]).read(
            StreamRequest(stream: stream, cursor: ["run": 2, "offset": 0], historicalSyncDays: 90)
        ) { count += $0.records.count }
        #expect(count == 50)
        await #expect(throws: ConnectorError.self) {
            try await connector(["records_per_run": 30, "batch_size": 10, "fail_on_run": 1]).read(
                StreamRequest(stream: stream, cursor: nil, historicalSyncDays: 90)
            ) { _ in }
        }
    }
}
