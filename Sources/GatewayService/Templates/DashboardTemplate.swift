extension PageTemplates {
    /// The dashboard: a heading, the view form (scope and stage, a plain GET form) and the panel that
    /// refreshes itself with the same view (`dashboardPanel`).
    static let dashboard = """
    <h1>Dashboard</h1>
    <form class="filters" method="get" action="/" aria-label="Dashboard view">
    <div><label for="view-scope">Records</label>
    <select id="view-scope" name="scope">
    {{#scopes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/scopes}}
    </select></div>
    <div><label for="view-stage">Stage</label>
    <select id="view-stage" name="stage">
    {{#stages}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/stages}}
    </select></div>
    <button type="submit">Show</button>
    </form>
    <p class="hint">Updates every {{refreshSeconds}} seconds. <span id="refreshed" role="status" aria-live="polite"></span></p>
    <div id="panel" data-refresh="/dashboard/panel?{{panelQuery}}" data-seconds="{{refreshSeconds}}">
    {{> dashboardPanel}}
    </div>
    """

    static let dashboardPanel = """
    <section aria-labelledby="pending-heading">
    <h2 id="pending-heading">Pending leads and opportunities: {{whose}}{{#stageName}}, stage {{stageName}}{{/stageName}} ({{pendingCount}})</h2>
    {{#hasPending}}
    <table id="pending">
    <thead><tr><th scope="col">Record</th><th scope="col">Name</th><th scope="col">Stage</th><th scope="col">Owner</th><th scope="col">SLA</th><th scope="col">Created</th></tr></thead>
    <tbody>
    {{#pending}}
    <tr><td><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a></td><td>{{#title}}{{title}}{{/title}}{{^title}}{{id}}{{/title}}</td><td><span class="stage">{{stage}}</span></td><td>{{owner}}</td><td>{{#sla}}<span class="sla {{sla}}">{{sla}}</span>{{/sla}}{{^sla}}—{{/sla}}</td><td>{{createdAt}}</td></tr>
    {{/pending}}
    </tbody>
    </table>
    {{/hasPending}}
    {{^hasPending}}<p>No open records in this view.</p>{{/hasPending}}
    </section>
    <section aria-labelledby="funnel-heading">
    <h2 id="funnel-heading">Funnel of the whole tenant</h2>
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
    <section aria-labelledby="risk-heading" id="at-risk">
    <h2 id="risk-heading">SLAs at risk ({{atRiskCount}})</h2>
    {{#atRisk}}{{> alertRow}}{{/atRisk}}
    {{^atRisk}}<p>None.</p>{{/atRisk}}
    </section>
    <section aria-labelledby="breached-heading" id="breached">
    <h2 id="breached-heading">SLAs breached ({{breachedCount}})</h2>
    {{#breached}}{{> alertRow}}{{/breached}}
    {{^breached}}<p>None.</p>{{/breached}}
    </section>
    </div>
    <section aria-labelledby="approvals-heading" id="approvals">
    <h2 id="approvals-heading">Pending approvals ({{approvalCount}})</h2>
    {{#approvals}}
    <p><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a>{{#title}} ({{title}}){{/title}}: <strong>{{actions}}</strong> waits for approval</p>
    {{/approvals}}
    {{^approvals}}<p>None.</p>{{/approvals}}
    </section>
    """

    /// A record whose SLA is at risk or breached.
    static let alertRow = """
    <p class="sla {{sla}}"><a href="/records/{{entity}}/{{id}}">{{entity}} {{id}}</a>{{#title}} ({{title}}){{/title}}: stage {{stage}}, owner {{owner}}{{#slaDue}}, due {{slaDue}}{{/slaDue}}</p>
    """
}
