import Prometheus

/// Request counts and latencies, kept in the application's own registry and served at /metrics.
struct HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    private static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "tributary",
            metricName: "http_requests",
            unitName: "total",
            helpText: "HTTP requests answered, by method, route and status."
        )
    }
    private static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "tributary",
            metricName: "http_request_duration",
            unitName: "seconds",
            helpText: "Time to answer HTTP requests, by method and route."
        )
    }
    private static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    func record(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.requests,
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.duration,
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets
        ).record(duration)
    }
}
