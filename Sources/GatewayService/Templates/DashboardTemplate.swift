extension PageTemplates {
    /// The dashboard: a heading and the panel that refreshes itself (`dashboardPanel`).
    static let dashboard = """
    <h1>Dashboard</h1>
    <p class="hint">Updates every {{refreshSeconds}} seconds. <span id="refreshed" role="status" aria-live="polite"></span></p>
    <div id="panel" data-refresh="/dashboard/panel" data-seconds="{{refreshSeconds}}">
    {{> dashboardPanel}}
    </div>
    """

    static let dashboardPanel = """
    <section aria-labelledby="pending-heading">
    <h2 id="pending-heading">Pending leads and opportunities ({{pendingCount}})</h2>
    {{#hasPending}}
    <table>
    <thead><tr><th scope="col">Record</th><th scope="col">Name</th><th scope="col">Stage</th><th scope="col">Assigned</th></tr></thead>
    <tbody>
    {{#pending}}
    <tr><td><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a></td><td>{{title}}</td><td><span class="stage">{{stage}}</span></td><td>{{assignedAt}}</td></tr>
    {{/pending}}
    </tbody>
    </table>
    {{/hasPending}}
    {{^hasPending}}<p>Nothing is assigned to you.</p>{{/hasPending}}
    </section>
    <section aria-labelledby="funnel-heading">
    <h2 id="funnel-heading">Funnel</h2>
    {{#hasFunnel}}
    <table class="funnel">
    <thead><tr><th scope="col">Entity</th><th scope="col">Stage</th><th scope="col">Open records</th><th scope="col"><span class="visually-hidden">Share</span></th></tr></thead>
    <tbody>
    {{#funnel}}
    <tr><td>{{entity}}</td><td>{{stage}}</td><td>{{count}}</td><td><meter min="0" max="{{max}}" value="{{count}}">{{count}} of {{max}}</meter></td></tr>
    {{/funnel}}
    </tbody>
    </table>
    {{/hasFunnel}}
    {{^hasFunnel}}<p>No open records.</p>{{/hasFunnel}}
    </section>
    <div class="columns">
    <section aria-labelledby="risk-heading">
    <h2 id="risk-heading">SLAs at risk ({{atRiskCount}})</h2>
    {{> slaTable}}
    </section>
    <section aria-labelledby="breached-heading">
    <h2 id="breached-heading">SLAs breached ({{breachedCount}})</h2>
    {{#breached}}{{> slaRow}}{{/breached}}
    {{^breached}}<p>None.</p>{{/breached}}
    </section>
    </div>
    <section aria-labelledby="approvals-heading">
    <h2 id="approvals-heading">Pending approvals ({{approvalCount}})</h2>
    {{#approvals}}
    <p><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a>: <strong>{{action}}</strong> waits for approval</p>
    {{/approvals}}
    {{^approvals}}<p>None.</p>{{/approvals}}
    </section>
    """

    static let slaTable = """
    {{#atRisk}}{{> slaRow}}{{/atRisk}}
    {{^atRisk}}<p>None.</p>{{/atRisk}}
    """

    static let slaRow = """
    <p class="sla {{status}}"><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a>: {{policy}} in stage {{stage}}, due {{deadline}}</p>
    """
}
