/// The type names of assignment-service's part of contracts/v1: assignment, delegation, approvals,
/// and the tenant's settings.
extension MessageType {
    public static let directoryConfigure = "directory.configure"
    public static let directoryPutAPIKey = "directory.put_api_key"
    public static let directoryAPIKeyUpdated = "directory.api_key_updated"
    public static let directoryConfigured = "directory.configured"
    public static let assignmentRequest = "assignment.request"
    public static let recordAssigned = "record.assigned"
    public static let delegationSet = "delegation.set"
    public static let delegationRevoke = "delegation.revoke"
    public static let delegationGranted = "delegation.granted"
    public static let delegationRevoked = "delegation.revoked"
    public static let approvalRequest = "approval.request"
    public static let approvalVote = "approval.vote"
    public static let approvalRequested = "approval.requested"
    public static let approvalVoteRecorded = "approval.vote_recorded"
    public static let approvalDecided = "approval.decided"

    public static let assignmentCommands = [directoryConfigure, directoryPutAPIKey, assignmentRequest, delegationSet, delegationRevoke, approvalRequest, approvalVote]
    public static let assignmentEvents = [directoryConfigured, directoryAPIKeyUpdated, recordAssigned, delegationGranted, delegationRevoked, approvalRequested,
                                          approvalVoteRecorded, approvalDecided]
}
