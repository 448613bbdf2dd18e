extension PageTemplates {
    /// Every page: a skip link, the navigation (when logged in), the page's content, the shared CSS and JS.
    static let layout = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{title}} · Nexus CRM</title>
    <link rel="stylesheet" href="/assets/app.css">
    <script src="/assets/app.js" defer></script>
    </head>
    <body>
    <a class="skip" href="#main">Skip to content</a>
    <header>
    <p class="brand">Nexus CRM</p>
    {{#session}}
    <nav aria-label="Main">
    <ul>
    <li><a href="/">Dashboard</a></li>
    <li><a href="/new/lead">New lead</a></li>
    <li><a href="/new/opportunity">New opportunity</a></li>
    <li><a href="/admin/fields">Custom fields</a></li>
    </ul>
    </nav>
    <form method="post" action="/logout" class="logout">
    <input type="hidden" name="_csrf" value="{{csrf}}">
    <span>{{user}} · {{tenant}}</span>
    <button type="submit">Log out</button>
    </form>
    {{/session}}
    </header>
    <main id="main" tabindex="-1">
    {{{content}}}
    </main>
    </body>
    </html>
    """

    /// The error summary a form shows above itself when the service refused it.
    static let errors = """
    {{#error}}
    <div id="errors" class="errors" role="alert" tabindex="-1">
    <h2>Not saved</h2>
    <p><span class="code">{{code}}</span>: {{message}}{{#field}} (field <code>{{field}}</code>){{/field}}</p>
    </div>
    {{/error}}
    {{#notice}}
    <p class="notice" role="status">{{notice}}</p>
    {{/notice}}
    """
}
