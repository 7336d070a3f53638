// The PROXY protocol header parser: a done header lies within the input and the bounds, parses the
// same from exactly its own bytes, and is incomplete one byte short of them; an incomplete input is
// shorter than the longest header; nothing ever reads past the input (ASan).
#include "net/proxy_header.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using ferry::net::ProxyHeader;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(data), size);
    const ProxyHeader header = ferry::net::parse_proxy_header({input.data(), input.size()});
    switch (header.status) {
    case ProxyHeader::Status::incomplete:
        if (size >= ferry::net::max_proxy_header) std::abort();
        break;
    case ProxyHeader::Status::invalid:
        if (header.error.empty()) std::abort();
        break;
    case ProxyHeader::Status::done: {
        if (header.length == 0 || header.length > size || header.length > ferry::net::max_proxy_header) std::abort();
        const ProxyHeader again = ferry::net::parse_proxy_header({input.data(), header.length});
        if (again.status != ProxyHeader::Status::done || again.length != header.length) std::abort();
        if (again.source.has_value() != header.source.has_value()) std::abort();
        if (header.source && header.source->to_string() != again.source->to_string()) std::abort();
        const ProxyHeader short_one = ferry::net::parse_proxy_header({input.data(), header.length - 1});
        if (short_one.status != ProxyHeader::Status::incomplete) std::abort();
        break;
    }
    }
    return 0;
}
