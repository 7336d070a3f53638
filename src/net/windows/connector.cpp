// Outgoing connects on Windows (PORT/EPRT): bind, ConnectEx on the completion port, then
// SO_UPDATE_CONNECT_CONTEXT so that getpeername and shutdown work on the socket.
#include "net/listener.hpp"

#include "base/lifetime.hpp"
#include "net/windows/iocp.hpp"
#include "net/windows/sockaddr.hpp"
#include "sys/windows/wide.hpp"

#include <mswsock.h>

#include <memory>

namespace ferry::net {
namespace {

LPFN_CONNECTEX connect_ex_of(SOCKET socket) {
    GUID guid = WSAID_CONNECTEX;
    LPFN_CONNECTEX function = nullptr;
    DWORD bytes = 0;
    if (::WSAIoctl(socket, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &function, sizeof function, &bytes,
                   nullptr, nullptr) != 0)
        return nullptr;
    return function;
}

}  // namespace

struct Connector::Impl {
    struct Attempt final : detail::Completion {
        Impl* owner;
        Socket socket;
        explicit Attempt(Impl* owner) : owner(owner) {}
        void complete(unsigned long, Error error) override {
            std::unique_ptr<Attempt> self(this);
            if (owner) owner->connected(std::move(self), error);
        }
    };

    explicit Impl(Reactor& reactor) : reactor(reactor) {}
    ~Impl() { cancel(); }

    void connect(const Address& to, const std::optional<Address>& from, OnConnect callback) {
        cancel();  // one attempt at a time: a previous one is dropped
        done = std::move(callback);
        auto attempt = std::make_unique<Attempt>(this);
        attempt->socket.reset(detail::new_tcp_socket(to.family()));
        if (!attempt->socket) return finish(sys::windows::last_socket_error(), {});
        // ConnectEx needs a bound socket: the control connection's local address when given
        // (active mode), else any.
        sockaddr_storage storage{};
        int size = 0;
        if (from) {
            const BOOL one = TRUE;
            ::setsockopt(attempt->socket.get(), SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const char*>(&one), sizeof one);
            size = detail::to_sockaddr(*from, storage);
        } else {
            Address any = to.family() == Family::v6 ? *Address::parse("[::]:0") : *Address::parse("0.0.0.0:0");
            size = detail::to_sockaddr(any, storage);
        }
        if (::bind(attempt->socket.get(), reinterpret_cast<sockaddr*>(&storage), size) != 0)
            return finish(sys::windows::last_socket_error(), {});
        const LPFN_CONNECTEX connect_ex = connect_ex_of(attempt->socket.get());
        if (!connect_ex) return finish(sys::windows::last_socket_error(), {});
        detail::associate(reactor, reinterpret_cast<HANDLE>(attempt->socket.get()));
        size = detail::to_sockaddr(to, storage);
        if (!connect_ex(attempt->socket.get(), reinterpret_cast<sockaddr*>(&storage), size, nullptr, 0, nullptr,
                        attempt->overlapped()) &&
            WSAGetLastError() != ERROR_IO_PENDING)
            return finish(sys::windows::last_socket_error(), {});
        pending = attempt.release();
    }

    void connected(std::unique_ptr<Attempt> attempt, const Error& error) {
        pending = nullptr;
        if (!error)
            ::setsockopt(attempt->socket.get(), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, nullptr, 0);
        finish(error, error ? Socket{} : std::move(attempt->socket));
    }

    void cancel() {
        lifetime.renew();
        if (pending) {
            pending->owner = nullptr;
            pending->socket.reset();  // the close cancels the ConnectEx; its packet deletes it
            pending = nullptr;
        }
        done = nullptr;
    }

    void finish(const Error& error, Socket connection) {
        // Delivered from the loop, never from inside connect(); dropped if cancelled meanwhile.
        reactor.defer(lifetime.guard([callback = std::move(done), error, connection = std::move(connection)]() mutable {
            callback(error, std::move(connection));
        }));
        done = nullptr;
    }

    Reactor& reactor;
    Attempt* pending = nullptr;
    OnConnect done;
    Lifetime lifetime;
};

Connector::Connector(Reactor& reactor) : impl_(std::make_unique<Impl>(reactor)) {}
Connector::~Connector() = default;

void Connector::connect(const Address& to, const std::optional<Address>& from, OnConnect done) {
    impl_->connect(to, from, std::move(done));
}

void Connector::cancel() { impl_->cancel(); }

}  // namespace ferry::net
