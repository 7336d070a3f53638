#include "app/metrics_endpoint.hpp"

#include "base/log.hpp"
#include "net/address.hpp"
#include "net/linux/sockaddr.hpp"

#include <microhttpd.h>

namespace ferry::app {
namespace {

constexpr unsigned max_connections = 16;
constexpr unsigned connection_timeout_s = 10;

MHD_Result answer(MHD_Connection* connection, unsigned status, const std::string& body, const char* type) {
    MHD_Response* response = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                                             MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    const MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

class MhdEndpoint final : public MetricsEndpoint {
public:
    explicit MhdEndpoint(Render render) : render_(std::move(render)) {}
    ~MhdEndpoint() override {
        if (daemon_) MHD_stop_daemon(daemon_);
    }

    bool start(const net::Address& address, std::string* error) {
        sockaddr_storage storage{};
        if (net::detail::to_sockaddr(address, storage) == 0) return *error = "not an address", false;
        const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                               (address.family() == net::Family::v6 ? MHD_USE_IPv6 : 0);
        daemon_ = MHD_start_daemon(flags, address.port(), nullptr, nullptr, &MhdEndpoint::on_request, this,
                                   MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&storage),
                                   MHD_OPTION_CONNECTION_LIMIT, max_connections,
                                   MHD_OPTION_CONNECTION_TIMEOUT, connection_timeout_s, MHD_OPTION_END);
        if (!daemon_) *error = cat("cannot listen on ", address.to_string(), " (taken, or not an address of this host)");
        return daemon_ != nullptr;
    }

private:
    static MHD_Result on_request(void* self, MHD_Connection* connection, const char* url, const char* method,
                                 const char*, const char*, size_t* upload_size, void** state) {
        if (*state == nullptr) {  // the headers: answer once the (empty) body is in
            *state = self;
            return MHD_YES;
        }
        if (*upload_size != 0) {
            *upload_size = 0;  // a body is not for us; it is dropped
            return MHD_YES;
        }
        const std::string_view path(url);
        if (std::string_view(method) != "GET" && std::string_view(method) != "HEAD")
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n", "text/plain");
        if (path != "/metrics") return answer(connection, MHD_HTTP_NOT_FOUND, "GET /metrics\n", "text/plain");
        return answer(connection, MHD_HTTP_OK, static_cast<MhdEndpoint*>(self)->render_(),
                      "text/plain; version=0.0.4; charset=utf-8");
    }

    Render render_;
    MHD_Daemon* daemon_ = nullptr;
};

}  // namespace

std::unique_ptr<MetricsEndpoint> MetricsEndpoint::start(const std::string& text, Render render, std::string* error) {
    const auto address = net::Address::parse(text);
    if (!address) {
        *error = cat("metrics_listen: \"", text, "\" is not an address:port");
        return nullptr;
    }
    auto endpoint = std::make_unique<MhdEndpoint>(std::move(render));
    if (!endpoint->start(*address, error)) return nullptr;
    return endpoint;
}

}  // namespace ferry::app
