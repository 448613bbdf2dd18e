import CrmRedis
import Testing

// FUN-CRM-0281: every bad dashboard parameter is refused with a code and the parameter at fault,
// the same for the gateway, crmctl and the web pages (they all parse with DashboardFilter).
@Suite("dashboard query parameters")
struct DashboardFilterTests {
    @Test("bad parameters: a typed error naming the parameter", arguments: [
        (["scope": "galaxy"], "invalid_parameter", "scope"),
        (["scope": "team"], "invalid_parameter", "team"),
        (["scope": "user", "user": "bad id!"], "invalid_parameter", "user"),
        (["kind": "contact"], "invalid_parameter", "kind"),
        (["stage": "no spaces allowed"], "invalid_parameter", "stage"),
        (["owner": "x y"], "invalid_parameter", "owner"),
        (["sla": "late"], "invalid_parameter", "sla"),
        (["sla": ""], "invalid_parameter", "sla"),
        (["approval": "yes"], "invalid_parameter", "approval"),
        (["minAge": "3 days"], "invalid_parameter", "minAge"),
        (["minAge": "P3D", "maxAge": "P1D"], "invalid_parameter", "maxAge"),
        (["sort": "random"], "invalid_parameter", "sort"),
        (["limit": "0"], "invalid_parameter", "limit"),
        (["limit": "1001"], "invalid_parameter", "limit"),
        (["limit": "ten"], "invalid_parameter", "limit"),
        (["cursor": "not-a-cursor"], "invalid_cursor", "cursor"),
        (["colour": "red"], "unknown_parameter", "colour"),
    ])
    func refusals(parameters: [String: String], code: String, field: String) {
        #expect(throws: DashboardQueryError.self) { try DashboardFilter.parse(parameters, caller: "u-1") }
        do {
            _ = try DashboardFilter.parse(parameters, caller: "u-1")
        } catch {
            #expect(error.code == code && error.field == field, "\(parameters): \(error)")
        }
    }

    @Test("good parameters are read as given; scope=user defaults to the caller; a cursor only fits its own sort")
    func reading() throws {
        let filter = try DashboardFilter.parse(["scope": "user", "sla": "breached,at_risk", "approval": "pending", "minAge": "PT1H",
                                                "maxAge": "P2D", "sort": "due", "limit": "1000"], caller: "u-7")
        #expect(filter.scope == .user("u-7"))
        #expect(filter.sla == ["at_risk", "breached"])
        #expect(filter.pendingApproval == true)
        #expect(filter.minAgeMilliseconds == 3_600_000 && filter.maxAgeMilliseconds == 172_800_000)
        #expect(filter.sort == .due && filter.limit == 1000)
        #expect(try DashboardFilter.parse([:], caller: nil).scope == .tenant)
        #expect(try DashboardFilter.parse(["scope": "team", "team": "sales"], caller: nil).scope == .team("sales"))

        let cursor = DashboardCursor(sort: .age, segment: 2, score: "1795000000123", member: "lead:L-1|x")
        let token = cursor.token
        #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
        #expect(DashboardCursor(token: token) == cursor)
        #expect(try DashboardFilter.parse(["cursor": token], caller: nil).cursor == cursor)
        #expect(throws: DashboardQueryError.self) { try DashboardFilter.parse(["cursor": token, "sort": "newest"], caller: nil) }
        // A score Redis would refuse as a range bound (nan, inf) never reaches it: the cursor is invalid.
        for score in ["nan", "inf", "-inf"] {
            #expect(DashboardCursor(token: DashboardCursor(sort: .age, segment: 0, score: score, member: "lead:L-1").token) == nil, "\(score)")
        }
    }
}
