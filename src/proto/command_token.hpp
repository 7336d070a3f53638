// A command that finishes later (a login check on the pool, a transfer, a TLS handshake) holds a
// CommandToken; the session runs the next queued command once the token is completed. Move-only,
// so exactly one owner can complete it, and completing empties it, so it cannot happen twice. A
// token destroyed without complete() (its callback was dropped) completes from the loop, so a
// forgotten path can delay the queue by one turn but never stall it.
#pragma once
#include "base/lifetime.hpp"
#include "net/reactor.hpp"

#include <functional>
#include <memory>
#include <utility>

namespace ferry::proto {

class CommandToken {
public:
    CommandToken() = default;
    // `finished` runs once, on `reactor`'s thread, while `owner` is valid.
    CommandToken(net::Reactor& reactor, Lifetime::Token owner, std::function<void()> finished)
        : reactor_(&reactor), owner_(std::move(owner)), finished_(std::move(finished)) {}
    CommandToken(CommandToken&& other) noexcept { *this = std::move(other); }
    CommandToken& operator=(CommandToken&& other) noexcept {
        if (this != &other) {
            complete_later();
            reactor_ = std::exchange(other.reactor_, nullptr);
            owner_ = std::move(other.owner_);
            finished_ = std::exchange(other.finished_, nullptr);
        }
        return *this;
    }
    CommandToken(const CommandToken&) = delete;
    CommandToken& operator=(const CommandToken&) = delete;
    ~CommandToken() { complete_later(); }

    // The command is over: the session goes on with its queue now.
    void complete() {
        auto finished = std::exchange(finished_, nullptr);
        if (finished && owner_.valid()) finished();
    }
    bool pending() const { return finished_ != nullptr; }
    // Keeps `held` (a slot of a per-user limit) until the command completes or is dropped.
    void hold(std::shared_ptr<void> held) {
        if (!finished_ || !held) return;
        finished_ = [finished = std::move(finished_), held = std::move(held)] { finished(); };
    }

private:
    // From the loop; a token dropped on another thread (a pool job's leftovers) posts there.
    void complete_later() {
        auto finished = std::exchange(finished_, nullptr);
        if (!finished) return;
        auto task = [owner = owner_, finished = std::move(finished)] {
            if (owner.valid()) finished();
        };
        reactor_->in_loop_thread() ? reactor_->defer(std::move(task)) : reactor_->post(std::move(task));
    }

    net::Reactor* reactor_ = nullptr;
    Lifetime::Token owner_;
    std::function<void()> finished_;
};

}  // namespace ferry::proto
