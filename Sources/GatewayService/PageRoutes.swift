import CrmKit
import Contracts
import CrmCore
import CrmRedis
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The server-rendered pages: login, the sales dashboard, a record, create forms and the custom-field
/// admin page. They authenticate by the `crm_session` cookie (the API key, HttpOnly, SameSite=Strict);
/// every form post carries the session's CSRF token and, when the browser sends one, a same-origin
/// `Origin`. The pages publish the same commands as the API, as the key's user.
struct PageRoutes: Sendable {
    let gateway: GatewayRoutes
    /// Where the dashboard's numbers come from (DashboardSource.swift).
    let dashboardSource: any DashboardSource
    var refreshSeconds: Int { gateway.settings.dashboardRefreshSeconds }

    init(gateway: GatewayRoutes) {
        self.gateway = gateway
        self.dashboardSource = ProjectionDashboardSource(client: gateway.client)
    }

    func register(on pages: Router<BasicRequestContext>) {
        pages.get("assets/app.css") { _, _ in Self.asset(PageTemplates.css, type: "text/css; charset=utf-8") }
        pages.get("assets/app.js") { _, _ in Self.asset(PageTemplates.javascript, type: "text/javascript; charset=utf-8") }
        pages.get("login") { _, _ in self.render("login", title: "Log in", context: [:], session: nil) }
        pages.post("login") { request, _ in try await self.login(request) }
        pages.post("logout") { request, _ in
            try await self.post(request) { _, _ in Responses.redirect("/login", headers: [.setCookie: PageSession.clearCookie]) }
        }
        pages.get("/") { request, _ in try await self.page(request) { session in try await self.dashboard(session, request: request, panelOnly: false) } }
        pages.get("dashboard/panel") { request, _ in try await self.page(request) { session in try await self.dashboard(session, request: request, panelOnly: true) } }
        pages.get("records/:entity/:id") { request, context in
            try await self.page(request) { session in
                try await self.recordPage(session, entity: context.parameters.get("entity") ?? "", id: context.parameters.get("id") ?? "",
                                          notice: request.uri.queryParameters.get("done").map { String($0) })
            }
        }
        pages.post("records/:entity/:id/apply") { request, context in
            try await self.post(request) { session, form in
                try await self.apply(session, form, entity: context.parameters.get("entity") ?? "", id: context.parameters.get("id") ?? "")
            }
        }
        pages.post("records/:entity/:id/interactions") { request, context in
            try await self.post(request) { session, form in
                try await self.logInteraction(session, form, entity: context.parameters.get("entity") ?? "", id: context.parameters.get("id") ?? "")
            }
        }
        pages.get("attachments/:sha256") { request, context in
            try await self.page(request) { session in try await self.gateway.attachment(tenant: session.caller.tenant, sha256: context.parameters.get("sha256") ?? "") }
        }
        pages.get("new/:entity") { request, context in
            try await self.page(request) { session in try await self.createForm(session, entity: context.parameters.get("entity") ?? "", form: nil, error: nil) }
        }
        pages.post("new/:entity") { request, context in
            try await self.post(request) { session, form in try await self.create(session, form, entity: context.parameters.get("entity") ?? "") }
        }
        pages.get("admin/fields") { request, _ in
            try await self.page(request) { session in
                try await self.adminPage(session, entity: request.uri.queryParameters.get("entity").map { String($0) },
                                         editing: request.uri.queryParameters.get("edit").map { String($0) }, form: nil, error: nil,
                                         notice: request.uri.queryParameters.get("done").map { String($0) })
            }
        }
        pages.post("admin/fields") { request, _ in try await self.post(request) { session, form in try await self.saveField(session, form) } }
        pages.post("admin/fields/retire") { request, _ in try await self.post(request) { session, form in try await self.retireField(session, form) } }
    }

    // MARK: sessions

    /// Runs `body` for a visitor with a working session cookie; sends others to the login page.
    func page(_ request: Request, _ body: (PageSession) async throws -> Response) async throws -> Response {
        guard let key = request.cookies[PageSession.cookieName]?.value, !key.isEmpty,
              case .success(let caller) = try await gateway.caller(forKey: key) else {
            return Responses.redirect("/login", headers: [.setCookie: PageSession.clearCookie])
        }
        if let retryAfter = gateway.rateLimiter.admit(caller.keyHash) {
            var response = render("message", title: "Too many requests", status: .tooManyRequests,
                                  context: ["heading": "Too many requests", "text": "Wait \(retryAfter) seconds and try again.", "link": "/", "linkText": "Dashboard"], session: nil)
            response.headers[.retryAfter] = "\(retryAfter)"
            return response
        }
        return try await body(PageSession(caller: caller, key: key))
    }

    /// A form post of a logged-in visitor: refused (403) without the session's CSRF token or from another origin.
    func post(_ request: Request, _ body: (PageSession, PostedForm) async throws -> Response) async throws -> Response {
        try await page(request) { session in
            if let origin = request.headers[.origin], let host = request.head.authority,
               origin != "http://\(host)", origin != "https://\(host)" {
                return forbidden("The form came from another site (\(origin)).")
            }
            var request = request
            let bytes: ByteBuffer
            do {
                bytes = try await request.collectBody(upTo: gateway.settings.maxUploadBytes)
            } catch {
                return render("message", title: "Too large", status: .contentTooLarge,
                              context: ["heading": "Too large", "text": "The form is over the limit of \(gateway.settings.maxUploadBytes) bytes.", "link": "/", "linkText": "Dashboard"],
                              session: session.layout)
            }
            let form: PostedForm
            if let boundary = request.headers[.contentType].flatMap(MultipartForm.boundary(of:)) {
                guard let parsed = try? MultipartForm(body: Array(buffer: bytes), boundary: boundary) else {
                    return render("message", title: "Unreadable form", status: .badRequest,
                                  context: ["heading": "Unreadable form", "text": "The form's multipart body could not be read.", "link": "/", "linkText": "Dashboard"],
                                  session: session.layout)
                }
                form = .multipart(parsed)
            } else {
                form = .urlEncoded(Array(buffer: bytes))
            }
            guard let token = form["_csrf"], token == session.csrf else { return forbidden("The form's security token is missing or stale; reload the page and try again.") }
            return try await body(session, form)
        }
    }

    func login(_ request: Request) async throws -> Response {
        var request = request
        let bytes = (try? await request.collectBody(upTo: 4096)) ?? ByteBuffer()
        let key = PostedForm.urlEncoded(Array(buffer: bytes)).text("key") ?? ""
        switch try await gateway.caller(forKey: key) {
        case .success:
            return Responses.redirect("/", headers: [.setCookie: PageSession.setCookie(key)])
        case .failure(let refusal):
            return render("login", title: "Log in", status: .unauthorized, context: ["error": ["code": "unauthorized", "message": refusal.message]], session: nil)
        }
    }

    // MARK: rendering

    func render(_ template: String, title: String, status: HTTPResponse.Status = .ok, context: [String: Any], session: [String: Any]?) -> Response {
        Responses.html(status, PageTemplates.page(template, title: title, context: context, session: session))
    }

    func forbidden(_ text: String) -> Response {
        render("message", title: "Refused", status: .forbidden, context: ["heading": "Refused", "text": text, "link": "/", "linkText": "Dashboard"], session: nil)
    }

    func notFound(_ session: PageSession, _ text: String) -> Response {
        render("message", title: "Not found", status: .notFound, context: ["heading": "Not found", "text": text, "link": "/", "linkText": "Dashboard"], session: session.layout)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The error summary's context for a refused command.
    static func errorContext(_ sent: GatewayRoutes.Sent) -> [String: Any]? {
        switch sent {
        case .accepted: return nil
        case .rejected(_, let code, let message, let field):
            var error: [String: Any] = ["code": code, "message": message]
            if let field { error["field"] = field }
            return error
        case .pending(let id): return ["code": "pending", "message": "The command \(id) is still being handled; reload in a moment."]
        case .refused(let code, let message): return ["code": code, "message": message]
        }
    }

    static func status(of sent: GatewayRoutes.Sent) -> HTTPResponse.Status {
        if case .rejected(_, let code, _, _) = sent { return Responses.status(forRejection: code) }
        if case .refused = sent { return .badRequest }
        return .accepted
    }

    /// The fixed confirmations a redirect may ask for (`?done=`), so a link cannot put words on the page.
    static func notice(_ done: String?) -> String? {
        switch done {
        case "created": return "Created."
        case "applied": return "Action applied."
        case "logged": return "Interaction logged."
        case "saved": return "Field saved; it applies to the next write."
        case "retired": return "Field retired; it takes no new writes."
        default: return nil
        }
    }
}
