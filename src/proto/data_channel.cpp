#include "proto/data_channel.hpp"

#include "base/log.hpp"

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
    reactor_.release_later(std::move(connector_));
    reactor_.release_later(std::move(passive_));
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
    Error last_error = Errc::address_in_use;
    for (unsigned i = 0; i < attempts; ++i) {
        address.set_port(any_port ? 0 : static_cast<std::uint16_t>(min_port + (first + i) % span));
        auto listening = net::bind_listen(address, 1);
        if (!listening) {
            last_error = listening.error();
            if (last_error == Errc::address_in_use) continue;
            break;
        }
        passive_ = std::make_unique<net::Listener>(
            reactor_, std::move(listening.value()),
            [this](Socket connection, net::Address peer) { on_accept(std::move(connection), std::move(peer)); });
        return passive_->local_address().port();
    }
    return Result<std::uint16_t>::failure(last_error);
}

Status DataChannel::set_active(const net::Address& target) {
    reset();
    if (!target.same_ip(control_peer_) || target.port() < 1024) return Errc::permission;
    active_target_ = target;
    return {};
}

void DataChannel::on_accept(Socket connection, net::Address peer) {
    if (!peer.same_ip(control_peer_)) {
        // Someone else raced the client to its passive port: never hand them the data.
        log::warn(cat("data connection from ", peer.to_string(), " refused: control peer is ", control_peer_.ip()));
        return;
    }
    passive_->pause();  // one connection per PASV
    auto stream = net::make_stream(reactor_, std::move(connection));
    if (waiting_) {
        deliver({}, std::move(stream));
    } else {
        accepted_ = std::move(stream);
    }
}

void DataChannel::open(std::chrono::milliseconds timeout, OnOpen done) {
    waiting_ = std::move(done);
    if (accepted_) {
        // Completions never run inside the call that started them.
        reactor_.defer(lifetime_.guard([this] {
            if (waiting_ && accepted_) deliver({}, std::move(accepted_));
        }));
        return;
    }
    timeout_timer_ = reactor_.add_timer(timeout, [this] {
        timeout_timer_ = 0;
        deliver(Errc::timed_out, nullptr);
    });
    if (active_target_) {
        connector_ = std::make_unique<net::Connector>(reactor_);
        net::Address from = control_local_;
        from.set_port(0);
        connector_->connect(*active_target_, from, [this](Error err, Socket connection) {
            if (err) return deliver(err, nullptr);
            deliver({}, net::make_stream(reactor_, std::move(connection)));
        });
    } else if (!passive_) {
        deliver(Errc::not_connected, nullptr);
    }
}

void DataChannel::deliver(Error err, std::unique_ptr<net::Stream> stream) {
    if (timeout_timer_) reactor_.cancel_timer(timeout_timer_);
    timeout_timer_ = 0;
    auto done = std::move(waiting_);
    waiting_ = nullptr;
    if (done) done(err, std::move(stream));
}

}  // namespace ferry::proto
