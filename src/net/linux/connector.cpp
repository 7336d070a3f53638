// Outgoing connects on Linux: a non-blocking connect, then writability says it is done.
#include "net/listener.hpp"

#include "base/lifetime.hpp"
#include "net/linux/readiness.hpp"
#include "net/linux/sockaddr.hpp"
#include "sys/posix/errno.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace ferry::net {

struct Connector::Impl final : private detail::ReadinessHandler {
    explicit Impl(Reactor& reactor) : reactor(reactor) {}
    ~Impl() { cancel(); }

    void connect(const Address& to, const std::optional<Address>& from, OnConnect callback) {
        cancel();  // one attempt at a time: a previous one is dropped
        done = std::move(callback);
        socket.reset(::socket(detail::native_family(to.family()), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!socket) return finish(errno);
        sockaddr_storage storage{};
        if (from) {
            // Active-mode FTP binds the data connection to the control connection's local address
            // (often port 20); SO_REUSEADDR lets many such connects share it.
            const int one = 1;
            if (::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return finish(errno);
            const socklen_t size = detail::to_sockaddr(*from, storage);
            if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&storage), size) != 0) return finish(errno);
        }
        const socklen_t size = detail::to_sockaddr(to, storage);
        if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&storage), size) == 0) return finish(0);
        if (errno != EINPROGRESS && errno != EINTR) return finish(errno);
        detail::watch(reactor, socket.get(), this);
        registered = true;
    }

    void cancel() {
        lifetime.renew();
        forget_socket();
        socket.reset();
        done = nullptr;
    }

    void forget_socket() {
        if (registered) detail::unwatch(reactor, socket.get());
        registered = false;
    }

    void on_readable() override {}
    void on_writable() override {
        if (!registered) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        finish(err);
    }
    void on_error() override { on_writable(); }

    void finish(int err) {
        forget_socket();
        // If the completion is dropped (cancel, destruction) the connection is closed with it.
        Socket connection = err == 0 ? std::move(socket) : Socket{};
        socket.reset();
        // Delivered from the loop, never from inside connect(); dropped if cancelled meanwhile.
        reactor.defer(lifetime.guard([callback = std::move(done), err, connection = std::move(connection)]() mutable {
            callback(sys::from_errno(err), std::move(connection));
        }));
        done = nullptr;
    }

    Reactor& reactor;
    Socket socket;
    OnConnect done;
    bool registered = false;  // socket is in the reactor, waiting for writability
    Lifetime lifetime;        // renewed by cancel() and connect(); deferred completions check it
};

Connector::Connector(Reactor& reactor) : impl_(std::make_unique<Impl>(reactor)) {}
Connector::~Connector() = default;

void Connector::connect(const Address& to, const std::optional<Address>& from, OnConnect done) {
    impl_->connect(to, from, std::move(done));
}

void Connector::cancel() { impl_->cancel(); }

}  // namespace ferry::net
