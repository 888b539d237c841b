/// Klaviyo's per-endpoint limits at the pinned revision, per account, in fixed 1 s (burst) and
/// 60 s (steady) windows, from each endpoint's page of its API reference ("Rate limits: Burst …,
/// Steady …"). Its tiers: XS 1/s 15/m, S 3/s 60/m, M 10/s 150/m, L 75/s 700/m, XL 350/s 3500/m.
///
/// Where revisions differ, the lower figure: the 2026-10-15 reference gives Get Profiles and Get
/// Segments 750/m steady, earlier ones 700/m; Get Profiles for List/Segment 750/m (the issue's
/// reading of the pinned reference). An endpoint missing here is paced at M, the tier of most
/// read endpoints that are neither L nor XL.
enum KlaviyoRateLimits {
    static let xl = RateLimit(perSecond: 350, perMinute: 3500)
    static let l = RateLimit(perSecond: 75, perMinute: 700)
    static let m = RateLimit(perSecond: 10, perMinute: 150)
    static let s = RateLimit(perSecond: 3, perMinute: 60)

    /// By endpoint template: the resource, and for a child endpoint `resource/{id}/child`.
    static let endpoints: [String: RateLimit] = [
        "profiles": l,  // Get Profiles
        "events": xl,  // Get Events
        "metrics": m,  // Get Metrics
        "lists": l,  // Get Lists
        "segments": l,  // Get Segments
        "flows": s,  // Get Flows
        "templates": m,  // Get Templates
        "campaigns": m,  // Get Campaigns
        "lists/{id}/profiles": RateLimit(perSecond: 75, perMinute: 750),  // Get Profiles for List
        "segments/{id}/profiles": RateLimit(perSecond: 75, perMinute: 750),  // Get Profiles for Segment
        "flows/{id}/flow-actions": s,  // Get Actions for Flow
        "flow-actions/{id}/flow-messages": s,  // Get Messages for Flow Action
        "campaigns/{id}/campaign-messages": m,  // Get Messages for Campaign
    ]

    /// Each endpoint its own budget; ids do not make endpoints (`/api/lists/X/profiles/` and
    /// `/api/lists/Y/profiles/` share one).
    static let policy = RatePolicy { path in
        let key = template(path)
        return (key, endpoints[key] ?? m)
    }

    /// `/api/lists/Y7/profiles/` → `lists/{id}/profiles`; `/api/profiles/` → `profiles`.
    static func template(_ path: String) -> String {
        var parts = path.split(separator: "/").map(String.init)
        if parts.first == "api" { parts.removeFirst() }
        if parts.count >= 2 { parts[1] = "{id}" }
        return parts.joined(separator: "/")
    }
}
