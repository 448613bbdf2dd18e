import Contracts

/// The gateway's API as OpenAPI 3.1, served at `/v1/openapi.json`. `GatewayTests` checks that every
/// route `GatewayRoutes` registers is described here, and nothing else is.
enum OpenAPIDocument {
    static let document: JSONValue = {
        let error: JSONValue = ["description": "`{\"error\": {\"code\", \"message\"}}`", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        let json: JSONValue = ["application/json": ["schema": ["type": "object"]]]
        func parameters(_ names: [String]) -> JSONValue {
            .array(names.map { ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]] })
        }
        let secured: JSONValue = [["apiKey": []]]
        var paths: [String: JSONValue] = [:]
        paths["/healthz"] = ["get": ["summary": "Redis reachable (200) or not (503)", "security": [], "responses": ["200": ["description": "healthy", "content": json], "503": error]]]
        paths["/metrics"] = ["get": ["summary": "Prometheus text: the gateway's metrics and every live service's", "security": [],
                                     "responses": ["200": ["description": "metrics", "content": ["text/plain": ["schema": ["type": "string"]]]]]]]
        paths["/v1/openapi.json"] = ["get": ["summary": "This document", "security": [], "responses": ["200": ["description": "OpenAPI 3.1", "content": json]]]]
        paths["/v1/commands"] = ["post": [
            "summary": "Publish one command envelope (contracts/v1) and wait for its outcome",
            "security": secured,
            "parameters": [["name": "wait", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "maximum": 60000]]],
            "requestBody": ["required": true, "content": ["application/json": ["schema": ["$ref": "https://nexus-crm.dev/contracts/v1/envelope.schema.json"]]]],
            "responses": [
                "200": ["description": "command.accepted", "content": json], "422": ["description": "command.rejected (its code and field)", "content": json],
                "400": error, "401": error, "403": error, "413": error, "504": error,
            ],
        ]]
        for (path, what) in [("/v1/tenants/{tenant}/leads/{id}", "A lead as stored"), ("/v1/tenants/{tenant}/opportunities/{id}", "An opportunity as stored")] {
            paths[path] = ["get": ["summary": .string(what), "security": secured, "parameters": parameters(["tenant", "id"]),
                                   "responses": ["200": ["description": "the record", "content": json], "400": error, "401": error, "404": error]]]
        }
        paths["/v1/tenants/{tenant}/attachments/{sha256}"] = ["get": [
            "summary": "An interaction's file, checked against its SHA-256", "security": secured, "parameters": parameters(["tenant", "sha256"]),
            "responses": ["200": ["description": "the bytes", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                          "400": error, "401": error, "404": error, "500": error],
        ]]
        paths["/v1/tenants/{tenant}/users/{user}/queue"] = ["get": [
            "summary": "The records assigned to a user, with their stages: the user's queue kept by assignment-service, a page at a time",
            "security": secured,
            "parameters": .array(parameters(["tenant", "user"]).arrayValue! + [
                ["name": "open", "in": "query", "required": false, "schema": ["type": "boolean"]],
                ["name": "limit", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "maximum": 1000]],
                ["name": "after", "in": "query", "required": false, "schema": ["type": "string"], "description": "the `next` of the previous page"],
            ]),
            "responses": ["200": ["description": "{user, open, items: [{subject, assignedAt, open, stage}], next?}", "content": json], "400": error, "401": error, "404": error],
        ]]
        paths["/v1/tenants/{tenant}/{entity}/{id}/history"] = ["get": [
            "summary": "A record's audit entries, oldest first", "security": secured, "parameters": parameters(["tenant", "entity", "id"]),
            "responses": ["200": ["description": "audit entries", "content": ["application/json": ["schema": ["type": "array"]]]], "400": error, "401": error, "404": error],
        ]]
        paths.merge(DashboardOpenAPI.paths(error: error, json: json, secured: secured)) { first, _ in first }
        return [
            "openapi": "3.1.0",
            "info": ["title": "Nexus CRM gateway", "version": "1",
                     "description": "Commands go in as contracts/v1 envelopes; a key acts as its user in its tenant only (the envelope's actor is replaced by the key's user; other tenants' data is 404)."],
            "components": [
                "securitySchemes": ["apiKey": ["type": "http", "scheme": "bearer", "description": "crm.<tenant>.<secret> (crmctl apikey create)"]],
                "schemas": ["Error": ["type": "object", "required": ["error"], "properties": ["error": ["type": "object", "required": ["code", "message"],
                                                                                                        "properties": ["code": ["type": "string"], "message": ["type": "string"]]]]]],
            ],
            "security": secured,
            "paths": .object(paths),
        ]
    }()
}
