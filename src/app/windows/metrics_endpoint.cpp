// libmicrohttpd is not built for Windows yet: metrics_listen is refused there with the reason.
#include "app/metrics_endpoint.hpp"

namespace ferry::app {

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const std::string&, Render, std::string* error) {
    *error = "metrics_listen: the Prometheus endpoint is not built for Windows yet (libmicrohttpd is not cross-built)";
    return nullptr;
}

}  // namespace ferry::app
