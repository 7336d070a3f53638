// Running a reactor in a test until a callback stops it, or for a while. Header-only, portable.
#pragma once
#include "net/reactor.hpp"

#include <chrono>

namespace ferry::testing {

// Runs the loop until a callback calls stop(); false if `limit` passed first.
inline bool run_until_stopped(net::Reactor& reactor, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    bool timed_out = false;
    auto watchdog = reactor.add_timer(limit, [&] {
        timed_out = true;
        reactor.stop();
    });
    reactor.run();
    reactor.cancel_timer(watchdog);
    return !timed_out;
}

// Runs the loop for `how_long` (to show that something does NOT happen).
inline void run_for(net::Reactor& reactor, std::chrono::milliseconds how_long) {
    reactor.add_timer(how_long, [&] { reactor.stop(); });
    reactor.run();
}

}  // namespace ferry::testing
