// One session's data connection: how it is set up (PASV/EPSV listen, PORT/EPRT connect) and the
// rules that keep it from being abused:
//  - a passive connection from any IP but the control connection's peer is refused (and logged);
//  - an active connection goes only to the control connection's peer IP, never below port 1024
//    (no FTP bounce, RFC 2577);
//  - one transfer per PASV/PORT, as RFC 959 clients expect.
#pragma once
#include "base/result.hpp"
#include "net/address.hpp"
#include "net/listener.hpp"
#include "net/reactor.hpp"
#include "net/stream.hpp"
#include "proto/transfer_control.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace ferry::proto {

class DataChannel final : public DataConnections {
public:
    DataChannel(net::Reactor& reactor, net::Address control_local, net::Address control_peer);
    ~DataChannel() override;
    DataChannel(const DataChannel&) = delete;
    DataChannel& operator=(const DataChannel&) = delete;

    // PASV/EPSV: listen on the control connection's local IP, on a port in [min, max]
    // (0, 0 = any). Returns the port. Replaces any earlier PASV/PORT.
    Result<std::uint16_t> listen_passive(std::uint16_t min_port, std::uint16_t max_port) override;
    // PORT/EPRT: ok if `target` is acceptable (then remembered), else permission.
    Status set_active(const net::Address& target) override;
    bool configured() const override { return passive_ || active_target_; }

    // The connection for the next transfer: accepted (passive) or connected (active), within
    // `timeout`. Exactly one callback unless reset() or destruction comes first.
    void open(std::chrono::milliseconds timeout, OnOpen done) override;
    // Forget the set-up and any pending or accepted connection.
    void reset() override;

private:
    void on_accept(Socket connection, net::Address peer);
    void deliver(Error err, std::unique_ptr<net::Stream> stream);

    net::Reactor& reactor_;
    net::Address control_local_;
    net::Address control_peer_;
    std::unique_ptr<net::Listener> passive_;
    std::unique_ptr<net::Stream> accepted_;  // a passive connection that came before RETR/STOR/LIST
    std::optional<net::Address> active_target_;
    std::unique_ptr<net::Connector> connector_;
    OnOpen waiting_;
    net::Reactor::TimerId timeout_timer_ = 0;
    Lifetime lifetime_;  // deferred work checks it
};

}  // namespace ferry::proto
