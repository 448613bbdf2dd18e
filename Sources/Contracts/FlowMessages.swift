/// The type names of pipeline-service's flows in contracts/v1: gateways (parallel campaigns,
/// inclusive forks) and sagas.
extension MessageType {
    public static let branchComplete = "branch.complete"
    public static let sagaAbort = "saga.abort"
    public static let gatewayForked = "gateway.forked"
    public static let branchCompleted = "branch.completed"
    public static let gatewayJoined = "gateway.joined"
    public static let sagaCompensating = "saga.compensating"
    public static let sagaCompensated = "saga.compensated"
    public static let sagaParked = "saga.parked"

    public static let flowCommands = [branchComplete, sagaAbort]
    public static let flowEvents = [gatewayForked, branchCompleted, gatewayJoined, sagaCompensating, sagaCompensated, sagaParked]
}
