import Testing

@testable import Tributary

@Suite("The tests' own deadlines: a wait that never ends fails its test, named")
struct DeadlineTests {
    @Test("a body that ends in time gives its value or its error")
    func inTime() async throws {
        #expect(try await withDeadline(.seconds(30), "a quick body") { 42 } == 42)
        await #expect(throws: TestSetupError.self) {
            try await withDeadline(.seconds(30), "a failing body") { () async throws -> Int in throw TestSetupError("its own") }
        }
    }

    @Test("a body that never ends, cancelled or not, fails at the deadline with its name")
    func neverEnds() async throws {
        let error = await #expect(throws: TestSetupError.self) {
            try await withDeadline(.milliseconds(200), "GET /forever") {
                // Deaf to cancellation: a task group's race would wait for it forever.
                await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            }
        }
        #expect(error?.description == "GET /forever did not end within 0.2 seconds")
    }
}
