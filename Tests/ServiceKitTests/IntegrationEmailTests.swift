import Contracts
import Foundation
import IntegrationService
import TestSupport
import Testing

@Suite("integration-service email: templated mail through a real SMTP server (aiosmtpd)", .serialized)
struct IntegrationEmailTests {
    func configure(_ harness: IntegrationHarness, name: String, sink: SmtpSink) async throws {
        let outcome = try await harness.publish(MessageType.integrationConfigure, [
            "integration": .string(name), "kind": "email", "smtpHost": "127.0.0.1", "smtpPort": .integer(Int64(sink.port)),
            "from": "crm@acme.example", "subject": "Welcome, {{name}}", "body": "Hello {{name}},\nyour lead {{lead.id}} is qualified.\n.\nBye",
            "timeoutMs": 3000,
        ])
        #expect(outcome.type == MessageType.commandAccepted, "\(outcome.json)")
    }

    // FUN-CRM-0220, REL-CRM-0409: a relay that says "try later" is tried again; every attempt is the same message.
    @Test("an email refused with 451 once is sent again: one success, the same Message-ID and idempotency key both times, the templates filled in")
    func retriesAndTemplates() async throws {
        let harness = try await IntegrationHarness(maxAttempts: 3, backoffMs: 100)
        let sink = try await SmtpSink(arguments: ["--fail", "1", "--code", "451"])
        try await harness.running {
            try await configure(harness, name: "email", sink: sink)
            _ = try await harness.publish(MessageType.integrationInvoke, [
                "callId": "E-1", "integration": "email", "input": ["to": ["ada@example.com"], "name": "Ada", "lead": ["id": "L-1001"]],
                "sagaId": "S-4", "step": 1,
            ])
            #expect(try await eventually { try await harness.events(MessageType.integrationSucceeded).count == 1 })
            let event = try #require(try await harness.events(MessageType.integrationSucceeded).first)
            #expect(event.payload["attempts"] == 2)
            let messages = sink.messages()
            #expect(messages.map(\.accepted) == [false, true])
            #expect(Set(messages.compactMap { $0.headers["Message-ID"] }).count == 1, "the same message each time")
            #expect(event.payload["output"]?["messageId"] == .string(messages[1].headers["Message-ID"] ?? "?"))
            let sent = messages[1]
            #expect(sent.to == ["ada@example.com"])
            #expect(sent.headers["Subject"] == "Welcome, Ada")
            #expect(sent.headers["X-CRM-Idempotency-Key"] == "S-4:1")
            #expect(sent.headers["X-CRM-Operation"] == "invoke")
            #expect(sent.body.replacingOccurrences(of: "\r\n", with: "\n") == "Hello Ada,\nyour lead L-1001 is qualified.\n.\nBye\n", "a lone dot survives the SMTP transfer")

            _ = try await harness.publish(MessageType.integrationCompensate, [
                "callId": "E-1-undo", "integration": "email", "input": ["to": "ada@example.com", "name": "Ada", "lead": ["id": "L-1001"]],
                "sagaId": "S-4", "step": 1,
            ])
            #expect(try await eventually { try await harness.events(MessageType.integrationCompensated).count == 1 })
            let correction = try #require(sink.messages().last)
            #expect(correction.headers["Subject"] == "Correction: Welcome, Ada")
            #expect(correction.headers["X-CRM-Operation"] == "compensate")
            #expect(correction.body.hasPrefix("Please disregard our previous message."))
        }
    }

    @Test("a 550 from the relay, a template naming what the input lacks, and bad recipients fail at once (permanent)")
    func permanentFailures() async throws {
        let harness = try await IntegrationHarness(maxAttempts: 3, backoffMs: 100)
        let refusing = try await SmtpSink(arguments: ["--always", "550"])
        let sink = try await SmtpSink()
        try await harness.running {
            try await configure(harness, name: "refused", sink: refusing)
            try await configure(harness, name: "email", sink: sink)
            let calls: [(String, String, JSONValue, String)] = [
                ("F-1", "refused", ["to": "a@example.com", "name": "A", "lead": ["id": "L-1"]], "SMTP 550"),
                ("F-2", "email", ["to": "a@example.com", "name": "A"], "{{lead.id}}"),
                ("F-3", "email", ["to": "not an address", "name": "A", "lead": ["id": "L-1"]], "input.to"),
                ("F-4", "email", ["to": "a@example.com\r\nBcc: eve@example.com", "name": "A", "lead": ["id": "L-1"]], "input.to"),
            ]
            for (callId, integration, input, _) in calls {
                _ = try await harness.publish(MessageType.integrationInvoke, ["callId": .string(callId), "integration": .string(integration), "input": input])
            }
            #expect(try await eventually { try await harness.events(MessageType.integrationFailed).count == calls.count })
            let failed = try await harness.events(MessageType.integrationFailed)
            for (callId, _, _, reason) in calls {
                let event = try #require(failed.first { $0.payload["callId"] == .string(callId) })
                #expect(event.payload["permanent"] == true)
                #expect(event.payload["attempts"] == 1)
                #expect(event.payload["reason"]?.stringValue?.contains(reason) == true, "\(callId): \(event.json)")
            }
            #expect(refusing.messages().count == 1)
            #expect(sink.messages().isEmpty, "nothing was sent for a message that could not be composed")

            // Input cannot add headers: a line break in a value that reaches the subject becomes a space.
            _ = try await harness.publish(MessageType.integrationInvoke, ["callId": "F-5", "integration": "email",
                                                                          "input": ["to": "a@example.com", "name": "Ada\r\nBcc: eve@example.com", "lead": ["id": "L-1"]]])
            #expect(try await eventually { sink.messages().count == 1 })
            let sent = try #require(sink.messages().first)
            #expect(sent.headers["Bcc"] == nil)
            #expect(sent.to == ["a@example.com"])
            #expect(sent.headers["Subject"] == "Welcome, Ada Bcc: eve@example.com")
        }
    }

    @Test("templates: dotted paths, spaces inside the braces, numbers; a value the input lacks fails the call")
    func templates() throws {
        let input: JSONValue = ["name": "Ada\r\nBcc: eve@example.com", "deal": ["amount": 30000]]
        #expect(try EmailMessage.render("{{ deal.amount }} GBP", with: input) == "30000 GBP")
        #expect(try EmailMessage.render("no placeholders", with: input) == "no placeholders")
        #expect(throws: CallFailure.self) { try EmailMessage.render("{{missing}}", with: input) }
    }
}
