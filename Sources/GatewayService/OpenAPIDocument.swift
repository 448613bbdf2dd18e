import Contracts

/// The gateway's API as OpenAPI 3.1, served at `/v1/openapi.json`. `GatewayTests` checks that every
/// route the API registers on `router` (the Sources/GatewayService files) is described here, and
/// nothing else is; the HTML pages register on `pages` and are not part of the API.
enum OpenAPIDocument {
    static let document: JSONValue = {
        let error: JSONValue = ["description": "`{\"error\": {\"code\", \"message\", \"field\"?}}`", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]]
        let json: JSONValue = ["application/json": ["schema": ["type": "object"]]]
        let object: JSONValue = ["type": "object"]
        func parameters(_ names: [String]) -> [JSONValue] {
            names.map { ["name": .string($0), "in": "path", "required": true, "schema": ["type": "string"]] }
        }
        let wait: JSONValue = ["name": "wait", "in": "query", "required": false, "description": "how long to wait for the outcome (ms) before answering 202",
                               "schema": ["type": "integer", "minimum": 1, "maximum": 60000]]
        let secured: JSONValue = [["apiKey": []]]
        /// The answers of every write: the outcome, a refusal by its code, or 202 while it is handled.
        let writeResponses: [String: JSONValue] = [
            "200": ["description": "command.accepted (the outcome envelope)", "content": json],
            "202": ["description": "{commandId, status: pending}: no outcome within `wait`; the command will still be handled", "content": json],
            "400": error, "401": error, "403": error, "404": error, "409": ["description": "conflict: expectedVersion is stale (error + outcome)", "content": json],
            "413": error, "422": ["description": "command.rejected: error {code, message, field} and the outcome", "content": json], "429": error,
        ]
        func write(_ summary: String, path: [String], body: JSONValue?) -> JSONValue {
            var operation: [String: JSONValue] = ["summary": .string(summary), "security": secured, "parameters": .array(parameters(path) + [wait]),
                                                  "responses": .object(writeResponses)]
            if let body { operation["requestBody"] = ["required": true, "content": body] }
            return .object(operation)
        }
        func read(_ summary: String, path: [String], extra: [JSONValue] = [], content: JSONValue = json) -> JSONValue {
            ["summary": .string(summary), "security": secured, "parameters": .array(parameters(path) + extra),
             "responses": ["200": ["description": "found", "content": content], "400": error, "401": error, "404": error, "429": error]]
        }
        func payload(_ command: String, _ note: String) -> JSONValue {
            ["application/json": ["schema": object, "description": .string("the payload of \(command) (contracts/v1/\(command).schema.json); \(note)")]]
        }
        var paths: [String: JSONValue] = [:]
        paths["/healthz"] = ["get": ["summary": "Redis reachable and every consumer group's lag (200), or Redis down / a group too far behind (503)", "security": [],
                                     "responses": ["200": ["description": "{status, redis, groups: [{stream, group, lag, pending, consumers}], maxLag}", "content": json],
                                                   "503": ["description": "degraded or lagging", "content": json]]]]
        paths["/metrics"] = ["get": ["summary": "Prometheus text: the gateway's metrics and every live service's", "security": [],
                                     "responses": ["200": ["description": "metrics", "content": ["text/plain": ["schema": ["type": "string"]]]]]]]
        paths["/v1/openapi.json"] = ["get": ["summary": "This document", "security": [], "responses": ["200": ["description": "OpenAPI 3.1", "content": json]]]]
        paths["/v1/commands"] = ["post": write("Publish one command envelope (contracts/v1) and wait for its outcome", path: [],
                                               body: ["application/json": ["schema": ["$ref": "https://nexus-crm.dev/contracts/v1/envelope.schema.json"]]])]
        for (entity, plural) in [("lead", "leads"), ("opportunity", "opportunities")] {
            paths["/v1/tenants/{tenant}/\(plural)"] = ["post": write("Create a \(entity) (\(entity).create); \(entity)Id is made up when the body names none",
                                                                     path: ["tenant"], body: payload("\(entity).create", "{\(entity)Id?, data, definitionVersion?}"))]
            paths["/v1/tenants/{tenant}/\(plural)/{id}"] = [
                "get": read("A \(entity) as stored: id, stage, definitionVersion, data, version", path: ["tenant", "id"]),
                "patch": write("Update a \(entity)'s data (\(entity).update); 409 when expectedVersion is stale", path: ["tenant", "id"],
                               body: payload("\(entity).update", "{data, expectedVersion?}")),
            ]
            paths["/v1/tenants/{tenant}/\(plural)/{id}/actions"] = ["post": write("Apply an action to a \(entity) (\(entity).apply)", path: ["tenant", "id"],
                                                                                   body: payload("\(entity).apply", "{action, expectedVersion?}"))]
        }
        paths["/v1/tenants/{tenant}/contacts"] = ["post": write("Add a contact (contact.add)", path: ["tenant"], body: payload("contact.add", "{contactId?, data, links?}"))]
        paths["/v1/tenants/{tenant}/contacts/{id}"] = [
            "get": read("A contact as stored", path: ["tenant", "id"]),
            "patch": write("Update a contact (contact.update); 409 when expectedVersion is stale", path: ["tenant", "id"], body: payload("contact.update", "{data, expectedVersion?}")),
        ]
        paths["/v1/tenants/{tenant}/interactions"] = ["post": write(
            "Log an interaction with files (interaction.log): multipart/form-data with kind, subject, notes, interactionId? and files (413 over the upload limit), or its JSON payload",
            path: ["tenant"],
            body: ["multipart/form-data": ["schema": ["type": "object", "properties": ["kind": ["type": "string"], "subject": ["type": "string"], "notes": ["type": "string"],
                                                                                          "interactionId": ["type": "string"],
                                                                                          "files": ["type": "array", "items": ["type": "string", "format": "binary"]]]]],
                   "application/json": ["schema": object]])]
        paths["/v1/tenants/{tenant}/approvals/{id}/votes"] = ["post": write("Vote on an approval (approval.vote)", path: ["tenant", "id"], body: payload("approval.vote", "{vote, comment?}"))]
        paths["/v1/tenants/{tenant}/delegations/{id}"] = [
            "put": write("Set a delegation (delegation.set)", path: ["tenant", "id"], body: payload("delegation.set", "{delegator, delegatee, from, until, scope?}")),
            "delete": write("Revoke a delegation (delegation.revoke)", path: ["tenant", "id"], body: nil),
        ]
        paths["/v1/tenants/{tenant}/fields/{entity}"] = [
            "get": read("The fields an entity takes now: the latest definition's and the custom ones, with the retired", path: ["tenant", "entity"]),
            "post": write("Add, redefine or retire custom fields (fields.configure); admins only", path: ["tenant", "entity"], body: payload("fields.configure", "{add?, remove?}")),
        ]
        paths["/v1/tenants/{tenant}/attachments/{sha256}"] = ["get": [
            "summary": "An interaction's file, checked against its SHA-256", "security": secured, "parameters": .array(parameters(["tenant", "sha256"])),
            "responses": ["200": ["description": "the bytes", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]],
                          "400": error, "401": error, "404": error, "429": error, "500": error],
        ]]
        paths["/v1/tenants/{tenant}/users/{user}/queue"] = ["get": read(
            "The records assigned to a user, with their stages: the user's queue kept by assignment-service, a page at a time; {user, open, items: [{subject, assignedAt, open, stage}], next?}",
            path: ["tenant", "user"],
            extra: [["name": "open", "in": "query", "required": false, "schema": ["type": "boolean"]],
                    ["name": "limit", "in": "query", "required": false, "schema": ["type": "integer", "minimum": 1, "maximum": 1000]],
                    ["name": "after", "in": "query", "required": false, "schema": ["type": "string"], "description": "the `next` of the previous page"]])]
        paths["/v1/tenants/{tenant}/{entity}/{id}/history"] = ["get": read("A record's audit entries, oldest first", path: ["tenant", "entity", "id"],
                                                                          content: ["application/json": ["schema": ["type": "array"]]])]
        paths.merge(DashboardOpenAPI.paths(error: error, json: json, secured: secured)) { first, _ in first }
        return [
            "openapi": "3.1.0",
            "info": ["title": "Nexus CRM gateway", "version": "1",
                     "description": "Commands go in as contracts/v1 payloads or envelopes; a key acts as its user in its tenant only (the actor is the key's user; other tenants' data is 404). Each key has a rate limit (429 with Retry-After)."],
            "components": [
                "securitySchemes": ["apiKey": ["type": "http", "scheme": "bearer", "description": "crm.<tenant>.<secret> (crmctl apikey create)"]],
                "schemas": ["Error": ["type": "object", "required": ["error"], "properties": ["error": ["type": "object", "required": ["code", "message"],
                                                                                                        "properties": ["code": ["type": "string"], "message": ["type": "string"],
                                                                                                                       "field": ["type": "string", "description": "the field at fault"]]]]]],
            ],
            "security": secured,
            "paths": .object(paths),
        ]
    }()
}
