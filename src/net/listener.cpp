#include "net/listener.hpp"

#include "base/log.hpp"

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

Status tune_control_socket(const Fd& socket) {
    if (int err = set_flag(socket.get(), IPPROTO_TCP, TCP_NODELAY)) return err;
    return set_flag(socket.get(), SOL_SOCKET, SO_OOBINLINE);
}

void send_parting_words(const Fd& socket, std::string_view text) {
    [[maybe_unused]] const ssize_t sent = ::send(socket.get(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

Result<Fd> bind_listen(const Address& address, int backlog) {
    if (address.family() == AF_UNSPEC) return Result<Fd>::failure(EAFNOSUPPORT);
    Fd socket(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) return Result<Fd>::failure(errno);
    // Restarting the server must not wait for TIME_WAIT connections of the previous run.
    if (int err = set_flag(socket.get(), SOL_SOCKET, SO_REUSEADDR)) return Result<Fd>::failure(err);
    // "[::]:21" means IPv6 only; IPv4 gets its own listen entry, so both can be configured.
    if (address.family() == AF_INET6)
        if (int err = set_flag(socket.get(), IPPROTO_IPV6, IPV6_V6ONLY)) return Result<Fd>::failure(err);
    if (::bind(socket.get(), address.sa(), address.size()) != 0) return Result<Fd>::failure(errno);
    if (::listen(socket.get(), backlog) != 0) return Result<Fd>::failure(errno);
    return socket;
}

Listener::Listener(Reactor& reactor, Fd listening, OnAccept on_accept)
    : reactor_(reactor), socket_(std::move(listening)), on_accept_(std::move(on_accept)) {
    // Registering reports connections already waiting in the backlog as a first edge.
    reactor_.add_fd(socket_.get(), this);
}

Listener::~Listener() {
    *alive_ = false;
    if (retry_timer_) reactor_.cancel_timer(retry_timer_);
    reactor_.remove_fd(socket_.get());
}

void Listener::pause() { paused_ = true; }

void Listener::resume() {
    if (!paused_) return;
    paused_ = false;
    // Edges that came while paused are gone: look at the backlog once, from the loop.
    if (!retry_timer_) schedule_accept();
}

Address Listener::local_address() const { return Address::local_of(socket_.get()); }

void Listener::on_readable() {
    if (!paused_ && !retry_timer_) accept_ready();
}

void Listener::schedule_accept() {
    reactor_.defer([this, alive = alive_] {
        if (*alive && !paused_ && !retry_timer_) accept_ready();
    });
}

void Listener::back_off(int err) {
    log::warn(cat("accept on ", local_address().to_string(), ": ", std::strerror(err), "; pausing ",
                  out_of_fds_pause.count(), " ms"));
    retry_timer_ = reactor_.add_timer(out_of_fds_pause, [this] {
        retry_timer_ = 0;
        if (!paused_) accept_ready();
    });
}

void Listener::accept_ready() {
    // on_accept may destroy this Listener: keep the flag and the callable alive for the turn.
    const auto alive = alive_;
    const OnAccept on_accept = on_accept_;
    for (int i = 0; i < max_accepts_per_turn; ++i) {
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        const int fd = ::accept4(socket_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
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
        on_accept(Fd(fd), Address::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len));
        if (!*alive || paused_) return;
    }
    schedule_accept();  // the bound was hit: more may be waiting
}

}  // namespace ferry::net
