import Contracts

/// The dashboard routes' part of the OpenAPI document.
enum DashboardOpenAPI {
    static func paths(error: JSONValue, json: JSONValue, secured: JSONValue) -> [String: JSONValue] {
        func query(_ name: String, _ schema: JSONValue, _ description: String) -> JSONValue {
            ["name": .string(name), "in": "query", "required": false, "schema": schema, "description": .string(description)]
        }
        let tenant: JSONValue = ["name": "tenant", "in": "path", "required": true, "schema": ["type": "string"]]
        let badRequest: JSONValue = ["description": "a bad parameter: `{\"error\": {\"code\", \"message\", \"field\"}}`",
                                     "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        var paths: [String: JSONValue] = [:]
        paths["/v1/tenants/{tenant}/dashboard/pending"] = ["get": [
            "summary": "Pending (open) leads and opportunities from the dashboard projection the services keep, filtered, sorted and paged with cursors",
            "security": secured,
            "parameters": [
                tenant,
                query("scope", ["type": "string", "enum": ["tenant", "user", "team"], "default": "tenant"], "whose records"),
                query("user", ["type": "string"], "scope=user: the owner (default: the API key's user)"),
                query("team", ["type": "string"], "scope=team: the team"),
                query("kind", ["type": "string", "enum": ["lead", "opportunity"]], "only leads or only opportunities"),
                query("stage", ["type": "string"], "only records in this stage"),
                query("owner", ["type": "string"], "only records owned by this user"),
                query("sla", ["type": "string"], "comma-separated SLA states: on_track, at_risk, breached, none"),
                query("approval", ["type": "string", "enum": ["pending", "none"]], "with or without a pending approval"),
                query("minAge", ["type": "string"], "ISO 8601 duration: created at least this long ago"),
                query("maxAge", ["type": "string"], "ISO 8601 duration: created at most this long ago"),
                query("sort", ["type": "string", "enum": ["age", "newest", "due", "stage"], "default": "age"],
                      "age: oldest first; newest; due: earliest SLA deadline first (records with a running SLA only); stage: funnel order"),
                query("limit", ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100], "page size"),
                query("cursor", ["type": "string"], "the `next` of the previous page (same sort)"),
            ],
            "responses": [
                "200": ["description": "{items: [{subject, kind, id, stage, owner?, team?, sla?, slaDue?, pendingApprovals, createdAt, ageSeconds}], next?, scanned}; a page may be short and still have a next when filters are selective",
                        "content": json],
                "400": badRequest, "401": error, "404": error,
            ],
        ]]
        paths["/v1/tenants/{tenant}/dashboard/funnel"] = ["get": [
            "summary": "Open records per stage (the funnel), per kind, in the definition's stage order",
            "security": secured, "parameters": [tenant],
            "responses": ["200": ["description": "{funnel: {lead: [{stage, open}], opportunity: [...]}, open: {lead, opportunity}}", "content": json],
                          "401": error, "404": error],
        ]]
        return paths
    }
}
