import Hummingbird

/// Operational endpoints: `/health` for load balancers and `/metrics` for Prometheus.
struct ServiceRoutes {
    let state: ServerState

    func register(on router: Router<ServerRequestContext>) {
        router.get("/health") { _, _ in await health() }
        router.head("/health") { _, _ in await health() }
        router.get("/metrics") { _, _ in await metrics() }
    }

    /// 200 `{"status": "ok"}` while serving; 503 `{"status": "loading model"}` while a model loads.
    func health() async -> Response {
        if await state.manager.isLoading {
            return .json(object(("status", .string("loading model"))), status: .serviceUnavailable)
        }
        return .json(object(("status", .string("ok"))))
    }

    func metrics() async -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let text = await state.metrics.render(manager: state.manager)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
