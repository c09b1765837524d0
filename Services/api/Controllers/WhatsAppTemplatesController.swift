import Foundation
import Hummingbird

/// `GET /api/templates` (agents) and `POST /api/templates`, `PATCH /api/templates/{id}` (admins): the WhatsApp
/// templates registered with Meta, with Meta's decision on each. Mostrador cannot ask Meta to approve one: an admin
/// registers it here as it was submitted in WhatsApp Manager and records the decision when Meta gives it.
struct WhatsAppTemplatesController {
    let templates: WhatsAppTemplates

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/templates", use: list)
        group.post("api/templates", use: create)
        group.patch("api/templates/:template", use: update)
    }

    struct CreateBody: Decodable {
        let name: String?
        let language: String?
        let category: String?
        let body: String?
        let status: String?
        enum CodingKeys: String, CodingKey {
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

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> [WhatsAppTemplateJSON] {
        _ = try context.requireAgent
        return try await templates.all().map(WhatsAppTemplateJSON.init)
    }

    @Sendable func create(_ request: Request, context: APIRequestContext) async throws -> EditedResponse<
        WhatsAppTemplateJSON
    > {
        try context.requireAdmin(to: "registrar plantillas de WhatsApp")
        let body = try await request.decodeJSON(CreateBody.self, limit: 16 << 10)
        let name = try body.name.required(field: "nombre")
        let language = try body.language.required(field: "idioma")
        let text = try body.body.required(field: "cuerpo")
        let category = (body.category ?? "UTILITY").uppercased()
        guard ["UTILITY", "MARKETING", "AUTHENTICATION"].contains(category) else {
            throw APIError.badRequest("'categoria' debe ser UTILITY, MARKETING o AUTHENTICATION")
        }
        let status = try Self.status(body.status) ?? .pending
        do {
            try WhatsAppTemplate.checkName(name)
            try WhatsAppTemplate.checkLanguage(language)
            try WhatsAppTemplate.checkBody(text)
        } catch .invalid(let detail) {
            throw APIError.badRequest(detail)
        }
        guard
            let created = try await templates.add(
                name: name, language: language, category: category, body: text, status: status)
        else {
            throw APIError(status: .conflict, detail: "Ya existe la plantilla '\(name)' en '\(language)'")
        }
        return EditedResponse(status: .created, response: WhatsAppTemplateJSON(created))
    }

    @Sendable func update(_ request: Request, context: APIRequestContext) async throws -> WhatsAppTemplateJSON {
        try context.requireAdmin(to: "registrar plantillas de WhatsApp")
        guard let text = context.parameters.get("template"), let id = Int64(text) else {
            throw APIError.notFound("Plantilla no encontrada")
        }
        let body = try await request.decodeJSON(UpdateBody.self, limit: 4 << 10)
        guard let status = try Self.status(body.status) else { throw APIError.badRequest("Falta el campo 'estado'") }
        guard let updated = try await templates.setStatus(id, status) else {
            throw APIError.notFound("Plantilla no encontrada")
        }
        return WhatsAppTemplateJSON(updated)
    }

    static func status(_ text: String?) throws -> WhatsAppTemplate.Status? {
        guard let text else { return nil }
        guard let status = WhatsAppTemplate.Status(rawValue: text.lowercased()) else {
            throw APIError.badRequest("'estado' debe ser pending, approved, rejected, paused o disabled")
        }
        return status
    }

}

/// A WhatsApp template as the panel lists it.
struct WhatsAppTemplateJSON: ResponseEncodable, Sendable {
    let id: Int64
    let name: String
    let language: String
    let category: String
    let body: String
    let parameters: Int
    let status: WhatsAppTemplate.Status
    let updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case name = "nombre"
        case language = "idioma"
        case category = "categoria"
        case body = "cuerpo"
        case parameters = "parametros"
        case status = "estado"
        case updatedAt = "updated_at"
    }

    init(_ template: WhatsAppTemplate) {
        id = template.id
        name = template.name
        language = template.language
        category = template.category
        body = template.body
        parameters = template.parameterCount
        status = template.status
        updatedAt = template.updatedAt
    }
}
