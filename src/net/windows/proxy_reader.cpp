// The PROXY protocol on Windows: not yet (it needs a zero-byte WSARecv and a peek, or a stream that
// hands its first bytes back). The config refuses proxy_protocol = true on this platform, so this
// only ever reports that.
#include "net/proxy_reader.hpp"

namespace ferry::net {

bool ProxyReader::supported() { return false; }

struct ProxyReader::Impl {};

ProxyReader::ProxyReader(Reactor& reactor, Socket connection, std::chrono::milliseconds, Done done)
    : impl_(std::make_unique<Impl>()) {
    reactor.defer([connection = std::move(connection), done = std::move(done)]() mutable {
        done(std::move(connection), ProxyHeader::invalid("the PROXY protocol is not available on Windows"));
    });
}
ProxyReader::~ProxyReader() = default;

}  // namespace ferry::net
