// UniqueTask: the move-only task the reactor and the worker pools run.
#include "base/unique_task.hpp"
#include "net/reactor.hpp"

#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <thread>

using ferry::UniqueTask;

namespace {
// Counts how many of its kind are alive, so a test sees every one destroyed exactly once.
struct Tracked {
    explicit Tracked(int& alive) : alive_(&alive) { ++*alive_; }
    Tracked(Tracked&& other) noexcept : alive_(std::exchange(other.alive_, nullptr)) {}
    Tracked& operator=(Tracked&&) = delete;
    ~Tracked() {
        if (alive_) --*alive_;
    }
    int* alive_;
};
}  // namespace

TEST_CASE("UniqueTask runs and moves move-only callables, small ones inline and big ones on the heap") {
    int alive = 0, ran = 0;
    {
        auto small = std::make_unique<int>(7);
        UniqueTask inline_task([value = std::move(small), tracked = Tracked(alive), &ran] { ran += *value; });
        std::array<char, 200> big_payload{};
        big_payload[0] = 3;
        UniqueTask heap_task([big_payload, tracked = Tracked(alive), &ran] { ran += big_payload[0]; });
        CHECK(alive == 2);
        UniqueTask moved = std::move(inline_task);
        CHECK_FALSE(inline_task);  // NOLINT: moved from on purpose
        REQUIRE(moved);
        moved();
        CHECK(ran == 7);
        heap_task = std::move(moved);  // the heap one is destroyed, the inline one takes its place
        CHECK(alive == 1);
        heap_task();
        CHECK(ran == 14);
        heap_task = nullptr;
        CHECK(alive == 0);
        UniqueTask empty;
        CHECK_FALSE(empty);
    }
    CHECK(alive == 0);
}

TEST_CASE("the reactor takes tasks that hold move-only values, across threads too") {
    ferry::net::Reactor reactor;
    int got = 0;
    std::thread poster([&] {
        reactor.post([value = std::make_unique<int>(42), &got, &reactor] {
            got = *value;
            reactor.stop();
        });
    });
    reactor.run();
    poster.join();
    CHECK(got == 42);
}
