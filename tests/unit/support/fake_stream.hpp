// A net::Stream and DataConnections that a test drives by hand: operations wait on a Wire until the
// test completes them, and completions come from the reactor loop and never after cancel() or
// destruction, as stream.hpp promises. For the transfer state machine's unit tests.
#pragma once
#include "base/lifetime.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "proto/transfer_control.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>

namespace ferry::testing {

// What a FakeStream was asked to do, shared with the test (the stream itself belongs to a Transfer).
struct Wire {
    explicit Wire(net::Reactor& r) : reactor(r) {}

    net::Reactor& reactor;
    std::shared_ptr<Lifetime> lifetime = std::make_shared<Lifetime>();  // renewed by cancel()
    bool alive = false;  // a FakeStream on this wire exists

    net::IoDone read, write, handshake;
    std::span<char> read_buffer;
    std::uint64_t written = 0;            // bytes handed to write_all so far
    std::uint64_t file_offset = 0;        // of the last send_file / recv_to_file
    std::uint64_t file_count = 0;
    bool tls = false;
    bool resumed = true;                  // what tls_resumed_from answers
    bool tickets_off = false;             // start_tls was told not to issue tickets
    std::uint64_t in_flight = 0;

    bool read_pending() const { return read != nullptr; }
    bool write_pending() const { return write != nullptr; }

    // Completes the pending operation from the loop, as a real stream would.
    void finish_read(Error err, std::uint64_t n) { deliver(std::exchange(read, nullptr), err, n); }
    void finish_read_with(std::string_view bytes) {
        REQUIRE(bytes.size() <= read_buffer.size());
        std::copy(bytes.begin(), bytes.end(), read_buffer.begin());
        finish_read({}, bytes.size());
    }
    void finish_write(Error err, std::uint64_t n) { deliver(std::exchange(write, nullptr), err, n); }
    void finish_handshake(Error err) {
        if (!err) tls = true;
        deliver(std::exchange(handshake, nullptr), err, 0);
    }

private:
    void deliver(net::IoDone done, Error err, std::uint64_t n) {
        REQUIRE(done);
        reactor.defer(lifetime->guard([done, err, n] { done(err, n); }));
    }
};

class FakeStream final : public net::Stream {
public:
    explicit FakeStream(std::shared_ptr<Wire> wire) : wire_(std::move(wire)) { wire_->alive = true; }
    ~FakeStream() override {
        cancel();
        wire_->alive = false;
    }

    void read_some(std::span<char> buffer, net::IoDone done) override {
        REQUIRE_FALSE(wire_->read_pending());
        wire_->read_buffer = buffer;
        wire_->read = std::move(done);
    }
    void write_all(std::span<const char> buffer, net::IoDone done) override {
        REQUIRE_FALSE(wire_->write_pending());
        wire_->written += buffer.size();
        wire_->write = std::move(done);
        if (buffer.empty()) wire_->finish_write({}, 0);  // nothing to send still completes from the loop
    }
    void send_file(const File&, std::uint64_t offset, std::uint64_t count, net::IoDone done, FileState,
                   BringIntoCache) override {
        REQUIRE_FALSE(wire_->write_pending());
        wire_->file_offset = offset;
        wire_->file_count = count;
        wire_->write = std::move(done);
    }
    void recv_to_file(const File&, std::uint64_t offset, std::uint64_t max, net::IoDone done) override {
        REQUIRE_FALSE(wire_->read_pending());
        wire_->file_offset = offset;
        wire_->file_count = max;
        wire_->read = std::move(done);
    }
    void start_tls(const net::TlsContext&, net::TlsRole, net::IoDone done, net::TlsOptions options) override {
        wire_->tickets_off = !options.session_tickets;
        wire_->handshake = std::move(done);
    }
    void shutdown_tls(net::IoDone done) override {
        wire_->write = std::move(done);
        wire_->finish_write({}, 0);
    }
    bool is_tls() const override { return wire_->tls; }
    std::string tls_description() const override { return wire_->tls ? "fake TLS" : ""; }
    std::string tag_tls_session() override { return "tag"; }
    bool tls_resumed_from(std::string_view) const override { return wire_->resumed; }
    void offer_tls_ticket() override {}
    bool ktls_send() const override { return false; }
    void cancel() override {
        wire_->lifetime->renew();
        wire_->read = wire_->write = wire_->handshake = nullptr;
    }
    void cancel_read() override { wire_->read = nullptr; }
    void shutdown_write() override {}
    net::Address local_address() const override { return *net::Address::parse("127.0.0.1:20"); }
    net::Address peer_address() const override { return *net::Address::parse("127.0.0.1:40000"); }
    std::uint64_t in_flight() const override { return wire_->in_flight; }
    std::chrono::steady_clock::time_point last_activity() const override { return {}; }

private:
    std::shared_ptr<Wire> wire_;
};

// Data connections the test hands over (connect) or fails (fail).
class FakeData final : public proto::DataConnections {
public:
    explicit FakeData(net::Reactor& reactor) : reactor_(reactor) {}

    Result<std::uint16_t> listen_passive(std::uint16_t, std::uint16_t) override {
        configured_ = true;
        return std::uint16_t{40000};
    }
    Status set_active(const net::Address&) override {
        configured_ = true;
        return {};
    }
    bool configured() const override { return configured_; }
    void open(std::chrono::milliseconds, OnOpen done) override { waiting_ = std::move(done); }
    void reset() override {
        ++resets;
        configured_ = false;
        waiting_ = nullptr;
    }

    bool opening() const { return waiting_ != nullptr; }
    // The data connection came: a FakeStream on `wire`, delivered from the loop.
    void connect(const std::shared_ptr<Wire>& wire) { deliver({}, std::make_unique<FakeStream>(wire)); }
    void fail(Error err) { deliver(err, nullptr); }
    // What a late delivery (one that a real channel would not make after reset()) would do.
    OnOpen stale_callback() const { return waiting_; }
    int resets = 0;

private:
    void deliver(Error err, std::unique_ptr<net::Stream> stream) {
        REQUIRE(waiting_);
        auto done = std::exchange(waiting_, nullptr);
        auto shared = std::make_shared<std::unique_ptr<net::Stream>>(std::move(stream));
        reactor_.defer([done, err, shared] { done(err, std::move(*shared)); });
    }

    net::Reactor& reactor_;
    bool configured_ = false;
    OnOpen waiting_;
};

}  // namespace ferry::testing
