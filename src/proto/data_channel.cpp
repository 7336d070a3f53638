#include "proto/data_channel.hpp"

#include "base/log.hpp"

#include <cerrno>
#include <random>

namespace ferry::proto {

DataChannel::DataChannel(net::Reactor& reactor, net::Address control_local, net::Address control_peer)
    : reactor_(reactor), control_local_(std::move(control_local)), control_peer_(std::move(control_peer)) {}

DataChannel::~DataChannel() { reset(); }

void DataChannel::reset() {
    if (timeout_timer_) reactor_.cancel_timer(timeout_timer_);
    timeout_timer_ = 0;
    waiting_ = nullptr;
    // reset() may run inside the listener's or connector's own callback: let them die after it.
    if (connector_ || passive_) {
        std::shared_ptr<net::Connector> connector(std::move(connector_));
        std::shared_ptr<net::Listener> listener(std::move(passive_));
        reactor_.defer([connector, listener] {});
    }
    accepted_.reset();
    active_target_.reset();
}

Result<std::uint16_t> DataChannel::listen_passive(std::uint16_t min_port, std::uint16_t max_port) {
    reset();
    net::Address address = control_local_;
    const bool any_port = min_port == 0 && max_port == 0;
    const unsigned span = any_port ? 1 : unsigned(max_port - min_port) + 1;
    // Start at a random port of the range so that sessions don't all collide on its first ports.
    static thread_local std::minstd_rand random{std::random_device{}()};
    const unsigned first = any_port ? 0 : random() % span;
    const unsigned attempts = span < 200 ? span : 200;
    int last_error = EADDRINUSE;
    for (unsigned i = 0; i < attempts; ++i) {
        address.set_port(any_port ? 0 : static_cast<std::uint16_t>(min_port + (first + i) % span));
        auto listening = net::bind_listen(address, 1);
        if (!listening) {
            last_error = listening.error();
            if (last_error == EADDRINUSE) continue;
            break;
        }
        passive_ = std::make_unique<net::Listener>(
            reactor_, std::move(listening.value()),
            [this](Fd connection, net::Address peer) { on_accept(std::move(connection), std::move(peer)); });
        return passive_->local_address().port();
    }
    return Result<std::uint16_t>::failure(last_error);
}

Status DataChannel::set_active(const net::Address& target) {
    reset();
    if (!target.same_ip(control_peer_) || target.port() < 1024) return EPERM;
    active_target_ = target;
    return 0;
}

void DataChannel::on_accept(Fd connection, net::Address peer) {
    if (!peer.same_ip(control_peer_)) {
        // Someone else raced the client to its passive port: never hand them the data.
        log::warn(cat("data connection from ", peer.to_string(), " refused: control peer is ", control_peer_.ip()));
        return;
    }
    passive_->pause();  // one connection per PASV
    auto stream = std::make_unique<net::Stream>(reactor_, std::move(connection));
    if (waiting_) {
        deliver(0, std::move(stream));
    } else {
        accepted_ = std::move(stream);
    }
}

void DataChannel::open(std::chrono::milliseconds timeout, OnOpen done) {
    waiting_ = std::move(done);
    if (accepted_) {
        // Completions never run inside the call that started them.
        reactor_.defer([this, alive = std::weak_ptr<int>(alive_)] {
            if (!alive.expired() && waiting_ && accepted_) deliver(0, std::move(accepted_));
        });
        return;
    }
    timeout_timer_ = reactor_.add_timer(timeout, [this] {
        timeout_timer_ = 0;
        deliver(ETIMEDOUT, nullptr);
    });
    if (active_target_) {
        connector_ = std::make_unique<net::Connector>(reactor_);
        net::Address from = control_local_;
        from.set_port(0);
        connector_->connect(*active_target_, from, [this](int err, Fd connection) {
            if (err) return deliver(err, nullptr);
            deliver(0, std::make_unique<net::Stream>(reactor_, std::move(connection)));
        });
    } else if (!passive_) {
        deliver(ENOTCONN, nullptr);
    }
}

void DataChannel::deliver(int err, std::unique_ptr<net::Stream> stream) {
    if (timeout_timer_) reactor_.cancel_timer(timeout_timer_);
    timeout_timer_ = 0;
    auto done = std::move(waiting_);
    waiting_ = nullptr;
    if (done) done(err, std::move(stream));
}

}  // namespace ferry::proto
