// Listening sockets on Linux: accept4 on edge-triggered readiness.
#include "net/listener.hpp"

#include "base/lifetime.hpp"
#include "base/log.hpp"
#include "net/linux/readiness.hpp"
#include "net/linux/sockaddr.hpp"
#include "sys/posix/errno.hpp"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace ferry::net {
namespace {

// Accepts per turn before yielding to the other descriptors; the rest are taken on the next turn.
constexpr int max_accepts_per_turn = 64;
constexpr std::chrono::milliseconds out_of_fds_pause{100};

int set_flag(int fd, int level, int option) {
    const int one = 1;
    return ::setsockopt(fd, level, option, &one, sizeof one) == 0 ? 0 : errno;
}

}  // namespace

Status tune_control_socket(const Socket& socket) {
    if (int err = set_flag(socket.get(), IPPROTO_TCP, TCP_NODELAY)) return sys::from_errno(err);
    return sys::from_errno(set_flag(socket.get(), SOL_SOCKET, SO_OOBINLINE));
}

void send_parting_words(const Socket& socket, std::string_view text) {
    [[maybe_unused]] const ssize_t sent = ::send(socket.get(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

Address local_address_of(const Socket& socket) { return detail::local_of(socket.get()); }

Result<Socket> bind_listen(const Address& address, int backlog) {
    if (address.family() == Family::none) return Error(Errc::unsupported);
    Socket socket(::socket(detail::native_family(address.family()), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) return sys::last_error();
    // Restarting the server must not wait for TIME_WAIT connections of the previous run.
    if (int err = set_flag(socket.get(), SOL_SOCKET, SO_REUSEADDR)) return sys::from_errno(err);
    // "[::]:21" means IPv6 only; IPv4 gets its own listen entry, so both can be configured.
    if (address.family() == Family::v6)
        if (int err = set_flag(socket.get(), IPPROTO_IPV6, IPV6_V6ONLY)) return sys::from_errno(err);
    sockaddr_storage storage{};
    const socklen_t size = detail::to_sockaddr(address, storage);
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&storage), size) != 0) return sys::last_error();
    if (::listen(socket.get(), backlog) != 0) return sys::last_error();
    return socket;
}

struct Listener::Impl final : private detail::ReadinessHandler {
    Impl(Reactor& reactor, Socket listening, OnAccept on_accept)
        : reactor(reactor), socket(std::move(listening)), on_accept(std::move(on_accept)) {
        // Registering reports connections already waiting in the backlog as a first edge.
        detail::watch(reactor, socket.get(), this);
    }
    ~Impl() {
        if (retry_timer) reactor.cancel_timer(retry_timer);
        detail::unwatch(reactor, socket.get());
    }

    void on_readable() override {
        if (!paused && !retry_timer) accept_ready();
    }
    void on_writable() override {}
    void on_error() override { on_readable(); }

    // Accepting again later, from the loop: after resume() and when a turn hit its bound.
    void schedule_accept() {
        reactor.defer(lifetime.guard([this] {
            if (!paused && !retry_timer) accept_ready();
        }));
    }

    // Out of descriptors (EMFILE/ENFILE): stop for a moment instead of spinning on the backlog.
    void back_off(int err) {
        log::warn(cat("accept on ", detail::local_of(socket.get()).to_string(), ": ", std::strerror(err),
                      "; pausing ", out_of_fds_pause.count(), " ms"));
        retry_timer = reactor.add_timer(out_of_fds_pause, [this] {
            retry_timer = 0;
            if (!paused) accept_ready();
        });
    }

    void accept_ready() {
        // on_accept may destroy this Listener: keep a token and the callable for the turn.
        const Lifetime::Token alive = lifetime.token();
        const OnAccept accepted = on_accept;
        for (int i = 0; i < max_accepts_per_turn; ++i) {
            sockaddr_storage peer{};
            socklen_t peer_len = sizeof peer;
            const int fd = ::accept4(socket.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                const int err = errno;
                if (err == EAGAIN || err == EWOULDBLOCK) return;
                // The peer gave up before we got to it, or a firewall said no: take the next one.
                if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
                // EMFILE, ENFILE, ENOBUFS, ENOMEM, anything else: retrying now would spin.
                back_off(err);
                return;
            }
            accepted(Socket(fd), detail::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len));
            if (!alive.valid() || paused) return;
        }
        schedule_accept();  // the bound was hit: more may be waiting
    }

    Reactor& reactor;
    Socket socket;
    OnAccept on_accept;
    bool paused = false;                // by the owner
    Reactor::TimerId retry_timer = 0;   // non-zero while backing off
    Lifetime lifetime;                  // on_accept may destroy the Listener mid-turn
};

Listener::Listener(Reactor& reactor, Socket listening, OnAccept on_accept)
    : impl_(std::make_unique<Impl>(reactor, std::move(listening), std::move(on_accept))) {}

Listener::~Listener() = default;

void Listener::pause() { impl_->paused = true; }

void Listener::resume() {
    if (!impl_->paused) return;
    impl_->paused = false;
    // Edges that came while paused are gone: look at the backlog once, from the loop.
    if (!impl_->retry_timer) impl_->schedule_accept();
}

Address Listener::local_address() const { return detail::local_of(impl_->socket.get()); }

}  // namespace ferry::net
