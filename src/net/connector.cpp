#include "net/listener.hpp"

#include <cerrno>
#include <sys/socket.h>

namespace ferry::net {

Connector::Connector(Reactor& reactor) : reactor_(reactor) {}

Connector::~Connector() { cancel(); }

void Connector::connect(const Address& to, const std::optional<Address>& from, OnConnect done) {
    cancel();  // one attempt at a time: a previous one is dropped
    done_ = std::move(done);
    socket_.reset(::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket_) return finish(errno);
    if (from) {
        // Active-mode FTP binds the data connection to the control connection's local address
        // (often port 20); SO_REUSEADDR lets many such connects share it.
        const int one = 1;
        if (::setsockopt(socket_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return finish(errno);
        if (::bind(socket_.get(), from->sa(), from->size()) != 0) return finish(errno);
    }
    if (::connect(socket_.get(), to.sa(), to.size()) == 0) return finish(0);
    if (errno != EINPROGRESS && errno != EINTR) return finish(errno);
    reactor_.add_fd(socket_.get(), this);
    registered_ = true;
}

void Connector::cancel() {
    ++*generation_;
    forget_socket();
    socket_.reset();
    done_ = nullptr;
}

void Connector::forget_socket() {
    if (registered_) reactor_.remove_fd(socket_.get());
    registered_ = false;
}

void Connector::on_writable() {
    if (!registered_) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(socket_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    finish(err);
}

void Connector::finish(int err) {
    forget_socket();
    // std::function needs a copyable callable, so the connection travels in a shared_ptr; if the
    // completion is dropped (cancel, destruction) the connection is closed with it.
    auto connection = std::make_shared<Fd>(err == 0 ? std::move(socket_) : Fd{});
    socket_.reset();
    // Delivered from the loop, never from inside connect(); dropped if cancelled meanwhile.
    reactor_.defer([token = std::weak_ptr<std::uint64_t>(generation_), generation = *generation_,
                    done = std::move(done_), err, connection] {
        auto live = token.lock();
        if (!live || *live != generation) return;
        done(err, std::move(*connection));
    });
    done_ = nullptr;
}

}  // namespace ferry::net
