import ArgumentParser
import Foundation
import Server
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct PsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "List the models a running 'swiftlm serve' has loaded.",
        discussion: "Asks the server's /api/ps at SWIFTLM_HOST / OLLAMA_HOST (default 127.0.0.1:11434)."
    )

    @Option(help: "Server address, host[:port] (default: SWIFTLM_HOST, OLLAMA_HOST, or 127.0.0.1:11434).")
    var host: String?
    @Flag(help: "Print the server's JSON as it is.")
    var json = false

    struct Listing: Decodable {
        struct Model: Decodable {
            var name: String
            var digest: String?
            var size: Int64?
            var expires_at: String?
            var context_length: Int?
            var kv_cache_type: String?
            var kv_cache_bytes_per_slot: Int64?
            var parallel: Int?
        }
        var models: [Model]
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var address = ServerConfiguration.hostFromEnvironment(env) ?? ("127.0.0.1", nil)
        if let host { address = ServerConfiguration.parseHost(host) }
        var hostPart = address.host == "0.0.0.0" ? "127.0.0.1" : address.host
        if hostPart.contains(":") { hostPart = "[\(hostPart)]" }
        guard let url = URL(string: "http://\(hostPart):\(address.port ?? 11434)/api/ps") else {
            throw ValidationError("invalid server address \(address.host)")
        }
        var request = URLRequest(url: url)
        if let key = env["SWIFTLM_API_KEY"], !key.isEmpty { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CommandFailure("could not reach the server at \(url.absoluteString): is 'swiftlm serve' running? (\(error.localizedDescription))")
        }
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            throw CommandFailure("the server answered \(http.statusCode): \(String(decoding: data, as: UTF8.self))")
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let listing = try JSONDecoder().decode(Listing.self, from: data)
        let rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "KV CACHE", "UNTIL"]] + listing.models.map { m in
            [m.name, String((m.digest ?? "").prefix(12)), m.size.map(HumanFormat.bytes) ?? "", "100% CPU",
             m.context_length.map(String.init) ?? "", Self.kvCache(m), Self.until(m.expires_at)]
        }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "    "))
        }
    }

    /// "24 MB/slot f16 x 4": one slot's KV cache at the listed context, its type and the slots.
    static func kvCache(_ m: Listing.Model) -> String {
        guard let bytes = m.kv_cache_bytes_per_slot, let type = m.kv_cache_type else { return "" }
        return "\(HumanFormat.bytes(bytes))/slot \(type)" + (m.parallel.map { " x \($0)" } ?? "")
    }

    /// "4 minutes from now", "Forever" (more than a century away), or "Stopping..." when due.
    static func until(_ timestamp: String?) -> String {
        guard let timestamp, let date = try? Date(timestamp, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else {
            return ""
        }
        let seconds = date.timeIntervalSinceNow
        if seconds > 100 * 365 * 86400 { return "Forever" }
        if seconds <= 0 { return "Stopping..." }
        if seconds < 60 { return "\(Int(seconds)) seconds from now" }
        if seconds < 3600 { return "\(Int(seconds / 60)) minutes from now" }
        return "\(Int(seconds / 3600)) hours from now"
    }
}
