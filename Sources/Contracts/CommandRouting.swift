/// Which command stream a command type is written to (DESIGN §3's table).
public enum CommandRouting {
    private static let prefixes: [String: CommandStream] = [
        "definition": .pipeline, "fields": .pipeline, "contact": .pipeline, "lead": .pipeline, "opportunity": .pipeline,
        "interaction": .pipeline, "branch": .pipeline, "saga": .pipeline,
        "assignment": .assignment, "approval": .assignment, "delegation": .assignment, "directory": .assignment,
        "timer": .sla, "integration": .integration,
    ]

    public static func stream(forType type: String) -> CommandStream? {
        guard let prefix = type.split(separator: ".", omittingEmptySubsequences: false).first else { return nil }
        return prefixes[String(prefix)]
    }
}
