import Mustache

/// The pages' Mustache templates (hummingbird-project/swift-mustache), kept as Swift strings so the
/// binary carries them and nothing is read from disk at run time. `{{x}}` escapes HTML; only
/// `{{{content}}}` in the layout, which is a template already rendered, does not.
enum PageTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        let templates = ["layout": layout, "errors": errors, "login": login, "dashboard": dashboard, "dashboardPanel": dashboardPanel,
                         "alertRow": alertRow, "record": record, "create": create, "admin": admin, "message": message]
        for (name, text) in templates {
            // The templates are constants of this file: one that does not parse is a programming error.
            try! library.register(text, named: name)
        }
        return library
    }()

    /// Renders `template` with `context` inside the layout.
    static func page(_ template: String, title: String, context: [String: Any], session: [String: Any]?) -> String {
        let content = library.render(context, withTemplate: template) ?? ""
        var layoutContext: [String: Any] = ["title": title, "content": content]
        if let session { layoutContext["session"] = session }
        return library.render(layoutContext, withTemplate: "layout") ?? ""
    }

    static let message = """
    <h1>{{heading}}</h1>
    <p>{{text}}</p>
    <p><a href="{{link}}">{{linkText}}</a></p>
    """
}
