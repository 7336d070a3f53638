// The Prometheus endpoint (metrics_listen): GET /metrics answers `render()`, on libmicrohttpd's
// own thread, never a reactor's. A handful of connections at once, each with a short timeout:
// a scraper, not the public, is expected here.
#pragma once
#include <functional>
#include <memory>
#include <string>

namespace ferry::app {

class MetricsEndpoint {
public:
    using Render = std::function<std::string()>;
    // Listens on `address` ("127.0.0.1:9121"); nullptr with *error when it cannot.
    static std::unique_ptr<MetricsEndpoint> start(const std::string& address, Render render, std::string* error);
    virtual ~MetricsEndpoint() = default;
};

}  // namespace ferry::app
