extension PageTemplates {
    static let login = """
    <h1>Log in</h1>
    {{> errors}}
    <form method="post" action="/login" class="stack">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="off" spellcheck="false" aria-describedby="key-hint" autofocus>
    <p id="key-hint" class="hint">A key of the form <code>crm.&lt;tenant&gt;.&lt;secret&gt;</code> (<code>crmctl apikey create</code>; <code>make run</code> prints a demo key).</p>
    <button type="submit">Log in</button>
    </form>
    """
}
