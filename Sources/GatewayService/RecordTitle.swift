import Contracts

/// What a page calls a record for a person.
enum RecordTitle {
    /// The record's `name`, `title` or `company` field, else "".
    static func of(_ record: JSONValue?) -> String {
        for field in ["name", "title", "company"] { if let text = record?["data"]?[field]?.stringValue { return text } }
        return ""
    }
}
