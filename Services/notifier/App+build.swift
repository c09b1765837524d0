import Hummingbird
import MostradorServiceKit

/// Wires the service: broker connection → workers → HTTP.
func buildApplication(_ configuration: ServiceConfiguration) async throws -> some ApplicationProtocol {
    let connection = ServiceApplication.connection(configuration)
    let router = Router()
    return ServiceApplication.make(configuration: configuration, connection: connection, workers: [], router: router)
}
