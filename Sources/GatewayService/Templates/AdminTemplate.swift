extension PageTemplates {
    /// Custom fields per entity (FUN-CRM-0289): add, edit, retire; they apply to the next write at once.
    static let admin = """
    <h1>Custom fields</h1>
    {{> errors}}
    {{#entities}}
    <section aria-labelledby="fields-{{entity}}">
    <h2 id="fields-{{entity}}">{{entity}}</h2>
    <table>
    <caption>Custom fields of {{entity}} (version {{version}})</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Rule</th><th scope="col"><span class="visually-hidden">Change</span></th></tr></thead>
    <tbody>
    {{#custom}}
    <tr><td>{{name}}</td><td>{{type}}</td><td>{{required}}</td><td>{{rule}}</td>
    <td class="row-actions"><a href="/admin/fields?entity={{entity}}&amp;edit={{name}}#field-form">Edit {{name}}</a>
    <form method="post" action="/admin/fields/retire"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="entity" value="{{entity}}"><input type="hidden" name="name" value="{{name}}"><button type="submit">Retire {{name}}</button></form></td></tr>
    {{/custom}}
    {{^custom}}<tr><td colspan="5">None yet.</td></tr>{{/custom}}
    </tbody>
    </table>
    <p>Retired (values kept, no new writes): {{#retired}}<span class="tag">{{.}}</span> {{/retired}}{{^retired}}none{{/retired}}</p>
    <p>The definition's own fields: {{#definitionFields}}<span class="tag">{{.}}</span> {{/definitionFields}}{{^definitionFields}}none (no definition published){{/definitionFields}}</p>
    </section>
    {{/entities}}
    <section aria-labelledby="field-form-heading">
    <h2 id="field-form-heading">{{#editing}}Edit a field{{/editing}}{{^editing}}Add a field{{/editing}}</h2>
    <form id="field-form" method="post" action="/admin/fields" class="stack" novalidate>
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <label for="fd-entity">Entity</label>
    <select id="fd-entity" name="entity">{{#entityOptions}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/entityOptions}}</select>
    <label for="fd-name">Name</label>
    <input id="fd-name" name="name" value="{{form.name}}" aria-describedby="fd-name-hint">
    <p id="fd-name-hint" class="hint">Lower-case letters, digits and _; not a field of the definition.</p>
    <label for="fd-type">Type</label>
    <select id="fd-type" name="type">{{#typeOptions}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/typeOptions}}</select>
    <div class="check"><input id="fd-required" name="required" type="checkbox" value="true"{{#form.required}} checked{{/form.required}}><label for="fd-required">Required</label></div>
    <label for="fd-min">Minimum (numbers)</label>
    <input id="fd-min" name="min" inputmode="decimal" value="{{form.min}}">
    <label for="fd-max">Maximum (numbers)</label>
    <input id="fd-max" name="max" inputmode="decimal" value="{{form.max}}">
    <label for="fd-minlength">Minimum length (text, lists)</label>
    <input id="fd-minlength" name="minLength" inputmode="numeric" value="{{form.minLength}}">
    <label for="fd-maxlength">Maximum length (text, lists)</label>
    <input id="fd-maxlength" name="maxLength" inputmode="numeric" value="{{form.maxLength}}">
    <label for="fd-values">Allowed values (enum; comma-separated)</label>
    <input id="fd-values" name="values" value="{{form.values}}">
    <button type="submit">Save field</button>
    </form>
    </section>
    """
}
