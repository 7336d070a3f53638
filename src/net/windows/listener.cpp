// Listening sockets on Windows: AcceptEx, a few accepts posted ahead on the completion port.
// Each accepted socket is created by us beforehand, so it is not tied to any port until the
// stream that takes it (possibly on another reactor) associates it.
#include "net/listener.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "net/windows/iocp.hpp"
#include "net/windows/sockaddr.hpp"
#include "sys/windows/wide.hpp"

#include <mswsock.h>

#include <deque>
#include <vector>

namespace ferry::net {
namespace {

// Accepts kept posted: a burst of connections finds them waiting, as in the kernel's backlog.
constexpr int accepts_ahead = 8;
constexpr std::chrono::milliseconds out_of_handles_pause{100};
constexpr DWORD address_space = sizeof(sockaddr_storage) + 16;  // what AcceptEx wants per address

int set_flag(SOCKET socket, int level, int option) {
    const BOOL one = TRUE;
    return ::setsockopt(socket, level, option, reinterpret_cast<const char*>(&one), sizeof one) == 0 ? 0 : WSAGetLastError();
}

}  // namespace

Status tune_control_socket(const Socket& socket) {
    if (int err = set_flag(socket.get(), IPPROTO_TCP, TCP_NODELAY)) return sys::windows::from_win32(err);
    return sys::windows::from_win32(set_flag(socket.get(), SOL_SOCKET, SO_OOBINLINE));
}

void send_parting_words(const Socket& socket, std::string_view text) {
    // A fresh socket from AcceptEx is blocking-capable: make this one send non-blocking.
    u_long non_blocking = 1;
    ::ioctlsocket(socket.get(), FIONBIO, &non_blocking);
    [[maybe_unused]] const int sent = ::send(socket.get(), text.data(), static_cast<int>(text.size()), 0);
}

Address local_address_of(const Socket& socket) { return detail::local_of(socket.get()); }

Result<Socket> bind_listen(const Address& address, int backlog) {
    if (address.family() == Family::none) return Error(Errc::unsupported);
    detail::start_winsock();
    Socket socket(detail::new_tcp_socket(address.family()));
    if (!socket) return sys::windows::last_socket_error();
    // SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: on Windows the latter lets another process bind the
    // same port and steal connections. A restart still binds at once (no TIME_WAIT wait on Windows).
    if (int err = set_flag(socket.get(), SOL_SOCKET, SO_EXCLUSIVEADDRUSE)) return sys::windows::from_win32(err);
    if (address.family() == Family::v6)
        if (int err = set_flag(socket.get(), IPPROTO_IPV6, IPV6_V6ONLY)) return sys::windows::from_win32(err);
    sockaddr_storage storage{};
    const int size = detail::to_sockaddr(address, storage);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&storage), size) != 0) return sys::windows::last_socket_error();
    if (::listen(socket.get(), backlog) != 0) return sys::windows::last_socket_error();
    return socket;
}

struct Listener::Impl {
    struct Accept final : detail::Completion {
        Impl* owner;
        Socket accepted;
        char addresses[2 * address_space];
        explicit Accept(Impl* owner) : owner(owner) {}
        void complete(unsigned long, Error error) override {
            if (!owner) {
                delete this;  // the Listener is gone; `accepted` closes with it
                return;
            }
            owner->accepted(this, error);
        }
    };

    Impl(Reactor& reactor, Socket listening, OnAccept on_accept)
        : reactor(reactor), socket(std::move(listening)), on_accept(std::move(on_accept)) {
        detail::associate(reactor, reinterpret_cast<HANDLE>(socket.get()));
        family = detail::local_of(socket.get()).family();
        post_accepts();
    }
    ~Impl() {
        if (retry_timer) reactor.cancel_timer(retry_timer);
        for (Accept* accept : posted) accept->owner = nullptr;
        socket.reset();  // cancels the posted accepts: each deletes itself on its packet
    }

    void post_accepts() {
        while (!paused && !retry_timer && static_cast<int>(posted.size()) < accepts_ahead) {
            auto accept = std::make_unique<Accept>(this);
            accept->accepted.reset(detail::new_tcp_socket(family));
            if (!accept->accepted) return back_off(sys::windows::last_socket_error());
            DWORD received = 0;
            if (!::AcceptEx(socket.get(), accept->accepted.get(), accept->addresses, 0, address_space, address_space,
                            &received, accept->overlapped()) &&
                WSAGetLastError() != ERROR_IO_PENDING)
                return back_off(sys::windows::last_socket_error());
            posted.push_back(accept.release());
        }
    }

    // Out of handles or buffers: stop for a moment instead of spinning.
    void back_off(const Error& err) {
        log::warn(cat("accept on ", detail::local_of(socket.get()).to_string(), ": ", err.message(), "; pausing ",
                      out_of_handles_pause.count(), " ms"));
        retry_timer = reactor.add_timer(out_of_handles_pause, [this] {
            retry_timer = 0;
            post_accepts();
        });
    }

    void accepted(Accept* raw, const Error& error) {
        std::unique_ptr<Accept> accept(raw);
        std::erase(posted, raw);
        if (error) {
            // The peer gave up before we got to it, or pause() cancelled it: take the next one.
            if (error != Errc::reset && error != Errc::cancelled) back_off(error);
            post_accepts();
            return;
        }
        SOCKET listening = socket.get();
        ::setsockopt(accept->accepted.get(), SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                     reinterpret_cast<const char*>(&listening), sizeof listening);
        sockaddr* local = nullptr;
        sockaddr* remote = nullptr;
        int local_len = 0, remote_len = 0;
        ::GetAcceptExSockaddrs(accept->addresses, 0, address_space, address_space, &local, &local_len, &remote, &remote_len);
        Held held{std::move(accept->accepted), detail::from_sockaddr(remote, remote_len)};
        if (paused) {
            waiting.push_back(std::move(held));
            return;
        }
        post_accepts();
        deliver(std::move(held));
    }

    struct Held {
        Socket connection;
        Address peer;
    };

    // on_accept may destroy this Listener: nothing of `this` is touched after it.
    void deliver(Held held) {
        const OnAccept callback = on_accept;
        callback(std::move(held.connection), held.peer);
    }

    void resume() {
        paused = false;
        reactor.defer(lifetime.guard([this] {
            while (!paused && !waiting.empty()) {
                Held held = std::move(waiting.front());
                waiting.pop_front();
                const Lifetime::Token alive = lifetime.token();
                deliver(std::move(held));
                if (!alive.valid()) return;
            }
            post_accepts();
        }));
    }

    Reactor& reactor;
    Socket socket;
    OnAccept on_accept;
    Family family = Family::v4;
    std::vector<Accept*> posted;  // in flight; orphaned when the Listener goes
    std::deque<Held> waiting;     // accepted while paused, delivered by resume()
    bool paused = false;
    Reactor::TimerId retry_timer = 0;
    Lifetime lifetime;
};

Listener::Listener(Reactor& reactor, Socket listening, OnAccept on_accept)
    : impl_(std::make_unique<Impl>(reactor, std::move(listening), std::move(on_accept))) {}

Listener::~Listener() = default;

// Connections that arrive meanwhile wait: in the kernel's backlog, or already accepted in `waiting`.
void Listener::pause() { impl_->paused = true; }

void Listener::resume() {
    if (impl_->paused) impl_->resume();
}

Address Listener::local_address() const { return detail::local_of(impl_->socket.get()); }

}  // namespace ferry::net
