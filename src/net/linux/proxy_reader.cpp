// The PROXY header off a fresh socket on Linux: peek at what has arrived until it parses, then take
// exactly the header's bytes. Edge-triggered: a peek leaves the bytes queued, and the next edge
// comes with the next segment, so a header split across segments is read when its rest arrives.
#include "net/proxy_reader.hpp"

#include "base/lifetime.hpp"
#include "net/linux/readiness.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

namespace ferry::net {

bool ProxyReader::supported() { return true; }

struct ProxyReader::Impl final : private detail::ReadinessHandler {
    Impl(Reactor& reactor, Socket connection, std::chrono::milliseconds timeout, Done done)
        : reactor(reactor), socket(std::move(connection)), done(std::move(done)) {
        timer = reactor.add_timer(timeout, [this, timeout] {
            timer = 0;
            finish(ProxyHeader::invalid("no PROXY protocol header within " + std::to_string(timeout.count()) + " ms"));
        });
        detail::watch(reactor, socket.get(), this);  // data already there comes as a first edge
        watching = true;
    }
    ~Impl() {
        if (timer) reactor.cancel_timer(timer);
        if (watching) detail::unwatch(reactor, socket.get());
    }

    void on_readable() override {
        if (!done) return;
        char buffer[max_proxy_header];
        const ssize_t got = ::recv(socket.get(), buffer, sizeof buffer, MSG_PEEK);
        if (got < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            return finish(ProxyHeader::invalid(std::string("reading the PROXY header: ") + std::strerror(errno)));
        }
        if (got == 0) return finish(ProxyHeader::invalid("closed before a PROXY protocol header"));
        ProxyHeader header = parse_proxy_header({buffer, static_cast<std::size_t>(got)});
        if (header.status == ProxyHeader::Status::incomplete) return;  // the rest comes with a later edge
        if (header.status == ProxyHeader::Status::done &&
            ::recv(socket.get(), buffer, header.length, 0) != static_cast<ssize_t>(header.length))
            header = ProxyHeader::invalid("the PROXY header could not be taken off the socket");
        finish(std::move(header));
    }
    void on_writable() override {}
    void on_error() override { on_readable(); }

    // From the loop, never from inside the constructor's watch(): the owner may destroy us in it.
    void finish(ProxyHeader header) {
        if (!done) return;
        if (timer) reactor.cancel_timer(std::exchange(timer, 0));
        detail::unwatch(reactor, socket.get());
        watching = false;
        reactor.defer(lifetime.guard([this, header = std::move(header)]() mutable {
            auto callback = std::move(done);
            done = nullptr;
            callback(std::move(socket), std::move(header));
        }));
    }

    Reactor& reactor;
    Socket socket;
    Done done;
    Reactor::TimerId timer = 0;
    bool watching = false;
    Lifetime lifetime;
};

ProxyReader::ProxyReader(Reactor& reactor, Socket connection, std::chrono::milliseconds timeout, Done done)
    : impl_(std::make_unique<Impl>(reactor, std::move(connection), timeout, std::move(done))) {}
ProxyReader::~ProxyReader() = default;

}  // namespace ferry::net
