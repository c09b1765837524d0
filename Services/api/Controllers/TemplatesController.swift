import Foundation
import Hummingbird

/// `/api/templates`: the shop's templates — ready-made messages (`tipo: mensaje`, what "Notificar" and quick replies
/// send, with `{nombre}` and `{ticket}`) and the WhatsApp templates registered with Meta (`tipo: whatsapp`, with
/// Meta's decision on each). Agents read them; admins create, edit (`PUT`), record Meta's decision (`PATCH`) and
/// delete them. Mostrador cannot ask Meta to approve a template: an admin registers it as it was submitted in
/// WhatsApp Manager and records the decision when Meta gives it; editing one sends it back to `pending`.
struct TemplatesController {
    let templates: MessageTemplates
    let audit: AuditStore

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/templates", use: list)
        group.post("api/templates", use: create)
        group.put("api/templates/:template", use: replace)
        group.patch("api/templates/:template", use: update)
        group.delete("api/templates/:template", use: delete)
    }

    struct ContentBody: Decodable {
        let kind: String?
        let name: String?
        let language: String?
        let category: String?
        let body: String?
        let status: String?
        enum CodingKeys: String, CodingKey {
            case kind = "tipo"
            case name = "nombre"
            case language = "idioma"
            case category = "categoria"
            case body = "cuerpo"
            case status = "estado"
        }
    }

    struct UpdateBody: Decodable {
        let status: String?
        enum CodingKeys: String, CodingKey { case status = "estado" }
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [MessageTemplateJSON] {
        _ = try context.requireAgent
        let kind = try request.uri.queryParameters["tipo"].map { try Self.kind(String($0)) }
        return try await templates.all(kind: kind).map(MessageTemplateJSON.init)
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        MessageTemplateJSON
    > {
        let admin = try context.requireAdmin(to: "editar plantillas")
        let body = try await request.decodeJSON(ContentBody.self, limit: 16 << 10)
        let kind = try Self.kind(body.kind ?? MessageTemplate.Kind.whatsapp.rawValue)
        let content = try Self.content(body, kind: kind)
        let status = kind == .message ? .approved : try Self.status(body.status) ?? .pending
        guard
            let created = try await templates.add(
                kind: kind, name: content.name, language: content.language, category: content.category,
                body: content.body, status: status)
        else {
            throw APIError(
                status: .conflict, detail: "Ya existe la plantilla '\(content.name)' en '\(content.language)'")
        }
        try await record("create", created, by: admin)
        return EditedResponse(status: .created, response: MessageTemplateJSON(created))
    }

    /// `PUT`: new name, language, body (and category) for a template of either kind.
    @Sendable func replace(_ request: Request, context: APIRequestContext) async throws -> MessageTemplateJSON {
        let admin = try context.requireAdmin(to: "editar plantillas")
        let id = try Self.id(context)
        let body = try await request.decodeJSON(ContentBody.self, limit: 16 << 10)
        guard let current = try await templates.find(id) else { throw APIError.notFound("Plantilla no encontrada") }
        let content = try Self.content(body, kind: current.kind)
        switch try await templates.update(
            id,
            .content(name: content.name, language: content.language, body: content.body, category: content.category))
        {
        case .updated(let template):
            try await record("update", template, by: admin)
            return MessageTemplateJSON(template)
        case .missing: throw APIError.notFound("Plantilla no encontrada")
        case .duplicate:
            throw APIError(
                status: .conflict, detail: "Ya existe la plantilla '\(content.name)' en '\(content.language)'")
        }
    }

    /// `PATCH`: Meta's decision on a WhatsApp template.
    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> MessageTemplateJSON {
        let admin = try context.requireAdmin(to: "editar plantillas")
        let id = try Self.id(context)
        let body = try await request.decodeJSON(UpdateBody.self, limit: 4 << 10)
        guard let status = try Self.status(body.status) else { throw APIError.badRequest("Falta el campo 'estado'") }
        guard let current = try await templates.find(id) else { throw APIError.notFound("Plantilla no encontrada") }
        guard current.kind == .whatsapp else {
            throw APIError.badRequest("Solo las plantillas de WhatsApp tienen estado de aprobación")
        }
        guard case .updated(let updated) = try await templates.update(id, .status(status)) else {
            throw APIError.notFound("Plantilla no encontrada")
        }
        try await record("update", updated, by: admin, details: ["estado": status.rawValue])
        return MessageTemplateJSON(updated)
    }

    @Sendable func delete(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: "editar plantillas")
        let id = try Self.id(context)
        let current = try await templates.find(id)
        guard try await templates.delete(id), let current else {
            throw APIError.notFound("Plantilla no encontrada")
        }
        try await record("delete", current, by: admin)
        return Response(status: .noContent)
    }

    /// `template.*` for WhatsApp templates, `message_template.*` for ready-made messages.
    func record(_ verb: String, _ template: MessageTemplate, by admin: Agent, details: [String: String] = [:])
        async throws
    {
        var details = details
        details["nombre"] = template.name
        let family = template.kind == .whatsapp ? "template" : "message_template"
        try await audit.record(
            AuditEntry("\(family).\(verb)", by: admin, target: (family, String(template.id)), details: details))
    }

    // MARK: Parameters

    static func id(_ context: APIRequestContext) throws -> Int64 {
        guard let text = context.parameters.get("template"), let id = Int64(text) else {
            throw APIError.notFound("Plantilla no encontrada")
        }
        return id
    }

    static func kind(_ text: String) throws -> MessageTemplate.Kind {
        guard let kind = MessageTemplate.Kind(rawValue: text.lowercased()) else {
            throw APIError.badRequest("'tipo' debe ser mensaje o whatsapp")
        }
        return kind
    }

    /// The fields of a template of `kind`, checked by its rules (Meta's for WhatsApp templates).
    static func content(_ body: ContentBody, kind: MessageTemplate.Kind) throws -> (
        name: String, language: String, body: String, category: String
    ) {
        let name = try body.name.required(field: "nombre")
        let text = try body.body.required(field: "cuerpo")
        do {
            switch kind {
            case .message:
                let language = body.language ?? "es"
                try MessageTemplate.checkMessage(name: name, language: language, body: text)
                return (name.trimmingCharacters(in: .whitespacesAndNewlines), language, text, "")
            case .whatsapp:
                let language = try body.language.required(field: "idioma")
                let category = (body.category ?? "UTILITY").uppercased()
                guard ["UTILITY", "MARKETING", "AUTHENTICATION"].contains(category) else {
                    throw APIError.badRequest("'categoria' debe ser UTILITY, MARKETING o AUTHENTICATION")
                }
                try MessageTemplate.checkName(name)
                try MessageTemplate.checkLanguage(language)
                try MessageTemplate.checkBody(text)
                return (name, language, text, category)
            }
        } catch MessageTemplate.Problem.invalid(let detail) {
            throw APIError.badRequest(detail)
        }
    }

    static func status(_ text: String?) throws -> MessageTemplate.Status? {
        guard let text else { return nil }
        guard let status = MessageTemplate.Status(rawValue: text.lowercased()) else {
            throw APIError.badRequest("'estado' debe ser pending, approved, rejected, paused o disabled")
        }
        return status
    }
}

/// A template as the panel lists it.
struct MessageTemplateJSON: ResponseEncodable, Sendable {
    let id: Int64
    let kind: MessageTemplate.Kind
    let name: String
    let language: String
    let category: String
    let body: String
    let parameters: Int
    let status: MessageTemplate.Status
    let updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case kind = "tipo"
        case name = "nombre"
        case language = "idioma"
        case category = "categoria"
        case body = "cuerpo"
        case parameters = "parametros"
        case status = "estado"
        case updatedAt = "updated_at"
    }

    init(_ template: MessageTemplate) {
        id = template.id
        kind = template.kind
        name = template.name
        language = template.language
        category = template.category
        body = template.body
        parameters = template.kind == .whatsapp ? template.parameterCount : 0
        status = template.status
        updatedAt = template.updatedAt
    }
}
