extension PageTemplates {
    /// A record: its stage and data, the actions the user may take, its interactions and its timeline.
    static let record = """
    <h1>{{entity}} {{id}}{{#title}}: {{title}}{{/title}}</h1>
    {{> errors}}
    <p>Stage <span class="stage" id="stage">{{stage}}</span> · version <span id="version">{{version}}</span> · definition v{{definitionVersion}}</p>
    <section aria-labelledby="actions-heading">
    <h2 id="actions-heading">Actions</h2>
    {{#hasActions}}
    <ul class="actions">
    {{#actions}}
    <li>
    <form method="post" action="/records/{{entity}}/{{id}}/apply">
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <input type="hidden" name="action" value="{{action}}">
    <input type="hidden" name="expectedVersion" value="{{version}}">
    <button type="submit" name="go" value="{{action}}">{{action}} → {{to}}</button>
    </form>
    </li>
    {{/actions}}
    </ul>
    {{/hasActions}}
    {{^hasActions}}<p>No action you may take from this stage.</p>{{/hasActions}}
    </section>
    <section aria-labelledby="data-heading">
    <h2 id="data-heading">Data</h2>
    <dl>
    {{#fields}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/fields}}
    </dl>
    </section>
    <section aria-labelledby="interactions-heading">
    <h2 id="interactions-heading">Interactions</h2>
    {{#interactions}}
    <article class="interaction">
    <h3>{{kind}} · {{occurredAt}} · {{actor}}</h3>
    <p>{{notes}}</p>
    {{#attachments}}<p><a href="/attachments/{{sha256}}" download="{{name}}">{{name}}</a> ({{size}} bytes, {{contentType}})</p>{{/attachments}}
    </article>
    {{/interactions}}
    {{^interactions}}<p>None logged.</p>{{/interactions}}
    <form method="post" action="/records/{{entity}}/{{id}}/interactions" enctype="multipart/form-data" class="stack">
    <h3>Log an interaction</h3>
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <label for="interaction-kind">Kind</label>
    <select id="interaction-kind" name="kind">{{#interactionKinds}}<option>{{.}}</option>{{/interactionKinds}}</select>
    <label for="interaction-notes">Notes</label>
    <textarea id="interaction-notes" name="notes" rows="3"></textarea>
    <label for="interaction-files">Attachments</label>
    <input id="interaction-files" name="files" type="file" multiple aria-describedby="files-hint">
    <p id="files-hint" class="hint">Up to {{maxUploadBytes}} bytes in all.</p>
    <button type="submit">Log interaction</button>
    </form>
    </section>
    <section aria-labelledby="timeline-heading">
    <h2 id="timeline-heading">Timeline</h2>
    <ol class="timeline">
    {{#timeline}}<li><time>{{occurredAt}}</time> <strong>{{type}}</strong> by {{actor}}{{#summary}}: {{summary}}{{/summary}}</li>{{/timeline}}
    </ol>
    </section>
    """

    /// The form that creates a lead or an opportunity, one input per field of the definition and the custom fields.
    static let create = """
    <h1>New {{entity}}</h1>
    {{> errors}}
    <form method="post" action="/new/{{entity}}" class="stack" novalidate>
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <label for="record-id">Id (optional)</label>
    <input id="record-id" name="_id" value="{{recordId}}" aria-describedby="record-id-hint">
    <p id="record-id-hint" class="hint">Letters, digits, . _ -; one is made up when empty.</p>
    {{#inputs}}
    <label for="field-{{name}}">{{name}}{{#required}} (required){{/required}}{{#custom}} · custom{{/custom}}</label>
    {{#isEnum}}<select id="field-{{name}}" name="f.{{name}}" aria-describedby="hint-{{name}}"{{#invalid}} aria-invalid="true"{{/invalid}}><option value="">—</option>{{#options}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/options}}</select>{{/isEnum}}
    {{#isBoolean}}<select id="field-{{name}}" name="f.{{name}}" aria-describedby="hint-{{name}}"{{#invalid}} aria-invalid="true"{{/invalid}}><option value="">—</option><option value="true">yes</option><option value="false">no</option></select>{{/isBoolean}}
    {{#isInput}}<input id="field-{{name}}" name="f.{{name}}" type="{{inputType}}" value="{{value}}" aria-describedby="hint-{{name}}"{{#invalid}} aria-invalid="true"{{/invalid}}>{{/isInput}}
    <p id="hint-{{name}}" class="hint">{{hint}}</p>
    {{/inputs}}
    <button type="submit">Create {{entity}}</button>
    </form>
    """
}
